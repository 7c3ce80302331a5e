"""The sample sheet: one row per replicate of a task (ChIP-seq TF or ATAC-seq) in a cell type.

Tab-separated with the columns ``task cell_type assay replicate reads`` and optional ``control``
(ChIP input reads) and ``format`` (``bam|bed|bedpe|fragments``; else inferred from the file name).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from cisflow.errors import CisflowError, require_file
from cisflow.reads import FORMATS, infer_format

log = logging.getLogger(__name__)

REQUIRED = ("task", "cell_type", "assay", "replicate", "reads")
OPTIONAL = ("control", "format")
ASSAYS = ("chip", "atac")


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
        ``sample`` = ``{group}.rep{replicate}`` and ``control_id`` (one name per distinct control file,
        so a control shared by replicates or tasks is filtered once; "" without a control).

    Raises
    ------
    CisflowError
        Naming the sheet: missing column, empty sheet, unknown assay or format, bad or duplicate
        replicate, a control for ATAC, a missing reads or control file (named too).
    """
    path = require_file(path, "sample sheet")
    df = _read_tsv(path)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise CisflowError(f"sample sheet lacks column(s) {', '.join(missing)} (needs {' '.join(REQUIRED)})", path)
    if df.empty:
        raise CisflowError("sample sheet has no samples", path)
    for col in OPTIONAL:
        if col not in df.columns:
            df[col] = ""
    base = Path.cwd() if base_dir is None else Path(base_dir)
    _check_values(df, path)
    df["group"] = df["task"] + "." + df["cell_type"]
    df["sample"] = df["group"] + ".rep" + df["replicate"].astype(str)
    df["reads_path"] = [str(_resolve(p, base)) for p in df["reads"]]
    df["control_path"] = [str(_resolve(p, base)) if p else "" for p in df["control"]]
    _check_files(df, path)
    df["control_id"] = _control_ids(df["control_path"])
    df["format"] = [f or infer_format(p) for f, p in zip(df["format"], df["reads_path"], strict=True)]
    log.info("sample sheet %s: %d samples in %d groups", path, len(df), df["group"].nunique())
    return df.reset_index(drop=True)


def _control_ids(paths: pd.Series) -> list[str]:
    """A file-name-safe name per distinct control file: its stem, plus a short hash when stems clash."""
    import hashlib
    import re

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


def _read_tsv(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CisflowError(f"cannot parse the sample sheet as TSV ({exc})".splitlines()[0], path) from exc
    df.columns = [c.strip() for c in df.columns]
    return df.apply(lambda col: col.str.strip())


def _resolve(p: str, base: Path) -> Path:
    q = Path(p)
    return q if q.is_absolute() else base / q


def _check_values(df: pd.DataFrame, path: Path) -> None:
    for i, row in df.iterrows():
        where = f"row {int(i) + 2} ({row['task']} {row['cell_type']} rep {row['replicate']})"
        if row["assay"] not in ASSAYS:
            raise CisflowError(f"{where}: unknown assay {row['assay']!r} (expected chip or atac)", path)
        if row["format"] and row["format"] not in FORMATS:
            raise CisflowError(f"{where}: unknown format {row['format']!r} (expected {'|'.join(FORMATS)})", path)
        if not row["replicate"].isdigit():
            raise CisflowError(f"{where}: replicate must be a positive integer", path)
        if row["assay"] == "atac" and row["control"]:
            raise CisflowError(f"{where}: a control is given for ATAC-seq (controls are for ChIP-seq only)", path)
        if not row["task"] or not row["cell_type"] or not row["reads"]:
            raise CisflowError(f"{where}: task, cell_type and reads must not be empty", path)
    df["replicate"] = df["replicate"].astype(int)
    dup = df.duplicated(["task", "cell_type", "replicate"], keep=False)
    if dup.any():
        row = df[dup].iloc[0]
        raise CisflowError(
            f"duplicate replicate {row['replicate']} for task {row['task']} in cell type {row['cell_type']}", path
        )


def _check_files(df: pd.DataFrame, path: Path) -> None:
    for col, what in (("reads_path", "reads"), ("control_path", "control")):
        for p in df[col]:
            if p and not Path(p).is_file():
                raise CisflowError(f"{what} file {p} does not exist", path)
