"""In-silico experiments on profile models (BPNet's "in-silico biochemistry").

- :func:`marginal_footprint`: a motif inserted at the centre of dinucleotide-shuffled backgrounds; the
  mean predicted profile with and without it gives its footprint and its marginal effect on counts.
  Each sequence is also predicted reverse complemented (the prediction flipped back, strands swapped),
  as chrombpnet's footprinting does.
- :func:`spacing_curve`: two motifs at every spacing and orientation; the counts of the pair against
  those of each motif alone give a cooperativity curve.
- :func:`ablate_instances`: motif instances in real sequences replaced by shuffles of themselves
  ("in-silico CRISPR"); the change in predicted counts and profile is their effect in context.

Sequences are uint8 genome codes ``(N, L_in)``; motifs are ACGT strings or codes. Predicted expected
counts per base are ``softmax(profile) · (exp(log counts) − 1)``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from torch import nn

from cisflow.errors import CisflowError
from cisflow.genome import encode, reverse_complement_codes
from cisflow.profile.metrics import jensen_shannon, softmax_profile
from cisflow.profile.predict import expected_counts, predict_profile
from cisflow.simulate import dinucleotide_shuffle

log = logging.getLogger(__name__)

#: Tn5 sequences whose footprint chrombpnet checks in a bias-corrected model (its motif_to_pwm.ATAC.tsv).
TN5_MOTIFS = {
    "tn5_1": "GCACAGTACAGAGCTG",
    "tn5_2": "GTGCACAGTTCTAGAGTGTGCAG",
    "tn5_3": "CCTCTACACTGTGCAGAA",
    "tn5_4": "GCACAGTTCTAGACTGTGCAG",
    "tn5_5": "CTGCACAGTGTAGAGTTGTGC",
}
#: DNase-I sequences chrombpnet checks likewise (its motif_to_pwm.DNASE.tsv).
DNASE_MOTIFS = {"dnase_1": "TTTACAAGTCCA", "dnase_2": "TGTACTTACGAA"}
#: chrombpnet's pass mark for a corrected model: the footprint's maximum stays below 3× a flat profile
#: (0.003 on its 1,000-bp output).
FLAT_MULTIPLE = 3.0


def _codes(motif: str | np.ndarray) -> np.ndarray:
    return encode(motif) if isinstance(motif, str) else np.asarray(motif, dtype=np.uint8)


def shuffled_backgrounds(codes: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` dinucleotide shuffles of sequences drawn (with replacement) from ``codes`` ``(M, L)``: ``(n, L)``."""
    codes = np.asarray(codes)
    if len(codes) == 0:
        raise CisflowError("no sequences to shuffle into backgrounds")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(codes), size=n)
    return np.stack([dinucleotide_shuffle(codes[i], rng) for i in picks])


def insert(codes: np.ndarray, motif: str | np.ndarray, center: int, strand: str = "+") -> np.ndarray:
    """A copy of ``codes`` ``(N, L)`` with ``motif`` (reverse complemented on ``-``) centred at ``center``."""
    m = _codes(motif)
    m = m if strand == "+" else reverse_complement_codes(m)
    start = center - len(m) // 2
    if start < 0 or start + len(m) > codes.shape[1]:
        raise CisflowError(f"a {len(m)} bp motif centred at {center} does not fit in {codes.shape[1]} bp")
    out = np.array(codes, copy=True)
    out[:, start : start + len(m)] = m
    return out


def predict_both_strands(model: nn.Module, codes: np.ndarray, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Expected counts per base ``(N, T, S, L_out)`` and in total ``(N, T)``, averaged over the sequence and its RC.

    The reverse complement's profile is reversed along the sequence with its strands swapped first;
    counts are averaged as counts (not as logs), so effects that add up stay additive.
    """
    fwd = predict_profile(model, codes, **kwargs)
    rev = predict_profile(model, reverse_complement_codes(codes), **kwargs)
    counts = (expected_counts(*fwd) + expected_counts(*rev)[:, :, ::-1, ::-1]) / 2
    return counts, (np.expm1(fwd[1].astype(np.float64)) + np.expm1(rev[1].astype(np.float64))) / 2


def marginal_footprint(
    model: nn.Module, backgrounds: np.ndarray, motif: str | np.ndarray, strand: str = "+", **kwargs
) -> dict[str, np.ndarray | float]:
    """The footprint and marginal effect of ``motif`` inserted at the centre of ``backgrounds``.

    Parameters
    ----------
    model
        A profile model.
    backgrounds
        Codes ``(N, L_in)``, e.g. :func:`shuffled_backgrounds`.
    motif, strand
        The motif and its orientation.
    **kwargs
        Passed to :func:`cisflow.profile.predict.predict_profile` (``device``, ``batch_size``, ``head``).

    Returns
    -------
    dict
        ``with`` / ``without``: mean expected counts ``(T, S, L_out)``; ``normalised``: the mean over
        sequences of each one's with-motif profile scaled to sum 1, ``(T, S, L_out)`` (chrombpnet's
        footprint); ``log_counts_with`` / ``log_counts_without``: ``log(1 + mean total)`` ``(T,)``;
        ``log2_fold_change`` ``(T,)`` of the mean predicted totals.
    """
    with_motif = insert(backgrounds, motif, backgrounds.shape[1] // 2, strand)
    counts_with, total_with = predict_both_strands(model, with_motif, **kwargs)
    counts_without, total_without = predict_both_strands(model, backgrounds, **kwargs)
    flat = counts_with.reshape(*counts_with.shape[:2], -1)
    normalised = (flat / np.maximum(flat.sum(axis=-1, keepdims=True), 1e-12)).reshape(counts_with.shape).mean(axis=0)
    total_with, total_without = total_with.mean(axis=0), total_without.mean(axis=0)
    return {
        "with": counts_with.mean(axis=0),
        "without": counts_without.mean(axis=0),
        "normalised": normalised,
        "log_counts_with": np.log1p(total_with),
        "log_counts_without": np.log1p(total_without),
        "log2_fold_change": np.log2(np.maximum(total_with, 1e-9) / np.maximum(total_without, 1e-9)),
    }


def footprint_check(model: nn.Module, backgrounds: np.ndarray, motifs: dict[str, str], **kwargs) -> pd.DataFrame:
    """chrombpnet's enzyme check: each motif's normalised footprint maximum against 3× a flat profile.

    Returns one row per motif: ``motif``, ``max_footprint``, ``threshold`` (``3 / (S · L_out)``) and
    ``passed`` (maximum below it: the model has no enzyme footprint left).
    """
    rows = []
    for name, seq in motifs.items():
        fp = marginal_footprint(model, backgrounds, seq, **kwargs)["normalised"]
        threshold = FLAT_MULTIPLE / (fp.shape[1] * fp.shape[2])
        rows.append({"motif": name, "max_footprint": float(fp.max()), "threshold": threshold,
                     "passed": bool(fp.max() < threshold)})  # fmt: skip
    return pd.DataFrame(rows)


def _pair(codes: np.ndarray, a: np.ndarray, b: np.ndarray, spacing: int, orientation: str) -> np.ndarray:
    """``a`` centred at the middle (strand ``orientation[0]``) and ``b`` ``spacing`` bp to its right."""
    mid = codes.shape[1] // 2
    return insert(insert(codes, a, mid, orientation[0]), b, mid + spacing, orientation[1])


def spacing_curve(
    model: nn.Module,
    backgrounds: np.ndarray,
    motif_a: str | np.ndarray,
    motif_b: str | np.ndarray,
    spacings: Sequence[int],
    orientations: Sequence[str] = ("++", "+-", "-+", "--"),
    **kwargs,
) -> pd.DataFrame:
    """Predicted counts of ``motif_a`` + ``motif_b`` at every spacing and orientation.

    ``spacing`` is the offset of B's centre from A's (bp, positive to the right); ``orientation`` gives
    each motif's strand (``+-``: A forward, B reverse complemented). Spacings that make the motifs
    overlap are skipped.

    Returns
    -------
    pandas.DataFrame
        One row per (orientation, spacing, task): ``counts_pair``, ``counts_a``, ``counts_b``,
        ``counts_none`` (mean predicted total counts) and ``cooperativity`` =
        ``log2((pair − none) / ((a − none) + (b − none)))``: 0 when the pair adds up, > 0 for synergy.
    """
    a, b = _codes(motif_a), _codes(motif_b)
    mid, rows = backgrounds.shape[1] // 2, []

    def total(codes: np.ndarray) -> np.ndarray:
        return predict_both_strands(model, codes, **kwargs)[1].mean(axis=0)

    none = total(backgrounds)
    for orientation in orientations:
        alone_a = total(insert(backgrounds, a, mid, orientation[0]))
        for spacing in spacings:
            if abs(spacing) < (len(a) + len(b)) / 2:
                continue
            alone_b = total(insert(backgrounds, b, mid + spacing, orientation[1]))
            pair = total(_pair(backgrounds, a, b, spacing, orientation))
            excess = np.maximum((alone_a - none) + (alone_b - none), 1e-9)
            coop = np.log2(np.maximum(pair - none, 1e-9) / excess)
            rows += [{"orientation": orientation, "spacing": int(spacing), "task": t, "counts_pair": float(pair[t]),
                      "counts_a": float(alone_a[t]), "counts_b": float(alone_b[t]), "counts_none": float(none[t]),
                      "cooperativity": float(coop[t])} for t in range(len(none))]  # fmt: skip
    return pd.DataFrame(rows)


def find_instances(codes: np.ndarray, logodds: np.ndarray, threshold: float, window: int | None = None) -> pd.DataFrame:
    """Motif instances scoring at least ``threshold`` (bits) in ``codes`` ``(N, L)``, best strand per window.

    ``window`` limits them to the central ``window`` bp. Overlapping hits keep the best (greedy).
    Returns ``seq``, ``start``, ``end``, ``strand``, ``score``.
    """
    from cisflow.pwm import scan_log_odds

    scores = scan_log_odds(codes, logodds)
    width, length = logodds.shape[1], codes.shape[1]
    lo = 0 if window is None else (length - window) // 2
    hi = length - width + 1 if window is None else (length + window) // 2 - width + 1
    rows = []
    for seq in range(len(codes)):
        best = scores[seq].max(axis=0)[lo:hi]
        taken = np.zeros(len(best), dtype=bool)
        for j in np.argsort(-best):
            if best[j] < threshold:
                break
            if not taken[max(j - width + 1, 0) : j + width].any():
                taken[j] = True
                strand = "+" if scores[seq, 0, lo + j] >= scores[seq, 1, lo + j] else "-"
                rows.append((seq, lo + j, lo + j + width, strand, float(best[j])))
    return pd.DataFrame(rows, columns=["seq", "start", "end", "strand", "score"])


def ablate_instances(
    model: nn.Module, codes: np.ndarray, instances: pd.DataFrame, seed: int, n_shuffles: int = 4, **kwargs
) -> pd.DataFrame:
    """Effect of each instance in its own sequence: the instance replaced by ``n_shuffles`` shuffles of itself.

    Returns ``instances`` with ``delta_log_counts`` (mean ablated − original predicted log counts, task 0
    … as ``delta_log_counts_{t}`` for more tasks) and ``profile_jsd`` (JSD between the original and the
    mean ablated predicted profile, task 0).
    """
    rng = np.random.default_rng(seed)
    original = predict_profile(model, codes[instances["seq"].to_numpy()], **kwargs)
    ablated = np.repeat(codes[instances["seq"].to_numpy()], n_shuffles, axis=0)
    for i, row in enumerate(instances.itertuples()):
        piece = codes[row.seq, row.start : row.end]
        for k in range(n_shuffles):
            ablated[i * n_shuffles + k, row.start : row.end] = rng.permutation(piece)
    profile, log_counts = predict_profile(model, ablated, **kwargs)
    log_counts = log_counts.reshape(len(instances), n_shuffles, -1).mean(axis=1)
    probs = softmax_profile(profile)
    mean_probs = probs.reshape(len(instances), n_shuffles, *probs.shape[1:]).mean(axis=1)
    out = instances.copy()
    delta = log_counts - original[1]
    for t in range(delta.shape[1]):
        out["delta_log_counts" if t == 0 else f"delta_log_counts_{t}"] = delta[:, t]
    out["profile_jsd"] = jensen_shannon(softmax_profile(original[0])[:, 0], mean_probs[:, 0])
    return out
