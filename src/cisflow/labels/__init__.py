"""DREAM-style binned labels: per task, each genome bin is bound (1), ambiguous (-1) or unbound (0).

- :mod:`cisflow.labels.bins` — :class:`Labels` and the interval → bin-range arithmetic (overlaps, summits,
  covered bases, N counts per bin);
- :mod:`cisflow.labels.rules` — the labelling rules (``dream``, ``summit``, ``fraction``), the exclusion mask,
  :func:`make_labels` and :func:`label_summary`;
- :mod:`cisflow.labels.io` — the labels npz (:func:`save_labels`, :func:`load_labels`), the DREAM label TSV,
  BED3 regions;
- :mod:`cisflow.labels.pipeline` — the stage entry: :func:`labels_from_files` (peak files in, label files out).
"""

from cisflow.labels.bins import (
    Labels,
    check_input_length,
    covered_bases,
    merge_intervals,
    n_bins,
    n_counts_per_bin,
    overlap_counts,
    summit_counts,
)
from cisflow.labels.io import LETTERS, export_dream_tsv, load_labels, read_bed3, save_labels
from cisflow.labels.pipeline import labels_from_files
from cisflow.labels.rules import MODES, label_summary, make_labels

__all__ = [
    "LETTERS",
    "MODES",
    "Labels",
    "check_input_length",
    "covered_bases",
    "export_dream_tsv",
    "label_summary",
    "labels_from_files",
    "load_labels",
    "make_labels",
    "merge_intervals",
    "n_bins",
    "n_counts_per_bin",
    "overlap_counts",
    "read_bed3",
    "save_labels",
    "summit_counts",
]
