"""The npz artifacts that stages hand to each other, declared once: keys, dtypes, shapes, format and version.

Every artifact is a compressed npz (no pickles) holding ``format`` (its name) and ``format_version``
beside its arrays, and the geometry it was made with, so no later step re-reads geometry from the
config:

``bin_size``, ``stride``
    The genome bins of the labels (bin ``i`` of a chromosome is ``[i * stride, i * stride + bin_size)``);
    0 when the rows are not genome bins (simulated sequences).
``input_length``
    The model input window (bp) centred on each bin (datasets, predictions, contribution scores).

A :class:`Format` lists its arrays with a dtype and a symbolic shape (``("N", "L")``: every array
that uses ``N`` has the same ``N``); :func:`read` checks a file against it and :func:`write` writes
one, both naming the file in a one-line :class:`~cisflow.errors.CisflowError` for any mismatch. A
file without ``format_version`` (written before formats were declared) is refused with the stage to
rerun. The formats:

:data:`LABELS`
    Binned labels of the genome (:func:`cisflow.labels.save_labels`).
:data:`DATASET`
    One split's windows: labels, ids, coordinates, and codes (and optional signal channels), or, for a
    coordinate dataset of the genome track, no codes: its windows are made from the genome when used
    (:mod:`cisflow.data`, :mod:`cisflow.simulate`).
:data:`PREDICTIONS`
    Probabilities per row and task of a model or a baseline (:func:`cisflow.evaluate.evaluate_predictions`).
:data:`SCORES`
    Contribution scores of one method (:func:`cisflow.interpret.interpret_model`), modisco-lite's input.
:data:`PROFILE_DATASET`, :data:`PROFILE_PREDICTIONS`
    Base-resolution profile datasets and predictions (:mod:`cisflow.profile.io`); their geometry is
    ``input_length``, ``output_length`` and the training ``jitter``.

New artifacts add a :class:`Format` here and to :data:`FORMATS`.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cisflow.errors import CisflowError, require_file
from cisflow.io import save_npz

log = logging.getLogger(__name__)

FORMAT_KEY, VERSION_KEY = "format", "format_version"
GEOMETRY = ("bin_size", "stride", "input_length")
#: dtype names of :class:`Array`: exact numpy dtypes, or a kind (any width) for ``float`` / ``int`` / ``str``.
_KINDS = {"float": "f", "int": "iu", "str": "U"}


@dataclass(frozen=True)
class Array:
    """One array of a format: its dtype (``uint8``, ``int8``, ``int64``, ``float32``, ``float16``, or a kind
    ``float`` / ``int`` / ``str``), its symbolic shape (``()`` for a scalar) and whether it must be present."""

    dtype: str
    shape: tuple[str | int, ...]
    required: bool = True
    doc: str = ""


@dataclass(frozen=True)
class Format:
    """A declared npz artifact: ``name`` and ``version`` (stored in the file), its arrays, the stage that
    writes it (named in errors), an optional value check ``check(arrays, path)``, and the ``older`` versions
    still read (their files are a subset of this version's: read as they are)."""

    name: str
    version: int
    stage: str
    arrays: Mapping[str, Array]
    check: Callable[[Mapping[str, np.ndarray], Path], None] | None = field(default=None, compare=False)
    older: tuple[int, ...] = ()

    @property
    def required(self) -> list[str]:
        """Names of the arrays every file of this format has."""
        return [k for k, a in self.arrays.items() if a.required]


def _geometry(*names: str) -> dict[str, Array]:
    """Scalar int64 geometry arrays."""
    docs = {"bin_size": "bin width (bp); 0 = not genome bins", "stride": "bin step (bp); 0 = not genome bins",
            "input_length": "model input window (bp)"}  # fmt: skip
    return {n: Array("int64", (), doc=docs[n]) for n in names}


def _check_labels_values(data: Mapping[str, np.ndarray], path: Path) -> None:
    """Labels must be 1, 0 or -1."""
    if "labels" in data and not np.isin(data["labels"], (-1, 0, 1)).all():
        raise CisflowError("labels must be 1, 0 or -1", path)


def _check_labels_file(data: Mapping[str, np.ndarray], path: Path) -> None:
    """Labels in {1, 0, -1}; ``n_bins`` add up to the label rows and ``keep`` packs that many bits."""
    _check_labels_values(data, path)
    if {"labels", "n_bins", "keep"} <= set(data):
        rows = int(data["n_bins"].sum())
        if rows != data["labels"].shape[0] or data["keep"].shape[0] != -(-rows // 8):
            raise CisflowError(f"n_bins add up to {rows} but labels have {data['labels'].shape[0]} rows", path)


def _check_dataset(data: Mapping[str, np.ndarray], path: Path) -> None:
    """A dataset's labels are 1, 0 or -1 and its codes ``input_length`` wide."""
    _check_labels_values(data, path)
    if "codes" in data:
        if data["codes"].shape[1] != int(data["input_length"]):
            raise CisflowError(
                f"codes are {data['codes'].shape[1]} bp but input_length is {data['input_length']}", path
            )
    if ("signal" in data) != ("signal_names" in data) and "codes" in data:
        raise CisflowError("signal and signal_names go together", path)


LABELS = Format(
    "cisflow-labels",
    1,
    "labels",
    {
        "tasks": Array("str", ("T",), doc="task names, the label columns"),
        "chroms": Array("str", ("C",), doc="chromosomes in genome order"),
        "sizes": Array("int64", ("C",), doc="chromosome lengths (bp)"),
        "n_bins": Array("int64", ("C",), doc="bins per chromosome"),
        "mode": Array("str", (), doc="labelling rule"),
        "labels": Array("int8", ("B", "T"), doc="1 bound, 0 unbound, -1 ambiguous; chromosomes concatenated"),
        "keep": Array("uint8", ("K",), doc="np.packbits of the kept-bin mask (B,)"),
        "params": Array("str", (), doc="JSON of the other labelling parameters"),
        **_geometry("bin_size", "stride"),
    },
    _check_labels_file,
)

DATASET = Format(
    "cisflow-dataset",
    2,
    "splits (or simulate)",
    {
        "codes": Array(
            "uint8",
            ("N", "L"),
            required=False,
            doc="genome codes A0 C1 G2 T3 N4 of each window; absent from a "
            "coordinate dataset, whose windows are made from the genome when used (cisflow.loader.dataset_windows)",
        ),
        "labels": Array("int8", ("N", "T"), doc="1 bound, 0 unbound, -1 ambiguous"),
        "tasks": Array("str", ("T",)),
        "ids": Array(
            "str",
            ("N",),
            required=False,
            doc="the sequence id; absent from genome bins since version 2, whose ids "
            "chrom:start-end derive from chrom and bin_start (row_ids)",
        ),
        "chrom": Array("str", ("N",), required=False),
        "start": Array("int64", ("N",), required=False, doc="window start (may be < 0 near a chromosome start)"),
        "bin_start": Array("int64", ("N",), required=False),
        "seed": Array("int64", (), required=False),
        "signal": Array("float", ("N", "S", "L"), required=False, doc="log1p signal channels after the DNA"),
        "signal_names": Array("str", ("S",), required=False),
        **_geometry(*GEOMETRY),
    },
    _check_dataset,
    older=(1,),
)

PREDICTIONS = Format(
    "cisflow-predictions",
    2,
    "evaluate (or baselines)",
    {
        "ids": Array(
            "str", ("N",), required=False, doc="the row's id, or (genome bins, since version 2) chrom + bin_start"
        ),
        "chrom": Array("str", ("N",), required=False),
        "bin_start": Array("int64", ("N",), required=False),
        "labels": Array("int8", ("N", "T")),
        "probs": Array("float32", ("N", "T"), doc="probability (or score) per row and task"),
        "tasks": Array("str", ("T",)),
        **_geometry(*GEOMETRY),
    },
    _check_labels_values,
    older=(1,),
)

SCORES = Format(
    "cisflow-scores",
    1,
    "interpret",
    {
        "x": Array("float32", ("N", 4, "L"), doc="one-hot input"),
        "scores": Array("float", ("N", 4, "L"), doc="actual-base contributions"),
        "hypothetical": Array("float", ("N", 4, "L"), doc="hypothetical contributions"),
        "ids": Array("str", ("N",)),
        "task": Array("str", ()),
        "seed": Array("int64", ()),
        "chrom": Array("str", ("N",), required=False),
        "start": Array("int64", ("N",), required=False),
        "summation_error": Array("float", ("N",), required=False, doc="DeepSHAP's |sum - (f(x) - E f)|"),
        **_geometry(*GEOMETRY),
    },
)


def _check_profile_dataset(data: Mapping[str, np.ndarray], path: Path) -> None:
    """Codes ``input_length + 2 jitter`` wide, counts ``output_length + 2 jitter`` wide, control as wide as codes."""
    if not {"codes", "counts", "input_length", "output_length", "jitter"} <= set(data):
        return
    n, t, s = data["codes"].shape[0], data["counts"].shape[1], data["counts"].shape[2]
    j, n_in, n_out = int(data["jitter"]), int(data["input_length"]), int(data["output_length"])
    if data["codes"].shape[1] != n_in + 2 * j or data["counts"].shape[3] != n_out + 2 * j:
        raise CisflowError(
            f"codes {data['codes'].shape} / counts {data['counts'].shape} do not match the geometry "
            f"(input {n_in}, output {n_out}, jitter {j}, {t} task(s), {s} strand(s))",
            path,
        )
    if "control" in data and data["control"].shape[::2] != (n, n_in + 2 * j):
        raise CisflowError(f"control {data['control'].shape} does not match codes {data['codes'].shape}", path)


def _regions() -> dict[str, Array]:
    """The region arrays of profile datasets and predictions."""
    return {
        "chrom": Array("str", ("N",)),
        "center": Array("int", ("N",), doc="0-based base at the window's middle"),
        "is_peak": Array("bool", ("N",), doc="a peak (True) or a background region"),
        "tasks": Array("str", ("T",)),
        "strands": Array("str", ("S",), doc="the count tracks' strands"),
        "input_length": Array("int64", (), doc="model input window (bp)"),
        "output_length": Array("int64", (), doc="profile output window (bp)"),
    }


PROFILE_DATASET = Format(
    "cisflow-profile-dataset",
    1,
    "profile datasets",
    {
        "codes": Array("uint8", ("N", "W"), doc="genome codes of the input window widened by the jitter on each side"),
        "counts": Array("float32", ("N", "T", "S", "V"), doc="counts per base of each task's strand tracks"),
        "control": Array("float32", ("N", "C", "W"), required=False, doc="control tracks (+ and - strand)"),
        **_regions(),
        "jitter": Array("int64", (), doc="bp each window is widened by on each side (training crops within it)"),
    },
    _check_profile_dataset,
)


def _heads() -> dict[str, Array]:
    """Profile logits and log counts of the full model and (ChromBPNet) its corrected and bias heads."""
    out = {}
    for prefix, t, s, o in (("", "T", "S", "O"), ("corrected_", "T", "S", "O"), ("bias_", "Tb", "Sb", "Ob")):
        out[f"{prefix}profile_logits"] = Array("float", ("N", t, s, o), required=not prefix)
        out[f"{prefix}log_counts"] = Array("float", ("N", t), required=not prefix)
    return out


PROFILE_PREDICTIONS = Format(
    "cisflow-profile-predictions",
    1,
    "profile evaluate",
    {**_heads(), **_regions()},
)

FORMATS: dict[str, Format] = {
    f.name: f for f in (LABELS, DATASET, PREDICTIONS, SCORES, PROFILE_DATASET, PROFILE_PREDICTIONS)
}


# --------------------------------------------------------------------------- checking


def _dtype_ok(array: np.ndarray, dtype: str) -> bool:
    """Whether ``array`` has the declared dtype (exact, or of the declared kind)."""
    if dtype in _KINDS:
        return array.dtype.kind in _KINDS[dtype]
    return array.dtype == np.dtype(dtype)


def _check_arrays(fmt: Format, data: Mapping[str, np.ndarray], path: str | Path, what: str) -> None:
    """CisflowError unless every array of ``data`` has its declared dtype and consistent shape."""
    dims: dict[str, int] = {}
    for key, array in data.items():
        spec = fmt.arrays.get(key)
        if spec is None:
            continue
        if not _dtype_ok(array, spec.dtype):
            raise CisflowError(f"{what}: {key} must be {spec.dtype}, got {array.dtype}", path)
        if array.ndim != len(spec.shape):
            raise CisflowError(
                f"{what}: {key} must have shape ({', '.join(map(str, spec.shape))}), got {array.shape}", path
            )
        for dim, size in zip(spec.shape, array.shape, strict=True):
            want = dims.setdefault(dim, size) if isinstance(dim, str) else dim
            if size != want:
                raise CisflowError(
                    f"{what}: {key} {array.shape} does not match {dim} = {want} of the other arrays", path
                )


def _check_format(fmt: Format, found: str | None, version: int | None, path: Path, what: str) -> None:
    """CisflowError unless the file is ``fmt`` at its version (one line saying which stage to rerun)."""
    if version is None:
        raise CisflowError(
            f"{what} has no format version (written by an older cisflow or another tool); rerun the {fmt.stage} stage",
            path,
        )
    if found != fmt.name:
        raise CisflowError(f"{what} is a {found} file, not {fmt.name}", path)
    if version != fmt.version and version not in fmt.older:
        readable = " and ".join(map(str, [*fmt.older, fmt.version]))
        raise CisflowError(
            f"{what} is {fmt.name} version {version}; this cisflow reads version{'s' if fmt.older else ''} "
            f"{readable}: rerun the {fmt.stage} stage",
            path,
        )


# --------------------------------------------------------------------------- reading and writing


def _wanted(
    fmt: Format, files: set[str], keys: Sequence[str] | None, optional: Sequence[str] = ()
) -> tuple[list[str], list[str]]:
    """Arrays to load and arrays that must be in the file: every declared one present (all required), or
    ``keys`` plus the geometry (all of them required) and those of ``optional`` the file has."""
    if keys is None:
        return [k for k in fmt.arrays if k in files], fmt.required
    unknown = [k for k in [*keys, *optional] if k not in fmt.arrays]
    if unknown:
        raise TypeError(f"{fmt.name} declares no array {', '.join(unknown)}")
    need = list(dict.fromkeys([*keys, *(g for g in GEOMETRY if g in fmt.arrays)]))
    return need + [k for k in optional if k in files and k not in need], need


def read(
    path: str | Path,
    fmt: Format,
    keys: Sequence[str] | None = None,
    what: str | None = None,
    optional: Sequence[str] = (),
) -> dict[str, np.ndarray]:
    """Read an artifact checked against its format.

    Parameters
    ----------
    path
        The npz.
    fmt
        Its :class:`Format`.
    keys
        Arrays to read (only these are decompressed, plus the geometry); None reads every declared
        array the file has. A required key absent from the file is an error either way.
    what
        How errors name the file (default: the format's name).
    optional
        With ``keys``: arrays read too when the file has them (e.g. :data:`ROW_KEYS`).

    Returns
    -------
    dict
        The arrays (str arrays as ``str``), ``bin_size`` / ``stride`` / ``input_length`` as 0-d int64.
    """
    what = what or fmt.name
    path = require_file(path, what)
    _check_zip(path, what)
    try:
        with np.load(path, allow_pickle=False) as npz:
            files = set(npz.files)
            found = str(npz[FORMAT_KEY]) if FORMAT_KEY in files else None
            version = int(npz[VERSION_KEY]) if VERSION_KEY in files else None
            _check_format(fmt, found, version, path, what)
            wanted, need = _wanted(fmt, files, keys, optional)
            missing = [k for k in need if k not in files]
            if missing:
                raise CisflowError(f"{what} lacks {', '.join(missing)}", path)
            data = {k: npz[k] for k in wanted}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, CisflowError):
            raise
        raise CisflowError(f"cannot read {what} ({exc.__class__.__name__}: {exc})", path) from exc
    _check_arrays(fmt, data, path, what)
    data = {k: v.astype(str, copy=False) if fmt.arrays[k].dtype == "str" else v for k, v in data.items()}
    if fmt.check is not None:
        fmt.check(data, path)
    return data


def _check_zip(path: Path, what: str) -> None:
    """CisflowError unless ``path`` starts as a zip archive (an npz) does; else numpy would call it pickled data."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head not in (b"PK\x03\x04", b"PK\x05\x06"):
        kind = "gzip-compressed" if head[:2] == b"\x1f\x8b" else "empty" if not head else "not a zip archive"
        raise CisflowError(f"{what} is not an npz file ({kind}); was it written by cisflow?", path)


def _cast(value: np.ndarray, dtype: str, key: str, path: str | Path) -> np.ndarray:
    """``value`` as the declared dtype: str to unicode, kinds kept, integers to any integer type that holds
    them, floats to floats; anything else (e.g. float codes) is a CisflowError."""
    if dtype == "str":
        return value.astype(str)
    if dtype in _KINDS:
        return value
    target = np.dtype(dtype)
    if value.dtype.kind in "iu" and target.kind in "iu":  # integers: any width whose range holds the values
        info = np.iinfo(target)
        if value.size and (value.min() < info.min or value.max() > info.max):
            raise CisflowError(f"{key} values do not fit {dtype}", path)
        return value.astype(target)
    if np.can_cast(value.dtype, target, "same_kind"):
        return value.astype(target)
    raise CisflowError(f"{key} must be {dtype}, got {value.dtype}", path)


def write(path: str | Path, fmt: Format, arrays: Mapping[str, Any]) -> None:
    """Write an artifact (compressed npz, atomically) after checking it against its format.

    ``arrays`` are cast to the declared dtypes within their kind (int64 to int8, float64 to float32, str
    arrays to unicode; never float to int); keys the format does not declare are an error, so every
    artifact stays described here.
    """
    unknown = [k for k in arrays if k not in fmt.arrays]
    if unknown:
        raise CisflowError(f"{fmt.name} has no array {', '.join(unknown)}", path)
    missing = [k for k in fmt.required if k not in arrays]
    if missing:
        raise CisflowError(f"{fmt.name} needs {', '.join(missing)}", path)
    data = {key: _cast(np.asarray(value), fmt.arrays[key].dtype, key, path) for key, value in arrays.items()}
    _check_arrays(fmt, data, path, fmt.name)
    if fmt.check is not None:
        fmt.check(data, Path(path))
    save_npz(path, **{FORMAT_KEY: np.array(fmt.name), VERSION_KEY: np.array(fmt.version, np.int64)}, **data)


def geometry(data: Mapping[str, np.ndarray]) -> dict[str, int]:
    """The geometry entries of an artifact's arrays as ints (``bin_size``, ``stride``, ``input_length``)."""
    return {g: int(data[g]) for g in GEOMETRY if g in data}


# --------------------------------------------------------------------------- datasets


def read_dataset(path: str | Path, what: str = "dataset") -> dict[str, np.ndarray]:
    """Read a dataset npz (:data:`DATASET`): every array it has, checked, and at least one row (an empty
    split may be written, with a warning, but not trained or evaluated on); ``what`` names the file in errors."""
    data = read(path, DATASET, what=what)
    if data["labels"].shape[0] == 0:
        raise CisflowError(f"{what} has no sequences", path)
    _check_windows(data, path)
    return data


def _check_windows(data: Mapping[str, np.ndarray], path: str | Path) -> None:
    """A whole dataset has its windows' codes, or their coordinates (``chrom``, ``bin_start``) to make them,
    and its rows' names (:func:`check_row_names`)."""
    if "codes" not in data and not {"chrom", "bin_start"} <= set(data):
        raise CisflowError("a dataset without codes needs chrom and bin_start (its windows' coordinates)", path)
    check_row_names(data, path)


# --------------------------------------------------------------------------- row names

#: The arrays that name rows: ``ids``, or (genome bins) ``chrom`` and ``bin_start``, the id derived (:func:`row_ids`).
ROW_KEYS = ("ids", "chrom", "bin_start")
_BIN_BITS = 40  # a bin's integer key: chromosome number << 40 | bin_start (starts below 1.1e12 bp)


def is_bin_keyed(data: Mapping[str, np.ndarray]) -> bool:
    """Whether ``data``'s rows are named by genome-bin coordinates: no ``ids``; ``chrom``, ``bin_start`` and
    ``bin_size`` > 0."""
    return "ids" not in data and {"chrom", "bin_start"} <= set(data) and int(data.get("bin_size", 0)) > 0


def check_row_names(data: Mapping[str, np.ndarray], path: str | Path | None = None) -> None:
    """CisflowError naming ``path`` unless every row has a name: ``ids``, or genome bins' ``chrom`` and
    ``bin_start`` with ``bin_size`` > 0."""
    if "ids" not in data and not is_bin_keyed(data):
        raise CisflowError("rows need ids, or chrom and bin_start of genome bins (bin_size > 0)", path)


def bin_ids(chrom: np.ndarray, bin_start: np.ndarray, bin_size: int, chunk: int = 1 << 16) -> np.ndarray:
    """``chrom:start-end`` of each bin ``(n,)`` str, written ``chunk`` bins at a time into the result; the width is
    the longest name plus the longest start and end. Made on demand (:func:`row_ids`), never stored."""
    chrom, bin_start = np.asarray(chrom, dtype=str), np.asarray(bin_start, dtype=np.int64)
    if not chrom.size:
        return np.zeros(0, dtype="<U1")
    digits = len(str(int(bin_start.max()) + bin_size))
    out = np.empty(chrom.size, dtype=f"<U{chrom.dtype.itemsize // 4 + 2 * digits + 2}")
    for lo in range(0, chrom.size, chunk):
        names, starts = chrom[lo : lo + chunk].tolist(), bin_start[lo : lo + chunk].tolist()
        out[lo : lo + chunk] = [f"{c}:{s}-{s + bin_size}" for c, s in zip(names, starts, strict=True)]
    return out


def row_ids(data: Mapping[str, np.ndarray], rows: np.ndarray | slice | None = None) -> np.ndarray:
    """Ids ``(n,)`` of ``rows`` (None: every row): the stored ``ids``, or for genome bins ``chrom:start-end`` made
    from ``chrom``, ``bin_start`` and ``bin_size`` (:func:`bin_ids`; stored no more since format version 2)."""
    sel = slice(None) if rows is None else rows
    if "ids" in data:
        return np.asarray(data["ids"])[sel]
    check_row_names(data)
    return bin_ids(np.asarray(data["chrom"])[sel], np.asarray(data["bin_start"])[sel], int(data["bin_size"]))


def row_keys(data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays naming ``data``'s rows as a predictions npz stores them: ``{"ids": …}``, or for genome bins
    without ids ``{"chrom": …, "bin_start": …}`` (no copies)."""
    check_row_names(data)
    if "ids" in data:
        return {"ids": data["ids"]}
    return {"chrom": data["chrom"], "bin_start": data["bin_start"]}


def _chrom_numbers(chrom: np.ndarray, numbers: dict[str, int]) -> np.ndarray:
    """A number ``(n,)`` int64 per row's chromosome (new names added to ``numbers``), run by run: rows come
    grouped by chromosome, so only the runs' names are looked up."""
    chrom = np.asarray(chrom)
    if not chrom.size:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, chrom[1:] != chrom[:-1]])
    run = np.array([numbers.setdefault(c, len(numbers)) for c in chrom[starts].tolist()], dtype=np.int64)
    return np.repeat(run, np.diff(np.r_[starts, chrom.size]))


def _bin_keys(data: Mapping[str, np.ndarray], numbers: dict[str, int]) -> np.ndarray:
    """One int64 key ``(n,)`` per genome bin: its chromosome's number (``numbers``) << 40 | ``bin_start``."""
    return (_chrom_numbers(data["chrom"], numbers) << _BIN_BITS) | np.asarray(data["bin_start"], dtype=np.int64)


def _row_match_keys(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Comparable keys of two row sets: int64 bin keys when both are genome bins without ids, else their ids."""
    if is_bin_keyed(a) and is_bin_keyed(b):
        numbers: dict[str, int] = {}
        return _bin_keys(a, numbers), _bin_keys(b, numbers)
    return row_ids(a), row_ids(b)


def _has_duplicates(keys: np.ndarray) -> bool:
    """Whether ``keys`` ``(n,)`` hold a value twice."""
    return np.unique(keys).size < keys.size


def signal_names(data: Mapping[str, np.ndarray]) -> list[str]:
    """Names of a dataset's signal channels (``signal_names``; a coordinate dataset has them without ``signal``)."""
    return [str(n) for n in data["signal_names"]] if "signal_names" in data else []


def check_signal_names(data: Mapping[str, np.ndarray], wanted: Sequence[str], path: str | Path, what: str) -> None:
    """CisflowError naming ``path`` unless the dataset's signal channels are ``wanted`` (the ``what``'s), in order."""
    have = signal_names(data)
    if have != list(wanted):
        raise CisflowError(f"signal channels {have or 'none'} differ from the {what}'s {list(wanted) or 'none'}", path)


_PER_FILE = ("tasks", "seed", "signal_names", *GEOMETRY)


def read_datasets(
    paths: Sequence[str | Path], what: str = "dataset", tasks: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Read several dataset npz files with the same tasks, geometry and signal channels as one (rows concatenated).

    Row arrays present in every file are kept; when the rows' names (:func:`row_ids`) collide, ``ids`` are
    made (or remade) unique by prefixing the file's stem. ``tasks``: keep only these label columns of each
    file, in this order (a test split's held-out cell types' columns dropped to match train and valid); a file
    lacking one is an error.
    """
    parts = [read_dataset(p, what) for p in paths]
    if tasks is not None:
        parts = [select_tasks(part, tasks, path) for part, path in zip(parts, paths, strict=True)]
    if not parts:
        raise CisflowError(f"no {what} files given")
    first = parts[0]
    for path, part in zip(paths[1:], parts[1:], strict=True):
        if list(part["tasks"]) != list(first["tasks"]) or geometry(part) != geometry(first):
            raise CisflowError(f"tasks or input length differ from {paths[0]}", path)
        check_signal_names(part, signal_names(first), path, str(paths[0]))
    keys = [k for k in first if all(k in p for p in parts) and k not in _PER_FILE]
    merged = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    merged |= {k: first[k] for k in _PER_FILE if k in first and k != "seed"}
    keys = _bin_keys(merged, {}) if is_bin_keyed(merged) else merged.get("ids")
    if keys is None or _has_duplicates(keys):
        merged["ids"] = np.concatenate(
            [np.char.add(f"{Path(p).stem}:", row_ids(d)) for p, d in zip(paths, parts, strict=True)]
        )
    return merged


def task_columns(
    have: Sequence[str], tasks: Sequence[str], path: str | Path | None = None, what: str = "the dataset"
) -> list[int]:
    """The columns of ``tasks`` among the task names ``have``, in the order of ``tasks``.

    Raises
    ------
    CisflowError
        A task not among ``have``, or no task given (naming ``path``).
    """
    have = [str(t) for t in have]
    missing = [str(t) for t in tasks if str(t) not in have]
    if missing or not len(tasks):
        name = repr(missing[0]) if missing else "(none given)"
        raise CisflowError(f"no task {name} in {what} (tasks: {', '.join(have)})", path)
    return [have.index(str(t)) for t in tasks]


def select_tasks(
    data: Mapping[str, np.ndarray], tasks: Sequence[str] | None, path: str | Path | None = None
) -> dict[str, np.ndarray]:
    """A dataset with only the label columns of ``tasks`` (in that order; None: all of them), the ``tasks`` array
    to match; CisflowError naming ``path`` for a task it lacks (:func:`task_columns`)."""
    if tasks is None:
        return dict(data)
    cols = task_columns(data["tasks"], tasks, path)
    return {**data, "labels": data["labels"][:, cols], "tasks": np.asarray(data["tasks"])[cols]}


def write_datasets(datasets: Mapping[str, Mapping[str, np.ndarray]], paths: Mapping[str, str | Path]) -> None:
    """Write each split's dataset (:data:`DATASET`) to its npz path (``{split: path}``), atomically."""
    missing = [s for s in paths if s not in datasets]
    if missing:
        raise CisflowError(f"no dataset for split(s) {', '.join(missing)}; have {', '.join(datasets)}")
    for split, path in paths.items():
        _check_windows(datasets[split], path)
        write(path, DATASET, datasets[split])
        log.info("wrote %s (%d windows) to %s", split, len(datasets[split]["labels"]), path)


# --------------------------------------------------------------------------- predictions


def write_predictions(
    path: str | Path,
    ids: np.ndarray | Mapping[str, np.ndarray],
    labels: np.ndarray,
    probs: np.ndarray,
    tasks: Sequence[str],
    geometry: Mapping[str, int],
) -> None:
    """Write a predictions npz (:data:`PREDICTIONS`): the rows' names, ``labels`` int8 and ``probs`` float32
    ``(N, T)``, ``tasks`` ``(T,)``, and the ``geometry`` of the dataset predicted.

    ``ids`` is the rows' ids ``(N,)`` or, as :func:`row_keys` gives them, ``{"ids": …}`` or a genome bins'
    ``{"chrom": …, "bin_start": …}`` (stored as such, the ids derived when needed, :func:`row_ids`).
    """
    rows = {k: ids[k] for k in ROW_KEYS if k in ids} if isinstance(ids, Mapping) else {"ids": ids}
    check_row_names(rows | {g: geometry[g] for g in GEOMETRY}, path)
    write(
        path,
        PREDICTIONS,
        rows
        | {"labels": labels, "probs": np.asarray(probs, np.float32), "tasks": tasks}
        | {g: geometry[g] for g in GEOMETRY},
    )


def _match_rows(test: Mapping[str, np.ndarray], pred: Mapping[str, np.ndarray], pred_path: str | Path) -> np.ndarray:
    """Index into the predictions of each test row ``(N,)``; every test row predicted once, nothing extra.

    Genome bins on both sides are matched by integer keys of ``(chrom, bin_start)``; otherwise by ids (those
    of genome bins without ids derived, :func:`row_ids`).
    """
    test_keys, pred_keys = _row_match_keys(test, pred)
    order = np.argsort(pred_keys, kind="stable")
    ranked = pred_keys[order]
    dup = np.flatnonzero(ranked[1:] == ranked[:-1])
    if dup.size:
        raise CisflowError(f"duplicate prediction id {str(row_ids(pred, order[dup[:1] + 1])[0])!r}", pred_path)
    pos = np.minimum(np.searchsorted(ranked, test_keys), max(ranked.size - 1, 0))
    found = ranked[pos] == test_keys if ranked.size else np.zeros(test_keys.size, bool)
    if not found.all():
        missing = np.flatnonzero(~found)
        first = str(row_ids(test, missing[:1])[0])
        raise CisflowError(f"{missing.size} test bins have no prediction (first: {first})", pred_path)
    if pred_keys.size != test_keys.size:
        raise CisflowError(f"{pred_keys.size - test_keys.size} predictions are for ids not in the test set", pred_path)
    return order[pos]


def load_predictions(path: str | Path, test: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """Probabilities ``(N, T_pred)`` float64 aligned to ``test``'s rows (named by :data:`ROW_KEYS`), and their
    task names.

    When ``test`` carries geometry, the predictions must have been made with the same.
    """
    pred = read(path, PREDICTIONS, ("probs", "tasks"), "predictions npz", optional=ROW_KEYS)
    check_row_names(pred, path)
    want = geometry(test)
    if want and geometry(pred) != want:
        raise CisflowError(f"predictions made with {geometry(pred)} but the test set has {want}", path)
    return pred["probs"].astype(np.float64)[_match_rows(test, pred, path)], pred["tasks"].tolist()
