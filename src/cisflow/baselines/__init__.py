"""Baselines that need no deep learning, scored beside the trained model.

- :mod:`cisflow.baselines.pwm` — the best log-odds match of a known motif (nothing fitted);
- :mod:`cisflow.baselines.kmer` — canonical k-mer counts and a logistic regression per task;
- :mod:`cisflow.baselines.gkm` — a gapped k-mer SVM (off unless asked for);
- :mod:`cisflow.baselines.pipeline` — :func:`run_baselines`, the stage entry.
"""

from cisflow.baselines.kmer import (
    fit_kmer_baseline,
    kmer_baseline_probs,
    kmer_counts,
    kmer_names,
    predict_kmer_baseline,
)
from cisflow.baselines.pipeline import BASELINES, baseline_outputs, run_baselines
from cisflow.baselines.pwm import pwm_baseline_scores

__all__ = [
    "BASELINES",
    "baseline_outputs",
    "fit_kmer_baseline",
    "kmer_baseline_probs",
    "kmer_counts",
    "kmer_names",
    "predict_kmer_baseline",
    "pwm_baseline_scores",
    "run_baselines",
]
