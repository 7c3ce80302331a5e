"""Why a variant scores: ISM around it and DeepSHAP of both alleles, cropped to a window at the variant.

For each explained variant and task, on the reference and the alternate window:

- ``ism``: in-silico saturation mutagenesis of the ``2 · flank`` bases around the variant (the model's
  output for every other base at each position minus its output for the allele's window), from whole
  forward passes on those mutants only; the logo shows at each position the allele's base with height
  minus the mean of its three mutations' effects (how much that base matters);
- ``deepshap``: DeepSHAP contributions (:func:`cisflow.interpret.deepshap_scores`, dinucleotide-shuffled
  references) of the same output over the whole window, cropped alike.

The output explained is the task's logit for a classifier and the scored head's log counts for a
profile model (:meth:`cisflow.variants.scorers.VariantScorer.explainer`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from cisflow.genome import Genome, one_hot
from cisflow.interpret import deepshap_scores
from cisflow.interpret._common import task_logits
from cisflow.variants.alleles import Allele
from cisflow.variants.scorers import VariantScorer
from cisflow.variants.windows import allele_windows, centre, fetch_segments

log = logging.getLogger(__name__)


def window_ism(
    model: nn.Module, x: torch.Tensor, output: int, lo: int, hi: int, device: torch.device, batch_size: int = 256
) -> np.ndarray:
    """ISM of positions ``[lo, hi)``: ``f(mutant) − f(x)`` float32 ``(N, 4, hi − lo)``, 0 at each sequence's own base.

    Parameters
    ----------
    model
        Maps one-hot ``(B, 4, L)`` to outputs ``(B, K)``.
    x
        One-hot float32 ``(N, 4, L)`` on the CPU.
    output
        Output column scored.
    lo, hi
        Positions mutated (clipped to the sequence).
    """
    lo, hi = max(lo, 0), min(hi, x.shape[2])
    ref = task_logits(model, x, output, batch_size, device)
    eye = torch.eye(4)
    pos, base = torch.arange(lo, hi).repeat_interleave(4), torch.arange(4).repeat(hi - lo)
    out = np.zeros((len(x), 4, hi - lo), np.float32)
    for n in range(len(x)):
        mutants = x[n].expand(len(pos), 4, x.shape[2]).clone()
        mutants[torch.arange(len(pos)), :, pos] = eye[base]
        delta = task_logits(model, mutants, output, batch_size, device) - ref[n]
        out[n, base, pos - lo] = delta.numpy()
    out[x[:, :, lo:hi].numpy() == 1] = 0.0
    return out


def ism_importance(ism: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Logo heights ``(N, 4, W)``: the present base gets minus the mean effect of its 3 mutations."""
    mean_mutation = ism.sum(axis=1, keepdims=True) / 3
    return (-mean_mutation * x).astype(np.float32)


def explain_alleles(
    scorer: VariantScorer,
    genome: Genome,
    alleles: Sequence[Allele],
    tasks: Sequence[int],
    flank: int = 30,
    n_references: int = 20,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """ISM and DeepSHAP of each allele's reference and alternate window for its task, around the variant.

    Parameters
    ----------
    scorer
        The variant scorer (its model, device and explained output).
    genome
        The genome the variants are on.
    alleles, tasks
        The variants to explain and the task index of each.
    flank
        Bases kept on each side of the variant's first base (window ``2 · flank``).
    n_references, seed
        DeepSHAP's shuffled references per sequence and their seed.

    Returns
    -------
    dict
        ``x_ref``, ``x_alt`` (one-hot), ``deepshap_ref``, ``deepshap_alt`` (contributions),
        ``ism_ref``, ``ism_alt`` (effects), each ``(k, 4, 2 · flank)`` float32, plus ``task`` ``(k,)``.
    """
    length = scorer.input_length
    ref, alt = allele_windows(fetch_segments(genome, alleles, length), alleles, length)
    lo, hi = centre(length) - flank, centre(length) + flank
    out = {
        f"{m}_{s}": np.zeros((len(alleles), 4, hi - lo), np.float32)
        for m in ("x", "deepshap", "ism")
        for s in ("ref", "alt")
    }
    for task in sorted(set(tasks)):
        rows = np.flatnonzero(np.asarray(tasks) == task)
        module, output = scorer.explainer(task)
        for side, codes in (("ref", ref[rows]), ("alt", alt[rows])):
            x = one_hot(codes)
            hyp, _ = deepshap_scores(module, x, output, n_references, seed, device=scorer.device)
            xt = torch.from_numpy(x)
            out[f"x_{side}"][rows] = x[:, :, lo:hi]
            out[f"deepshap_{side}"][rows] = (hyp * x)[:, :, lo:hi]
            out[f"ism_{side}"][rows] = window_ism(module, xt, output, lo, hi, scorer.device)
    out["task"] = np.asarray(tasks, dtype=np.int64)
    return out
