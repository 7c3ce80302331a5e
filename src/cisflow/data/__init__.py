"""Genome datasets for training and evaluation: windows centred on labelled bins, per split.

- :mod:`cisflow.data.sampling` — which bins: positives, (GC-matched) negatives, per split (:func:`build_datasets`);
- :mod:`cisflow.data.windows` — what a window holds: genome codes and signal bigWig channels, made for a dataset's
  rows (:func:`dataset_arrays`, :func:`dataset_codes`, :func:`add_signal`);
- :mod:`cisflow.data.pipeline` — the stage entry: :func:`datasets_from_files` (labels and genome in, dataset npz
  files and the splits JSON out).
"""

from cisflow.data.pipeline import datasets_from_files
from cisflow.data.sampling import build_datasets, gc_matched_sample
from cisflow.data.windows import add_signal, check_dataset_signal, dataset_arrays, dataset_codes

__all__ = [
    "add_signal",
    "build_datasets",
    "check_dataset_signal",
    "dataset_arrays",
    "dataset_codes",
    "datasets_from_files",
    "gc_matched_sample",
]
