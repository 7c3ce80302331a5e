"""The bias model's TF-MoDISco patterns judged against JASPAR and the enzyme's own insertion matrix.

Kept apart from :mod:`cisflow.profile.pipeline` because it needs the motif stage's toolchain (memelite,
pyjaspar: the ``motifs`` environment); the checks read its table (:func:`cisflow.profile.enzyme.tf_motif_check`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError
from cisflow.motifs import jaspar_matrices, match_motifs
from cisflow.profile.enzyme import ENZYME_NAME, PATTERN_COLUMNS, SITES_NAME
from cisflow.profile.io import write_table
from cisflow.pwm import DEFAULT_JASPAR_RELEASE, read_meme

log = logging.getLogger(__name__)


def classify_bias_patterns(
    patterns: Mapping[str, np.ndarray],
    enzyme: np.ndarray | None,
    jaspar: Mapping[str, np.ndarray],
    names: Mapping[str, str] | None = None,
    qvalue: float = 0.05,
) -> pd.DataFrame:
    """Which bias-model patterns are a TF motif and which the enzyme's own preference.

    One TOMTOM (:func:`cisflow.motifs.match_motifs`) of each pattern against the enzyme matrix and the
    JASPAR collection together, so both kinds of match are scored against the same null and the q-values
    (Benjamini–Hochberg over all targets) count the enzyme as one more target.

    - ``enzyme_like``: the enzyme matrix matches the pattern better than any JASPAR motif does
      (its p-value is the lowest of all targets);
    - ``tf_like``: the best JASPAR match is significant (q ≤ ``qvalue``) and the pattern is not enzyme-like.

    Parameters
    ----------
    patterns
        ``{name: PWM (4, W)}``, e.g. the trimmed TF-MoDISco patterns (``patterns.meme``).
    enzyme
        The enzyme's matrix ``(4, W)``: its preferred sites (:func:`cisflow.profile.enzyme.sites_matrix`); None
        when the cut sites show no preference (enzyme p / q NaN, no pattern enzyme-like).
    jaspar
        ``{matrix id: PWM}`` the patterns were matched with (:func:`cisflow.motifs.jaspar_matrices`).
    names
        ``{matrix id: TF name}`` for the table (the ids when None).

    Returns
    -------
    pandas.DataFrame
        One row per pattern, columns :data:`PATTERN_COLUMNS`.
    """
    if ENZYME_NAME in jaspar:
        raise CisflowError(f"a JASPAR matrix is named {ENZYME_NAME!r}, the enzyme's name")
    if not patterns:
        return pd.DataFrame(columns=PATTERN_COLUMNS)
    targets = dict(jaspar) if enzyme is None else {ENZYME_NAME: np.asarray(enzyme, dtype=np.float64), **jaspar}
    table = match_motifs(patterns, targets, top=len(targets))
    rows = []
    for name, hits in table.groupby("pattern", sort=False):
        is_enzyme = hits["target_id"] == ENZYME_NAME
        tf = hits[~is_enzyme].sort_values("pvalue", kind="stable").iloc[0]
        enz_p, enz_q = (
            float(hits.loc[is_enzyme, c].iloc[0]) if is_enzyme.any() else np.nan for c in ("pvalue", "qvalue")
        )
        significant = bool(tf["qvalue"] <= qvalue)
        enzyme_like = bool(enz_p < tf["pvalue"])  # False without an enzyme matrix (NaN)
        tf_name = (names or {}).get(tf["target_id"], tf["target_id"])
        rows.append([name, tf["target_id"], tf_name, float(tf["pvalue"]), float(tf["qvalue"]), enz_p, enz_q,
                     significant, enzyme_like, significant and not enzyme_like])  # fmt: skip
    return pd.DataFrame(rows, columns=PATTERN_COLUMNS)


def bias_pattern_table(
    matches_tsv: str | Path,
    patterns_meme: str | Path,
    enzyme_meme: str | Path,
    out_tsv: str | Path,
    *,
    release: str = DEFAULT_JASPAR_RELEASE,
    taxon: str | None = None,
    qvalue: float = 0.05,
) -> pd.DataFrame:
    """:func:`classify_bias_patterns` of a motif folder's patterns, written as ``bias_patterns.tsv`` and logged.

    ``matches_tsv`` (``jaspar_matches.tsv``, for the TF names; an empty one means no pattern) and ``patterns_meme``
    (the trimmed PWMs) come from the motif stage on the bias model's scores, ``enzyme_meme`` from
    :func:`cisflow.profile.pipeline.enzyme_matrix` (its ``enzyme_sites`` matrix is the one matched); ``release`` /
    ``taxon``: the motif stage's JASPAR.
    """
    matches = pd.read_csv(matches_tsv, sep="\t")
    enzyme = read_meme(enzyme_meme)
    if ENZYME_NAME not in enzyme:
        raise CisflowError(f"no motif named {ENZYME_NAME!r} (write it with enzyme_matrix)", enzyme_meme)
    patterns = read_meme(patterns_meme) if len(matches) else {}
    names = dict(zip(matches.get("target_id", []), matches.get("target_name", []), strict=True))
    if SITES_NAME not in enzyme:  # no significant preference at the cut sites: nothing to tell the enzyme by
        log.warning("%s has no %s matrix (no enzyme preference in the cut sites): every JASPAR match counts",
                    enzyme_meme, SITES_NAME)  # fmt: skip
    sites = enzyme.get(SITES_NAME)
    table = classify_bias_patterns(patterns, sites, jaspar_matrices(release, taxon), names, qvalue)
    for r in table.itertuples(index=False):
        kind = "TF" if r.tf_like else "enzyme" if r.enzyme_like else "neither"
        log.info("bias pattern %s: best JASPAR %s (p %.2g, q %.2g), enzyme matrix p %.2g (q %.2g): %s", r.pattern,
                 r.tf_name, r.tf_pvalue, r.tf_qvalue, r.enzyme_pvalue, r.enzyme_qvalue, kind)  # fmt: skip
    write_table(table, out_tsv)
    return table
