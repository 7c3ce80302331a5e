"""Profile datasets: sequence, count and control windows of regions, and training batches from them.

A dataset (a dict, saved by :func:`cisflow.profile.io.save_dataset`) holds, for N regions:

- ``codes`` uint8 ``(N, L_in + 2J)``: genome codes of the input window widened by the jitter J;
- ``counts`` float32 ``(N, T, S, L_out + 2J)``: counts per base of each task's strand tracks;
- ``control`` float32 ``(N, C, L_in + 2J)`` (optional): control tracks (C = 2: + and − strand);
- ``chrom``, ``center`` (the windows' middle base), ``is_peak``, ``tasks`` ``(T,)``, ``strands`` ``(S,)``;
- ``input_length``, ``output_length``, ``jitter`` (ints).

Training batches crop each window at a random offset in ``[−J, J]`` (jitter) and reverse-complement
half of them: the sequence is reverse complemented, counts and control are reversed along the
sequence and their strands swapped (+ ↔ −).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from cisflow.genome import one_hot, reverse_complement_codes
from cisflow.profile.tracks import read_windows

log = logging.getLogger(__name__)


def extract_dataset(
    genome,
    regions: pd.DataFrame,
    tracks: Mapping[str, Sequence[str]],
    control: Sequence[str],
    input_length: int,
    output_length: int,
    jitter: int,
    strands: Sequence[str],
) -> dict[str, np.ndarray]:
    """Windows of every region: codes, counts per task and strand, control (see the module docstring).

    Parameters
    ----------
    genome
        A :class:`cisflow.genome.Genome`.
    regions
        ``chrom``, ``center``, ``is_peak`` (see :mod:`cisflow.profile.regions`).
    tracks
        ``{task: [bigWig per strand]}`` (counts per base).
    control
        Control bigWigs (one per strand, or none).
    input_length, output_length, jitter
        Window geometry in bp.
    strands
        Strand names of the tracks (``+``, ``-`` or ``.``).
    """
    chroms, centers = regions["chrom"].astype(str).to_numpy(), regions["center"].to_numpy(np.int64)
    n_in, n_out = input_length + 2 * jitter, output_length + 2 * jitter
    counts = np.stack(
        [read_windows(paths, chroms, centers - n_out // 2, n_out) for paths in tracks.values()], axis=1
    ) if len(regions) else np.zeros((0, len(tracks), len(strands), n_out), np.float32)  # fmt: skip
    data = {
        "codes": genome.fetch_many(chroms, centers - n_in // 2, n_in),
        "counts": counts.astype(np.float32),
        "chrom": chroms.astype(str),
        "center": centers,
        "is_peak": regions["is_peak"].to_numpy(bool),
        "tasks": np.array(list(tracks), dtype=str),
        "strands": np.array(list(strands), dtype=str),
        "input_length": np.int64(input_length),
        "output_length": np.int64(output_length),
        "jitter": np.int64(jitter),
    }
    if control:
        data["control"] = read_windows(control, chroms, centers - n_in // 2, n_in)
    return data


def crop(data: Mapping[str, np.ndarray], rows: np.ndarray, offsets: np.ndarray) -> dict[str, np.ndarray]:
    """Windows of ``rows`` cropped at ``offsets`` (``0 … 2J``; ``J`` is the centre): codes, counts, control."""
    n_in, n_out = int(data["input_length"]), int(data["output_length"])
    pos_in, pos_out = offsets[:, None] + np.arange(n_in), offsets[:, None] + np.arange(n_out)
    out = {
        "codes": np.take_along_axis(data["codes"][rows], pos_in, axis=1),
        "counts": np.take_along_axis(data["counts"][rows], pos_out[:, None, None, :], axis=3),
    }
    if "control" in data:
        out["control"] = np.take_along_axis(data["control"][rows], pos_in[:, None, :], axis=2)
    return out


def centered(data: Mapping[str, np.ndarray], rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The unjittered (central) windows of ``rows`` (all rows by default)."""
    rows = np.arange(len(data["codes"])) if rows is None else np.asarray(rows)
    return crop(data, rows, np.full(len(rows), int(data["jitter"]), dtype=np.int64))


def reverse_complement_batch(batch: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Reverse complement of a cropped batch: codes RC, counts and control reversed with strands swapped."""
    out = {"codes": reverse_complement_codes(batch["codes"]), "counts": batch["counts"][:, :, ::-1, ::-1]}
    if "control" in batch:
        out["control"] = batch["control"][:, ::-1, ::-1]
    return out


def to_tensors(batch: Mapping[str, np.ndarray], device: torch.device) -> tuple[torch.Tensor, ...]:
    """``(x (B, 4, L_in), control (B, C, L_in) or None, counts (B, T, S, L_out))`` float32 on ``device``."""
    x = torch.from_numpy(one_hot(np.ascontiguousarray(batch["codes"]))).to(device)
    ctl = batch.get("control")
    ctl = None if ctl is None else torch.from_numpy(np.ascontiguousarray(ctl, dtype=np.float32)).to(device)
    counts = torch.from_numpy(np.ascontiguousarray(batch["counts"], dtype=np.float32)).to(device)
    return x, ctl, counts


def epoch_rows(is_peak: np.ndarray, background_ratio: float | None, rng: np.random.Generator) -> np.ndarray:
    """Rows of one epoch, shuffled: every peak plus ``background_ratio`` × as many background rows (all if None)."""
    peaks, background = np.flatnonzero(is_peak), np.flatnonzero(~is_peak)
    if background_ratio is not None:
        n = min(len(background), round(background_ratio * len(peaks)))
        background = rng.choice(background, size=n, replace=False)
    return rng.permutation(np.concatenate([peaks, background]))


class ProfileBatches:
    """Training batches of a profile dataset with jitter and reverse-complement augmentation.

    Epoch ``e`` is drawn from ``default_rng([seed, e])``, so a resumed run sees the same batches.

    Parameters
    ----------
    data
        A dataset (module docstring).
    batch_size
        Regions per batch.
    reverse_complement
        Reverse-complement a random half of every batch (strands swapped).
    background_ratio
        Background regions per peak in each epoch (fresh ones each epoch); None: all of them.
    seed
        Seeds sampling, jitter and flips.
    """

    def __init__(
        self,
        data: Mapping[str, np.ndarray],
        batch_size: int,
        reverse_complement: bool,
        background_ratio: float | None,
        seed: int,
    ) -> None:
        self.data, self.batch_size, self.rc = data, int(batch_size), bool(reverse_complement)
        self.background_ratio, self.seed, self.epoch = background_ratio, int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        """Draw the batches of ``epoch`` on the next iteration."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        rows = epoch_rows(self.data["is_peak"], self.background_ratio, rng)
        jitter = int(self.data["jitter"])
        for start in range(0, len(rows), self.batch_size):
            idx = rows[start : start + self.batch_size]
            batch = crop(self.data, idx, rng.integers(0, 2 * jitter + 1, size=len(idx)))
            if self.rc:
                flip = rng.random(len(idx)) < 0.5
                flipped = reverse_complement_batch({k: v[flip] for k, v in batch.items()})
                for key, value in flipped.items():
                    batch[key][flip] = value
            yield batch


def subset(data: Mapping[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """The dataset restricted to ``rows`` (per-region arrays indexed, the rest kept)."""
    per_region = ("codes", "counts", "control", "chrom", "center", "is_peak")
    return {k: (np.asarray(v)[rows] if k in per_region else v) for k, v in data.items()}


def region_totals(data: Mapping[str, np.ndarray]) -> np.ndarray:
    """Total counts ``(N, T)`` of each region's central output window."""
    counts = centered(data)["counts"]
    return counts.reshape(*counts.shape[:2], -1).sum(axis=-1)
