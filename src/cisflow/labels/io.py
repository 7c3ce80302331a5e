"""Label files: the labels npz (:data:`cisflow.artifacts.LABELS`), the DREAM challenge's label TSV, BED3 regions."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.artifacts import LABELS, read, write
from cisflow.errors import CisflowError, require_file
from cisflow.io import atomic_open
from cisflow.labels.bins import Labels

log = logging.getLogger(__name__)


LETTERS = np.array(["A", "U", "B"])  # indexed by label + 1
_TSV_BLOCK = 1 << 20  # bins written to the DREAM TSV at a time


def save_labels(labels: Labels, path: str | Path) -> None:
    """Save labels as the :data:`cisflow.artifacts.LABELS` npz, atomically (no pickles).

    Chromosomes are concatenated: ``labels`` int8 ``(total_bins, T)``, ``keep`` bit-packed, with
    ``chroms``, ``sizes`` and ``n_bins`` ``(C,)`` to split them again.
    """
    chroms = labels.chroms
    mats = [labels.labels[c] for c in chroms]
    keep = np.concatenate([labels.keep[c] for c in chroms]) if chroms else np.zeros(0, bool)
    write(
        path,
        LABELS,
        {
            "tasks": np.array(labels.tasks, dtype=str),
            "chroms": np.array(chroms, dtype=str),
            "sizes": np.array([labels.chrom_sizes[c] for c in chroms], dtype=np.int64),
            "n_bins": np.array([m.shape[0] for m in mats], dtype=np.int64),
            "bin_size": labels.bin_size,
            "stride": labels.stride,
            "mode": np.array(labels.mode),
            "labels": np.concatenate(mats) if mats else np.zeros((0, len(labels.tasks)), np.int8),
            "keep": np.packbits(keep),
            "params": np.array(json.dumps(labels.params)),
        },
    )
    log.info("saved labels to %s", path)


def load_labels(path: str | Path) -> Labels:
    """Load labels written by :func:`save_labels` (:data:`cisflow.artifacts.LABELS`, checked)."""
    d = read(path, LABELS, what="labels file")
    chroms = [str(c) for c in d["chroms"]]
    bounds = np.r_[0, np.cumsum(d["n_bins"])]
    keep = np.unpackbits(d["keep"], count=int(bounds[-1])).astype(bool)
    return Labels(
        tasks=[str(t) for t in d["tasks"]],
        bin_size=int(d["bin_size"]),
        stride=int(d["stride"]),
        chrom_sizes={c: int(s) for c, s in zip(chroms, d["sizes"], strict=True)},
        labels={c: d["labels"][bounds[i] : bounds[i + 1]] for i, c in enumerate(chroms)},
        keep={c: keep[bounds[i] : bounds[i + 1]] for i, c in enumerate(chroms)},
        mode=str(d["mode"]),
        params=json.loads(str(d["params"])),
    )


def export_dream_tsv(labels: Labels, path: str | Path) -> None:
    """Write the DREAM label TSV (gzip if ``path`` ends in .gz), kept bins only, atomically.

    Header ``chr start stop TASK…``; one row per kept bin with ``B`` (bound), ``A`` (ambiguous) or
    ``U`` (unbound) per task; tab-separated, 0-based half-open like the challenge's files.
    """
    with atomic_open(path) as handle:
        handle.write("\t".join(["chr", "start", "stop", *labels.tasks]) + "\n")
        for chrom in labels.chroms:
            rows = np.flatnonzero(labels.keep[chrom])
            for lo in range(0, rows.size, _TSV_BLOCK):  # a block of bins at a time: bounded on any chromosome
                block = rows[lo : lo + _TSV_BLOCK]
                starts = block.astype(np.int64) * labels.stride
                frame = pd.DataFrame({"chr": chrom, "start": starts, "stop": starts + labels.bin_size})
                letters = LETTERS[labels.labels[chrom][block].astype(np.int64) + 1]
                for j, task in enumerate(labels.tasks):
                    frame[task] = letters[:, j]
                frame.to_csv(handle, sep="\t", header=False, index=False)
    log.info("wrote DREAM label TSV %s", path)


def read_bed3(path: str | Path) -> pd.DataFrame:
    """Read the first three columns of a (gzipped) BED file as ``chrom start end``."""
    from cisflow.io import read_text_lines

    rows = []
    for i, line in enumerate(read_text_lines(require_file(path, "BED file")), 1):
        if not line.strip() or line.startswith(("track", "browser", "#")):
            continue
        f = line.split("\t") if "\t" in line else line.split()
        try:
            rows.append((f[0], int(f[1]), int(f[2])))
        except (IndexError, ValueError) as exc:
            raise CisflowError(f"line {i}: expected 'chrom<TAB>start<TAB>end'", path) from exc
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])
