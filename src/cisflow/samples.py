"""The sample sheet: one row per replicate of a task (ChIP-seq TF or ATAC-seq) in a cell type.

Tab-separated with the columns ``task cell_type assay replicate reads`` and optional ``control``
(ChIP input reads) and ``format`` (``bam|bed|bedpe|fragments``; else inferred from the file name).
Only whole lines starting with ``#`` are comments (a ``#`` inside a path is part of it); blank lines
are skipped. Rows are numbered as a person counts them in an editor: the header is row 1 (or the
row it is on, after comments), the first sample usually row 2, comment lines counted.

The sheet cannot mix things up silently: one assay per (task, cell type) group, no reads file used
twice (the same path, or the same content under another name, e.g. a copied BAM), no reads file
equal to its control, and a control shared by several replicates is named by one path (and filtered
once). Every problem is one :class:`~cisflow.errors.CisflowError` naming the sheet, the row(s) and
the column.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import logging
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from cisflow.errors import CisflowError, require_file
from cisflow.reads import FORMATS, infer_format

log = logging.getLogger(__name__)

REQUIRED = ("task", "cell_type", "assay", "replicate", "reads")
OPTIONAL = ("control", "format")
COLUMNS = REQUIRED + OPTIONAL
ASSAYS = ("chip", "atac")
FINGERPRINT_BYTES = 1 << 20  # bytes hashed to tell copies apart (a BAM's header and first blocks)


def read_sample_sheet(path: str | Path, base_dir: str | Path | None = None) -> pd.DataFrame:
    """Read and check a sample sheet.

    Parameters
    ----------
    path
        The TSV sample sheet.
    base_dir
        Folder that relative ``reads``/``control`` paths are relative to (default: the working
        directory, as Snakemake runs from the repository root).

    Returns
    -------
    pandas.DataFrame
        One row per sample with the sheet's columns (``control`` and ``format`` always present,
        ``control`` "" when absent), ``reads``/``control`` as given, ``reads_path``/``control_path``
        resolved against ``base_dir``, ``format`` filled in, plus ``group`` = ``{task}.{cell_type}``,
        ``sample`` = ``{group}.rep{replicate}``, ``control_id`` (one name per distinct control file,
        so a control shared by replicates or tasks is filtered once; "" without a control) and
        ``row`` (the sheet's row number, 1-based, comments counted).

    Raises
    ------
    CisflowError
        Naming the sheet, the row and the column: a parsing problem (not tab-separated, a trailing
        tab, a duplicated, unknown or missing column), an invalid value, a duplicate replicate, two
        assays in one group, a control for ATAC, a missing reads or control file, a reads file used
        twice or equal to its control, one control under two names.
    """
    path = require_file(path, "sample sheet")
    rows = _parse(path)
    if not rows:
        raise CisflowError("sample sheet has no samples", path)
    for row, values in rows:
        _check_values(values, row, path)
    df = pd.DataFrame([values for _, values in rows], columns=list(COLUMNS))
    df["row"] = [row for row, _ in rows]
    df["replicate"] = df["replicate"].astype(int)
    _check_groups(df, path)
    base = Path.cwd() if base_dir is None else Path(base_dir)
    df["group"] = df["task"] + "." + df["cell_type"]
    df["sample"] = df["group"] + ".rep" + df["replicate"].astype(str)
    df["reads_path"] = [str(_resolve(p, base)) for p in df["reads"]]
    df["control_path"] = [str(_resolve(p, base)) if p else "" for p in df["control"]]
    _check_files(df, path)
    _check_reuse(df, path)
    df["control_id"] = _control_ids(df["control_path"])
    df["format"] = [_format(r, path) for r in df.itertuples()]
    log.info("sample sheet %s: %d samples in %d groups", path, len(df), df["group"].nunique())
    return df.reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# parsing: rows as a person counts them, tabs only, full-line comments only


def _parse(path: Path) -> list[tuple[int, dict[str, str]]]:
    """``[(row number, {column: value})]`` of the sheet's samples (values stripped, absent optional → "")."""
    lines = _lines(path)
    content = [(i, line) for i, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")]
    if not content:
        raise CisflowError("sample sheet is empty (no header row)", path)
    (head_row, head), body = content[0], content[1:]
    columns = _header(head, head_row, path)
    return [(row, _fields(line, row, columns, path)) for row, line in body]


def _lines(path: Path) -> list[str]:
    """The sheet's lines (UTF-8, a byte-order mark dropped, CRLF or LF)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CisflowError(f"not UTF-8 text (byte {exc.start}); save the sheet as UTF-8", path) from exc
    return [line.rstrip("\r") for line in text.split("\n")]


def _header(line: str, row: int, path: Path) -> list[str]:
    """The column names of the header ``line``; CisflowError for any malformed header."""
    names = [c.strip() for c in line.split("\t")]
    if len(names) == 1 and (len(line.split()) > 1 or "," in line):
        sep = "commas" if "," in line else "spaces"
        raise CisflowError(f"row {row}: the columns are separated by {sep}, not tabs (a sample sheet is TSV)", path)
    for k, name in enumerate(names, 1):
        if not name:
            hint = " (a trailing tab?)" if k == len(names) else ""
            raise CisflowError(f"row {row}, column {k}: empty column name{hint}", path)
        if name in names[: k - 1]:
            first = names.index(name) + 1
            raise CisflowError(f"row {row}: column {name!r} appears twice (columns {first} and {k})", path)
        if name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMNS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (columns: {' '.join(COLUMNS)})"
            raise CisflowError(f"row {row}, column {k}: unknown column {name!r}{hint}", path)
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise CisflowError(f"sample sheet lacks column(s) {', '.join(missing)} (needs {' '.join(REQUIRED)})", path)
    return names


def _fields(line: str, row: int, columns: list[str], path: Path) -> dict[str, str]:
    """``{column: value}`` of one data row; optional trailing columns may be left off."""
    values = [v.strip() for v in line.split("\t")]
    if len(values) > len(columns):
        extra = values[len(columns) :]
        hint = f"a trailing tab after column {columns[-1]!r}" if not any(extra) else "more values than columns"
        raise CisflowError(f"row {row}: {len(values)} fields but the header has {len(columns)} columns ({hint})", path)
    if len(values) < len(columns):
        absent = [c for c in columns[len(values) :] if c in REQUIRED]
        if len(values) == 1 and len(line.split()) > 1:
            raise CisflowError(
                f"row {row}: the columns are separated by spaces, not tabs (a sample sheet is TSV)", path
            )
        if absent:
            hint = "; columns separated by spaces?" if any(len(v.split()) > 1 for v in values) else ""
            raise CisflowError(
                f"row {row}, column {absent[0]}: no value ({len(values)} of {len(columns)} fields{hint})", path
            )
    got = dict(zip(columns, values, strict=False))
    return {c: got.get(c, "") for c in COLUMNS}


def _check_values(values: dict[str, str], row: int, path: Path) -> None:
    """One row against the sheet's schema (``samples.schema.yaml``): one line naming the row and the column."""
    import jsonschema

    instance = {c: int(v) if c == "replicate" and v.isdigit() else v for c, v in values.items() if v}
    for column in REQUIRED:
        if column not in instance:
            raise CisflowError(f"row {row}, column {column}: must not be empty", path)
    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(instance), key=lambda e: list(e.path))
    if errors:
        column = str(errors[0].path[0]) if errors[0].path else "?"
        raise CisflowError(f"row {row}, column {column}: {_describe(errors[0], column)}", path)
    if values["assay"] == "atac" and values["control"]:
        raise CisflowError(f"row {row}, column control: a control is given for ATAC-seq (controls are for ChIP-seq "
                           "only)", path)  # fmt: skip


@functools.cache
def _schema() -> dict:
    from cisflow.config import load_schema

    return load_schema("samples")


def _describe(error, column: str) -> str:
    """A schema error in words: the allowed values, the allowed characters, a positive integer."""
    value = error.instance
    if column == "replicate":
        return f"replicate must be a positive integer, not {value!r}"
    if error.validator == "enum":
        return f"unknown {column} {value!r} (expected {'|'.join(error.validator_value)})"
    if error.validator == "pattern":
        return f"{value!r} may hold only letters, digits, '_' and '-' (it names files)"
    return error.message


# ----------------------------------------------------------------------------------------------
# across rows: groups, files, reuse


def _rows(rows: Iterable[int]) -> str:
    rows = list(rows)
    return f"row {rows[0]}" if len(rows) == 1 else f"rows {', '.join(map(str, rows[:-1]))} and {rows[-1]}"


def _check_groups(df: pd.DataFrame, path: Path) -> None:
    """One assay per (task, cell type) group; each replicate number once per group."""
    for (task, cell), group in df.groupby(["task", "cell_type"], sort=False):
        assays = list(dict.fromkeys(group["assay"]))
        if len(assays) > 1:
            where = _rows(group["row"].iloc[[0, int((group["assay"] != assays[0]).argmax())]])
            raise CisflowError(
                f"{where}, column assay: task {task} in cell type {cell} mixes assays {' and '.join(assays)} "
                "(one assay per task and cell type; give the other assay its own task name, e.g. ATAC)",
                path,
            )
        dup = group[group.duplicated("replicate", keep=False)]
        if len(dup):
            rep = dup["replicate"].iloc[0]
            raise CisflowError(
                f"{_rows(dup[dup['replicate'] == rep]['row'])}, column replicate: "
                f"duplicate replicate {rep} for task {task} in cell type {cell}",
                path,
            )


def _resolve(p: str, base: Path) -> Path:
    q = Path(p)
    return q if q.is_absolute() else base / q


def _check_files(df: pd.DataFrame, path: Path) -> None:
    for col, what in (("reads_path", "reads"), ("control_path", "control")):
        for row, p in zip(df["row"], df[col], strict=True):
            if p and not Path(p).is_file():
                raise CisflowError(f"row {row}, column {what}: {what} file {p} does not exist", path)


def _fingerprint(path: str | Path) -> tuple[int, str]:
    """``(size in bytes, SHA-256 of the first FINGERPRINT_BYTES)`` of a file: equal for a copy.

    For a BAM the hashed part is its header and first compressed blocks, so two files with the same
    size and the same start are the same data (a copied file), without reading gigabytes.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(FINGERPRINT_BYTES)
    return path.stat().st_size, hashlib.sha256(head).hexdigest()


def _same_files(entries: list[tuple[int, str, str]]) -> list[tuple[tuple[int, str, str], tuple[int, str, str]]]:
    """Pairs of ``(row, column, path)`` entries naming the same file: one path, or one content (non-empty).

    Content is compared only between files of equal size (then by :func:`_fingerprint`); each file is
    paired with its first appearance.
    """
    first: dict[object, tuple[int, str, str]] = {}
    pairs = []
    by_size: dict[int, list[tuple[int, str, str]]] = {}
    for entry in entries:
        real = str(Path(entry[2]).resolve())
        if real in first:
            pairs.append((first[real], entry))
            continue
        first[real] = entry
        size = Path(real).stat().st_size
        if size:
            by_size.setdefault(size, []).append(entry)
    for same_size in by_size.values():
        if len(same_size) < 2:
            continue
        seen: dict[tuple[int, str], tuple[int, str, str]] = {}
        for entry in same_size:
            key = _fingerprint(entry[2])
            if key in seen:
                pairs.append((seen[key], entry))
            else:
                seen[key] = entry
    return pairs


def _check_reuse(df: pd.DataFrame, path: Path) -> None:
    """No reads file twice, none equal to its control, one control file per path (not copies)."""
    reads = [(r, "reads", p) for r, p in zip(df["row"], df["reads_path"], strict=True)]
    controls: dict[str, tuple[int, str, str]] = {}  # a control named by several rows is one entry
    for r, p in zip(df["row"], df["control_path"], strict=True):
        if p:
            controls.setdefault(str(Path(p).resolve()), (r, "control", p))
    for a, b in _same_files(reads + list(controls.values())):
        if Path(a[2]).resolve() == Path(b[2]).resolve():
            what = f"{b[2]} is named twice"
        else:
            what = f"{a[2]} and {b[2]} have the same content (size and first {FINGERPRINT_BYTES >> 20} MiB)"
        if a[1] == b[1] == "reads":
            raise CisflowError(f"{_rows([a[0], b[0]])}, column reads: {what}; each replicate needs its own reads", path)
        if a[1] == b[1] == "control":
            raise CisflowError(
                f"{_rows([a[0], b[0]])}, column control: {what}; name a control shared by several rows "
                "by one path (it is filtered once)",
                path,
            )
        reads_entry, control_entry = (a, b) if a[1] == "reads" else (b, a)
        own = df.loc[df["row"] == reads_entry[0], "control_path"].iloc[0]
        if own and Path(own).resolve() == Path(control_entry[2]).resolve():
            raise CisflowError(
                f"row {reads_entry[0]}, columns reads and control: the reads are their own control ({what})", path
            )
        log.warning(
            "%s: rows %d and %d: a file is used both as reads and as a control (%s)",
            path, reads_entry[0], control_entry[0], what,
        )  # fmt: skip


def _control_ids(paths: pd.Series) -> list[str]:
    """A file-name-safe name per distinct control file: its stem, plus a short hash when stems clash."""
    real = {p: str(Path(p).resolve()) for p in paths if p}
    stems: dict[str, set[str]] = {}
    for r in real.values():
        stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(r).name.split(".")[0]) or "control"
        stems.setdefault(stem, set()).add(r)
    name = {}
    for stem, files in stems.items():
        for r in files:
            name[r] = stem if len(files) == 1 else f"{stem}-{hashlib.sha1(r.encode()).hexdigest()[:8]}"
    return [name[real[p]] if p else "" for p in paths]


def _format(row, path: Path) -> str:
    """The reads format of a row: its ``format`` column, else inferred from the reads file's name."""
    if row.format:
        return row.format
    try:
        return infer_format(row.reads_path)
    except CisflowError as exc:
        raise CisflowError(
            f"row {row.row}, column reads: cannot infer the format of {row.reads} from its name; "
            f"add a format column ({'|'.join(FORMATS)})",
            path,
        ) from exc
