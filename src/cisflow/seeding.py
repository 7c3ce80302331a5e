"""Motif-seeded filters: the first convolution's first filters initialised from known motifs.

With a few hundred bound sequences a CNN's first layer can fail to find even a strong motif that a
PWM scan of the factor's known matrix finds at once. Seeding puts that prior knowledge into the
network (as Kelley et al. did for Basset, and many since): each known motif becomes two filters of
the first convolution, its forward and its reverse-complement strand; every other filter keeps its
random initialisation, and training moves all of them freely.

A seeded filter of width ``W`` holds the motif's log-odds matrix (bits against a uniform background,
pseudocount :data:`PSEUDOCOUNT`, each position centred to mean 0 so the filter ignores base
composition), trimmed to its ``W`` most informative central columns when the motif is wider and
centred in the filter when it is narrower (other positions 0). It is scaled so that the motif's best
match scores :data:`PEAK` and its bias is ``-PEAK / 2``: after the ReLU the filter fires only on
matches scoring more than half the best, like a thresholded PWM scan, while random filters start an
order of magnitude smaller. Extra input channels (signal tracks) get zero weights.

Motifs are loaded by :func:`cisflow.pwm.load_motifs`: JASPAR ids (``jaspar:MA0363.2``), names of the bundled
ENCODE collection (``REB1_known1``) and MEME files (every motif in them, e.g. the de novo seeds of
:mod:`cisflow.denovo`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from cisflow.errors import CisflowError

log = logging.getLogger(__name__)

#: Pseudocount (probability) of the seeded log-odds; 0.1 bounds a column's worst base near -2.6 bits.
PSEUDOCOUNT = 0.1
#: What a seeded filter's best match scores (before its bias of ``-PEAK / 2``).
PEAK = 3.0


def first_conv(model: nn.Module) -> nn.Conv1d:
    """The model's first ``Conv1d`` (in registration order): the layer that reads the one-hot input."""
    for module in model.modules():
        if isinstance(module, nn.Conv1d):
            return module
    raise CisflowError(f"model {type(model).__name__} has no convolution to seed with motifs")


def _centred_log_odds(pwm: np.ndarray) -> np.ndarray:
    """Log-odds ``(4, m)`` in bits (uniform background, :data:`PSEUDOCOUNT`), each column centred to mean 0."""
    pwm = np.asarray(pwm, dtype=np.float64)
    if pwm.ndim != 2 or pwm.shape[0] != 4 or pwm.shape[1] == 0 or (pwm < 0).any():
        raise CisflowError(f"a PWM must be a non-negative (4, W) matrix, got shape {pwm.shape}")
    probs = pwm / np.maximum(pwm.sum(axis=0, keepdims=True), 1e-12)
    lo = np.log2((probs + PSEUDOCOUNT) / (1.0 + 4 * PSEUDOCOUNT) / 0.25)
    return lo - lo.mean(axis=0, keepdims=True)


def _fit_width(lo: np.ndarray, width: int) -> np.ndarray:
    """``lo`` ``(4, m)`` placed centred in ``(4, width)`` zeros, or its most informative ``width`` columns."""
    m = lo.shape[1]
    if m <= width:
        out = np.zeros((4, width))
        start = (width - m) // 2
        out[:, start : start + m] = lo
        return out
    info = lo.max(axis=0)  # best base's centred score per column
    windows = np.convolve(info, np.ones(width), mode="valid")  # (m - width + 1,)
    start = int(np.argmax(windows))
    return lo[:, start : start + width]


def motif_filter(pwm: np.ndarray, width: int, in_channels: int = 4) -> tuple[np.ndarray, np.ndarray, float]:
    """A motif's forward and reverse-complement filters.

    Parameters
    ----------
    pwm
        ``(4, m)`` probabilities (rows A C G T).
    width
        Filter width ``W`` in bp.
    in_channels
        Input channels ``C >= 4`` (channels after the DNA get zero weights).

    Returns
    -------
    weight, bias, fraction
        float32 ``(2, C, W)`` (forward, reverse complement), float32 ``(2,)`` (``-PEAK / 2`` each), and the
        fraction of the motif's information the ``W`` columns keep (1.0 unless trimmed).
    """
    if in_channels < 4 or width < 1:
        raise CisflowError(f"cannot seed a filter with {in_channels} input channels and width {width}")
    lo = _centred_log_odds(pwm)
    fitted = _fit_width(lo, width)
    best = float(fitted.max(axis=0).sum())
    if best <= 0:
        raise CisflowError("a motif without information (every column uniform) cannot seed a filter")
    fitted = fitted * (PEAK / best)
    weight = np.zeros((2, in_channels, width), np.float32)
    weight[0, :4] = fitted
    weight[1, :4] = fitted[::-1, ::-1]  # complement = channels reversed (A C G T), positions reversed
    kept = float(lo.max(axis=0)[lo.max(axis=0) > 0].sum())
    fraction = best / kept if kept > 0 else 1.0
    return weight, np.full(2, -PEAK / 2, np.float32), min(fraction, 1.0)


@torch.no_grad()
def seed_filters(model: nn.Module, motifs: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """Overwrite the first convolution's first ``2 × len(motifs)`` filters with the motifs (in place).

    Parameters
    ----------
    model
        A sequence model (its first ``Conv1d`` is seeded, see :func:`first_conv`).
    motifs
        ``{name: PWM (4, m)}``; filter ``2k`` gets motif ``k``'s forward strand, ``2k + 1`` its reverse
        complement.

    Returns
    -------
    list of dict
        Per seeded filter: ``filter`` (index), ``motif``, ``strand`` (``+`` / ``-``), ``kept`` (fraction of the
        motif's information inside the filter), ``pwm_sha256`` (of the motif's matrix, 16 hex digits: a checkpoint
        seeded with other matrices of the same names, such as de novo seeds found again, is not resumed).
    """
    conv = first_conv(model)
    n_filters, in_channels, width = conv.weight.shape
    if 2 * len(motifs) > n_filters:
        raise CisflowError(
            f"{len(motifs)} motifs need {2 * len(motifs)} filters (both strands) but the first layer has {n_filters}"
        )
    seeded = []
    for k, (name, pwm) in enumerate(motifs.items()):
        weight, bias, kept = motif_filter(pwm, width, in_channels)
        conv.weight[2 * k : 2 * k + 2] = torch.from_numpy(weight).to(conv.weight)
        if conv.bias is not None:
            conv.bias[2 * k : 2 * k + 2] = torch.from_numpy(bias).to(conv.bias)
        if kept < 0.9:
            log.warning("motif %s is wider than the %d bp filters: they keep %.0f%% of its information", name, width,
                        100 * kept)  # fmt: skip
        digest = hashlib.sha256(np.ascontiguousarray(pwm, dtype=np.float64).tobytes()).hexdigest()[:16]
        seeded += [{"filter": 2 * k + s, "motif": name, "strand": "+-"[s], "kept": round(kept, 4), "pwm_sha256": digest}
                   for s in (0, 1)]  # fmt: skip
    log.info("first-layer filters seeded with %d motifs (both strands): %s", len(motifs), ", ".join(motifs))
    return seeded
