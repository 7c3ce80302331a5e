"""Benchmark: does a trained model read a known motif? Insert words into shuffled bound windows, print Δlogit.

For ``--n`` bound windows of a dataset (random rows with label 1 in ``--task``), each window is
dinucleotide-shuffled once (it keeps its GC and CpG content but loses its motifs); each word of the panel is
written at the window's centre and the model's logit (averaged over both strands) is compared with the
shuffled window's. A word the model reads as a binding site raises the logit; its own letters shuffled
(``<word> shuffled``) are the control for the word's composition. The panel: the consensus (argmax) of each
``--motifs`` JASPAR matrix (default ABF1 MA0265.3 and REB1 MA0363.3) and its shuffle, plus the CpG-rich
words the yeast demo's model read most (``--words``). Prints one row per word: mean Δlogit, its standard
error, and the fraction of windows where it rose.

    python benchmarks/motif_insertion.py --model results/train --data results/data/test.npz \
        --genome resources/yeast/sacCer3.fa.gz [--n 300] [--seed 1] [--task 0]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from cisflow.artifacts import read_dataset
from cisflow.genome import Genome, decode, encode, one_hot, reverse_complement_codes
from cisflow.loader import BinWindows
from cisflow.models import load_model
from cisflow.pwm import load_motif
from cisflow.simulate import dinucleotide_shuffle

WORDS = ("GCGCGCG", "CGCGGGG", "CGCGC")


def rc_logits(model: torch.nn.Module, codes: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Logits ``(N,)`` of task 0..T-1 averaged over both strands, for codes ``(N, L)``; ``(N, T)``."""
    out = []
    with torch.no_grad():
        for lo in range(0, len(codes), batch_size):
            c = codes[lo : lo + batch_size]
            fwd = model(torch.from_numpy(one_hot(c)))
            rev = model(torch.from_numpy(one_hot(reverse_complement_codes(c))))
            out.append(((fwd + rev) / 2).numpy())
    return np.concatenate(out)


def insert_centre(codes: np.ndarray, word: np.ndarray) -> np.ndarray:
    """Copy of codes ``(N, L)`` with ``word`` ``(W,)`` written at the centre of every row."""
    out, lo = codes.copy(), (codes.shape[1] - word.size) // 2
    out[:, lo : lo + word.size] = word
    return out


def panel(motifs: list[str], words: list[str], seed: int) -> list[tuple[str, str]]:
    """``(label, word)`` pairs: each motif's consensus and its letters shuffled, then the extra words."""
    rng, rows = np.random.default_rng(seed), []
    for spec in motifs:
        name, pwm = load_motif(spec)
        consensus = decode(pwm.argmax(axis=0).astype(np.uint8))
        rows += [(name, consensus), (f"{name} shuffled", "".join(rng.permutation(list(consensus))))]
    return rows + [(word, word) for word in words]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="model directory or model.json")
    ap.add_argument("--data", required=True, help="coordinate dataset npz (results/data/test.npz)")
    ap.add_argument("--genome", required=True)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--task", type=int, default=0)
    ap.add_argument("--motifs", nargs="*", default=["jaspar:MA0265.3", "jaspar:MA0363.3"])
    ap.add_argument("--words", nargs="*", default=list(WORDS))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, meta = load_model(args.model)
    data = read_dataset(args.data)
    bound = np.flatnonzero(data["labels"][:, args.task] == 1)
    rng = np.random.default_rng(args.seed)
    rows = np.sort(rng.choice(bound, size=min(args.n, bound.size), replace=False))
    windows = BinWindows(Genome.open(args.genome), data["chrom"][rows], data["bin_start"][rows],
                         int(data["input_length"]), int(data["bin_size"]))  # fmt: skip
    codes = windows.codes(0, rows.size)
    shuffled = np.stack([dinucleotide_shuffle(c, np.random.default_rng([args.seed, i])) for i, c in enumerate(codes)])
    base = rc_logits(model, shuffled)[:, args.task]
    genomic = rc_logits(model, codes)[:, args.task]
    print(f"model {args.model} ({meta['name']}), {rows.size} bound windows of {args.data}, task {args.task}")
    print(f"mean logit: genomic windows {genomic.mean():.3f}, their dinucleotide shuffles {base.mean():.3f}")
    print(f"{'word':<26}{'sequence':<22}{'mean dlogit':>12}{'sem':>8}{'rose':>7}")
    for label, word in panel(args.motifs, args.words, args.seed):
        delta = rc_logits(model, insert_centre(shuffled, encode(word)))[:, args.task] - base
        sem = delta.std(ddof=1) / np.sqrt(delta.size)
        print(f"{label:<26}{word:<22}{delta.mean():>12.3f}{sem:>8.3f}{(delta > 0).mean():>7.2f}")


if __name__ == "__main__":
    main()
