"""Position weight matrices: loading (ENCODE collection, JASPAR, MEME), scoring and sampling.

A PWM here is a float ``(4, W)`` array of probabilities with rows A C G T and columns summing
to 1. Log-odds matrices have the same shape and are in bits (log2). Sequences are uint8 genome
codes (A0 C1 G2 T3 N4, see :mod:`cisflow.genome`).

Motif specs accepted by :func:`load_motif`:

* ``TAL1_known4`` or ``encode:TAL1_known4`` — a motif of the bundled ENCODE collection
  (``cisflow/resources/motifs/encode_motifs.txt.gz``, package data, see its PROVENANCE.md);
* ``jaspar:MA0363.2`` (or ``jaspar:MA0363`` for the latest version), optionally with a release,
  ``jaspar:JASPAR2022:MA0363.2`` — read offline from the SQLite files shipped with pyjaspar.

:func:`load_motifs` takes a list of such specs and MEME files (a path ending in ``.meme``: every motif in it,
e.g. the de novo seeds of :mod:`cisflow.denovo` or a MEME / STREME / HOMER export).
"""

from __future__ import annotations

import difflib
import functools
import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cisflow.errors import CisflowError, require_file
from cisflow.io import atomic_open, package_file, read_text_lines

log = logging.getLogger(__name__)

ENCODE_MOTIFS = package_file("resources/motifs/encode_motifs.txt.gz")
DEFAULT_JASPAR_RELEASE = "JASPAR2024"


def _normalise(pwm: np.ndarray, source: str | Path | None = None) -> np.ndarray:
    """Check a ``(4, W)`` non-negative matrix and scale its columns to sum to 1."""
    pwm = np.asarray(pwm, dtype=np.float64)
    if pwm.ndim != 2 or pwm.shape[0] != 4 or pwm.shape[1] == 0:
        raise CisflowError(f"a PWM must have shape (4, W) with W > 0, got {pwm.shape}", source)
    sums = pwm.sum(axis=0)
    if (pwm < 0).any() or not np.isfinite(pwm).all() or (sums <= 0).any():
        raise CisflowError("a PWM must be finite, non-negative, with no all-zero column", source)
    return pwm / sums


@functools.lru_cache(maxsize=4)
def _read_encode(path: str) -> dict[str, np.ndarray]:
    """Parse the ENCODE motif text file into ``{name: (4, W)}`` (cached per path)."""
    motifs: dict[str, list[list[float]]] = {}
    name = None
    for i, line in enumerate(read_text_lines(require_file(path, "ENCODE motif file")), 1):
        if not line.strip():
            continue
        if line.startswith(">"):
            name = (line[1:].split() or [""])[0]
            if not name or name in motifs:
                raise CisflowError(f"line {i}: empty or duplicate motif name {name!r}", path)
            motifs[name] = []
            continue
        fields = line.split()
        try:
            if name is None or len(fields) != 5:
                raise ValueError
            motifs[name].append([float(x) for x in fields[1:]])
        except ValueError as exc:
            raise CisflowError(f"line {i}: expected 'LETTER pA pC pG pT' after a '>' header", path) from exc
    if not motifs:
        raise CisflowError("no motifs found", path)
    return {k: _normalise(np.array(v).T, path) for k, v in motifs.items()}


def list_encode_motifs(path: str | Path = ENCODE_MOTIFS) -> list[str]:
    """Names of the motifs in the ENCODE motif collection, in file order."""
    return list(_read_encode(str(path)))


def _close_names(name: str, names: list[str], n: int = 8) -> list[str]:
    """Names that share ``name``'s prefix (before '_', case-insensitive) or are spelled alike."""
    stem = name.split("_")[0].upper()
    same_stem = [x for x in names if x.upper().split("_")[0] == stem]
    alike = difflib.get_close_matches(name, names, n=n, cutoff=0.6)
    return list(dict.fromkeys(same_stem + alike))[:n]


def load_encode_motif(name: str, path: str | Path = ENCODE_MOTIFS) -> np.ndarray:
    """The ``(4, W)`` probability matrix of ENCODE motif ``name`` (e.g. ``TAL1_known4``).

    Raises CisflowError for an unknown name, listing close names.
    """
    motifs = _read_encode(str(path))
    if name not in motifs:
        close = _close_names(name, list(motifs))
        hint = f"; close names: {', '.join(close)}" if close else ""
        raise CisflowError(f"unknown ENCODE motif {name!r}{hint}", path)
    return motifs[name].copy()


def load_jaspar_motif(matrix_id: str, release: str = DEFAULT_JASPAR_RELEASE) -> tuple[str, np.ndarray]:
    """Load a JASPAR matrix offline via pyjaspar's bundled SQLite databases.

    Parameters
    ----------
    matrix_id
        ``MA0363.2``, or ``MA0363`` for the latest version in ``release``.
    release
        One of pyjaspar's releases (``JASPAR2014`` … ``JASPAR2026`` in pyjaspar 4.0.0).

    Returns
    -------
    name, pwm
        The TF name (e.g. ``REB1``) and the ``(4, W)`` column-normalised counts.
    """
    from pyjaspar import jaspardb

    releases = jaspardb().get_releases()
    if release not in releases:
        raise CisflowError(f"unknown JASPAR release {release!r}; pyjaspar has {', '.join(releases)}")
    db = jaspardb(release=release)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        motif = db.fetch_motif_by_id(matrix_id)
    if motif is None:
        raise CisflowError(f"JASPAR matrix {matrix_id!r} not found in {release}")
    counts = np.array([motif.counts[b] for b in "ACGT"], dtype=np.float64)
    return str(motif.name), _normalise(counts, f"JASPAR {matrix_id}")


def load_motif(spec: str) -> tuple[str, np.ndarray]:
    """Load a motif from a spec (see the module docstring); returns ``(name, pwm (4, W))``.

    ENCODE motifs keep their name; JASPAR motifs are named ``<matrix_id>_<TF>``, e.g. ``MA0363.2_REB1``.
    """
    if spec.lower().startswith("jaspar:"):
        parts = spec.split(":")[1:]
        if len(parts) not in (1, 2) or not all(parts):
            raise CisflowError(
                f"bad JASPAR motif spec {spec!r}; expected jaspar:MA0363.2 or jaspar:JASPAR2024:MA0363.2"
            )
        release, matrix_id = (DEFAULT_JASPAR_RELEASE, parts[0]) if len(parts) == 1 else parts
        tf, pwm = load_jaspar_motif(matrix_id, release)
        return f"{matrix_id}_{tf}", pwm
    name = spec[len("encode:") :] if spec.lower().startswith("encode:") else spec
    return name, load_encode_motif(name)


def log_odds(
    pwm: np.ndarray, background: tuple[float, float, float, float] = (0.25,) * 4, pseudocount: float = 1e-3
) -> np.ndarray:
    """Log-odds matrix in bits: ``log2(((p + pc) / (1 + 4 pc)) / bg)``, shape ``(4, W)``."""
    pwm = _normalise(pwm)
    bg = np.asarray(background, dtype=np.float64)
    if bg.shape != (4,) or (bg <= 0).any():
        raise CisflowError(f"background must be 4 positive frequencies (A C G T), got {background}")
    probs = (pwm + pseudocount) / (1.0 + 4.0 * pseudocount)
    return np.log2(probs / (bg / bg.sum())[:, None])


def scan_log_odds(codes: np.ndarray, logodds: np.ndarray) -> np.ndarray:
    """Log-odds score of every window on both strands.

    Parameters
    ----------
    codes
        uint8 codes ``(N, L)`` (or ``(L,)``, treated as ``N = 1``).
    logodds
        ``(4, W)`` log-odds matrix, e.g. from :func:`log_odds`.

    Returns
    -------
    numpy.ndarray
        float32 ``(N, 2, L - W + 1)``: ``[:, 0, j]`` scores the window ``[j, j + W)`` read on the
        '+' strand, ``[:, 1, j]`` the same window read on the '-' strand (the motif's reverse
        complement). An N base contributes 0 on both strands, so the score equals the dot product
        of the log-odds with the one-hot encoding (where N is all zeros).
    """
    codes = np.atleast_2d(np.asarray(codes))
    lo = np.asarray(logodds, dtype=np.float32)
    if lo.ndim != 2 or lo.shape[0] != 4:
        raise CisflowError(f"log-odds matrix must have shape (4, W), got {lo.shape}")
    width, length = lo.shape[1], codes.shape[1]
    if length < width:
        raise CisflowError(f"sequences ({length} bp) are shorter than the motif ({width} bp)")
    out = np.zeros((codes.shape[0], 2, length - width + 1), dtype=np.float32)
    for strand, mat in enumerate((lo, lo[::-1, ::-1])):
        table = np.vstack([mat, np.zeros((1, width), dtype=np.float32)])  # row 4: N scores 0
        for w in range(width):
            out[:, strand] += table[codes[:, w : w + length - width + 1], w]
    return out


def max_log_odds(codes: np.ndarray, logodds: np.ndarray) -> np.ndarray:
    """Best log-odds score over all windows and both strands, float32 ``(N,)``."""
    return scan_log_odds(codes, logodds).max(axis=(1, 2))


def sample_from_pwm(pwm: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` independent instances of a PWM, each base from its column: uint8 ``(n, W)``."""
    cdf = np.cumsum(_normalise(pwm), axis=0)[:3]  # (3, W); the 4th bound is 1
    u = rng.random((n, cdf.shape[1]))
    return (u[:, None, :] >= cdf[None]).sum(axis=1).astype(np.uint8)


def write_meme(path: str | Path, motifs: Mapping[str, np.ndarray], nsites: int = 20) -> None:
    """Write PWMs ``{name: (4, W)}`` in MEME minimal text format (version 4), atomically."""
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", ""]
    lines += ["Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for name, pwm in motifs.items():
        if not name or any(c.isspace() for c in name):
            raise CisflowError(f"motif name {name!r} must be non-empty without whitespace", path)
        pwm = _normalise(pwm, path)
        lines.append(f"MOTIF {name}")
        lines.append(f"letter-probability matrix: alength= 4 w= {pwm.shape[1]} nsites= {nsites} E= 0")
        lines += [" ".join(f"{p:.6f}" for p in col) for col in pwm.T]
        lines.append("")
    with atomic_open(path) as handle:
        handle.write("\n".join(lines) + "\n")


_MATRIX = re.compile(r"letter-probability matrix:.*?w=\s*(\d+)")


def load_motifs(specs: str | Sequence[str]) -> dict[str, np.ndarray]:
    """``{name: PWM (4, W)}`` of motif specs in order (module docstring): a MEME file gives every motif in it
    (none, with a warning, when it has none: de novo discovery writes such a file when nothing is enriched), any
    other spec one motif (:func:`load_motif`). A name given twice is an error."""
    motifs: dict[str, np.ndarray] = {}
    for spec in [specs] if isinstance(specs, str) else specs:
        spec = str(spec)
        if spec.lower().endswith(".meme"):
            named = list(read_meme(spec, allow_empty=True).items())
            if not named:
                log.warning("motif file %s holds no motifs", spec)
        else:
            named = [load_motif(spec)]
        for name, pwm in named:
            if name in motifs:
                raise CisflowError(f"motif {name!r} ({spec}) is given twice")
            motifs[name] = pwm
    return motifs


def read_meme(path: str | Path, allow_empty: bool = False) -> dict[str, np.ndarray]:
    """Read a MEME text file into ``{name: (4, W)}`` (DNA alphabet ACGT); a file without motifs is an error
    unless ``allow_empty``."""
    lines = read_text_lines(require_file(path, "MEME file"))
    if not any(line.startswith("MEME version") for line in lines[:50]):
        raise CisflowError("not a MEME motif file (no 'MEME version' line)", path)
    motifs: dict[str, np.ndarray] = {}
    name = None
    for i, line in enumerate(lines):
        if line.startswith("MOTIF"):
            name = (line.split()[1:] or [""])[0]
        match = _MATRIX.match(line.strip())
        if match:
            width = int(match.group(1))
            rows = [r.split() for r in lines[i + 1 : i + 1 + width]]
            try:
                mat = np.array(rows, dtype=np.float64)
            except ValueError as exc:
                raise CisflowError(f"line {i + 2}: bad matrix rows for motif {name!r}", path) from exc
            if name is None or mat.shape != (width, 4):
                raise CisflowError(f"line {i + 1}: motif {name!r} matrix is not {width} rows of 4", path)
            motifs[name] = _normalise(mat.T, path)
    if not motifs and not allow_empty:
        raise CisflowError("no motifs found", path)
    return motifs


def consensus_codes(pwm: np.ndarray) -> np.ndarray:
    """The most probable base at each position, uint8 codes ``(W,)``."""
    return _normalise(pwm).argmax(axis=0).astype(np.uint8)


# ---------------------------------------------------------------------------------------------- comparing motifs


def tomtom(queries: list[np.ndarray], targets: list[np.ndarray], n_jobs: int = -1) -> dict[str, np.ndarray]:
    """TOMTOM (memelite) of every query PWM against every target PWM, both orientations.

    Parameters
    ----------
    queries, targets
        PWMs ``(4, W)`` float64 (columns summing to 1).
    n_jobs
        memelite's worker count (-1: all cores).

    Returns
    -------
    dict
        ``p`` (p-values), ``offset``, ``overlap`` and ``strand`` (1 = the target's reverse complement),
        each ``(n_queries, n_targets)``. ImportError when memelite is not installed.
    """
    from memelite import tomtom as memelite_tomtom

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, _scores, offsets, overlaps, strands = memelite_tomtom(list(queries), list(targets), n_jobs=n_jobs)
    return {"p": p, "offset": offsets, "overlap": overlaps, "strand": strands}


def benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values along the last axis of ``pvalues`` (monotone, capped at 1), same shape."""
    p = np.asarray(pvalues, dtype=np.float64)
    n = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1) * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1]
    out = np.empty_like(q)
    np.put_along_axis(out, order, np.minimum(q, 1.0), axis=-1)
    return out
