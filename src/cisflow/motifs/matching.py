"""TOMTOM matches (memelite) of discovered PWMs to JASPAR CORE or to given motifs, with BH q-values.

memelite's ``tomtom`` scores every query against every target (both orientations) with the
"complete" TOMTOM score on the PWMs' columns and gives a p-value per pair; its null is built
from the target columns, so a target set of fewer than 25 motifs is padded with decoys (JASPAR
CORE) for the p-values and the q-values, and only the requested targets are reported.
As TOMTOM does, E = p × number of targets and the q-value is the Benjamini–Hochberg
adjustment of each query's p-values over all its target comparisons (decoys included).
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError
from cisflow.pwm import DEFAULT_JASPAR_RELEASE, benjamini_hochberg, tomtom

log = logging.getLogger(__name__)

MATCH_COLUMNS = [
    "pattern",
    "rank",
    "target_id",
    "target_name",
    "pvalue",
    "evalue",
    "qvalue",
    "offset",
    "overlap",
    "orientation",
]
MIN_TARGETS = 25


@functools.lru_cache(maxsize=8)
def _jaspar_core(release: str, taxon: str | None) -> tuple[tuple[str, str, np.ndarray], ...]:
    """JASPAR CORE matrices (latest versions) of ``release`` / ``taxon``: ``(matrix_id, tf_name, pwm (4, W))``."""
    from pyjaspar import jaspardb

    releases = jaspardb().get_releases()
    if release not in releases:
        raise CisflowError(f"unknown JASPAR release {release!r}; pyjaspar has {', '.join(releases)}")
    db = jaspardb(release=release)
    groups = sorted(
        row[0] for row in db.conn.execute("SELECT DISTINCT VAL FROM MATRIX_ANNOTATION WHERE TAG='tax_group'")
    )
    if taxon is not None and taxon.lower() not in groups:
        raise CisflowError(f"unknown JASPAR taxon {taxon!r} in {release}; choose from {', '.join(groups)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        motifs = db.fetch_motifs(collection="CORE", tax_group=[taxon.lower()] if taxon else None)
    out = []
    for m in motifs:
        counts = np.array([m.counts[b] for b in "ACGT"], dtype=np.float64)
        out.append((str(m.matrix_id), str(m.name), counts / counts.sum(axis=0)))
    if not out:
        raise CisflowError(f"no JASPAR CORE matrices for taxon {taxon!r} in {release}")
    log.info("loaded %d JASPAR CORE matrices (%s, taxon %s)", len(out), release, taxon or "all")
    return tuple(out)


def jaspar_matrices(release: str = DEFAULT_JASPAR_RELEASE, taxon: str | None = None) -> dict[str, np.ndarray]:
    """JASPAR CORE PWMs ``{matrix_id: (4, W)}`` of a release, optionally of one pyjaspar tax_group (e.g. fungi)."""
    return {mid: pwm.copy() for mid, _, pwm in _jaspar_core(release, taxon)}


def _check_pwms(motifs: Mapping[str, np.ndarray], what: str) -> list[np.ndarray]:
    """``(4, W)`` float64 C-ordered copies, columns normalised; CisflowError on a bad shape."""
    out = []
    for name, pwm in motifs.items():
        pwm = np.asarray(pwm, dtype=np.float64)
        if pwm.ndim != 2 or pwm.shape[0] != 4 or pwm.shape[1] < 1 or (pwm < 0).any() or (pwm.sum(0) <= 0).any():
            raise CisflowError(f"{what} {name!r} must be a non-negative (4, W) PWM, got shape {pwm.shape}")
        out.append(np.ascontiguousarray(pwm / pwm.sum(axis=0)))
    if not out:
        raise CisflowError(f"no {what}s given")
    return out


def _alignment(res: dict[str, np.ndarray], i: int, j: int) -> list:
    """offset, overlap and orientation of query ``i`` on target ``j``."""
    return [int(res["offset"][i, j]), int(res["overlap"][i, j]), "-" if res["strand"][i, j] else "+"]


def _table(
    names: list[str], res: dict[str, np.ndarray], ids: list[str], labels: list[str], n_report: int, top: int
) -> pd.DataFrame:
    """Top ``top`` rows per query among the first ``n_report`` targets, q-values over all targets."""
    rows = []
    n_targets = res["p"].shape[1]
    for i, name in enumerate(names):
        p = np.clip(np.nan_to_num(res["p"][i], nan=1.0), 0.0, 1.0)
        q = benjamini_hochberg(p)
        order = np.argsort(p[:n_report], kind="stable")[:top]
        for rank, j in enumerate(order, 1):
            rows.append([name, rank, ids[j], labels[j], p[j], p[j] * n_targets, q[j], *_alignment(res, i, j)])
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)


def match_jaspar(
    patterns: Mapping[str, np.ndarray], release: str = DEFAULT_JASPAR_RELEASE, taxon: str | None = None, top: int = 5
) -> pd.DataFrame:
    """TOMTOM matches of PWMs to every JASPAR CORE matrix of a release (and taxon).

    Parameters
    ----------
    patterns
        ``{name: pwm (4, W)}`` query PWMs (e.g. trimmed modisco PWMs).
    release
        pyjaspar release, e.g. ``JASPAR2024``.
    taxon
        pyjaspar tax_group (``fungi``, ``vertebrates``, ``plants``, ``insects``, ...); None: all.
    top
        Rows kept per pattern, best p-value first.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MATCH_COLUMNS`: pattern, rank (1 = best), target_id (JASPAR matrix id),
        target_name (TF), pvalue, evalue (p × number of matrices), qvalue (BH over the matrices),
        offset, overlap (memelite's alignment of target to query), orientation (``-``: the target's
        reverse complement matched).
    """
    core = _jaspar_core(release, taxon)
    res = tomtom(_check_pwms(patterns, "pattern"), [pwm for _, _, pwm in core])
    ids, labels = [mid for mid, _, _ in core], [tf for _, tf, _ in core]
    return _table(list(patterns), res, ids, labels, len(core), top)


def match_motifs(
    patterns: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
    top: int = 5,
    decoys: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """TOMTOM matches of PWMs to given motifs (e.g. a simulation's own ``TAL1_known4``).

    With fewer than 25 targets and no ``decoys``, the JASPAR CORE matrices of the default release
    are added as decoys: they shape the p-value null and count in the q-values, but are not
    reported. Same columns as :func:`match_jaspar` (target_id = target_name = the target's key).
    """
    t_pwms = _check_pwms(targets, "target motif")
    if decoys is None and len(t_pwms) < MIN_TARGETS:
        decoys = jaspar_matrices(DEFAULT_JASPAR_RELEASE)
        log.info("padding %d target motif(s) with %d JASPAR decoys for TOMTOM's null", len(t_pwms), len(decoys))
    d_pwms = _check_pwms(decoys, "decoy motif") if decoys else []
    res = tomtom(_check_pwms(patterns, "pattern"), t_pwms + d_pwms)
    names = list(targets)
    return _table(list(patterns), res, names, names, len(t_pwms), top)
