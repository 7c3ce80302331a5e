"""Evaluation of trained models and baselines on a held-out test set.

- :mod:`cisflow.evaluate.pipeline` — the stage entry: :func:`evaluate_model`, :func:`evaluate_predictions`;
- :mod:`cisflow.evaluate.plots` — ROC / precision–recall curves (one model, or several overlaid);
- :mod:`cisflow.evaluate.compare` — models side by side: metric tables, overlaid curves, the held-out
  ENCODE-DREAM ranking.
"""

from cisflow.evaluate.compare import (
    compare_metrics_files,
    compare_models,
    compare_on_heldout,
    plot_model_comparison,
)
from cisflow.evaluate.pipeline import (
    EVALUATION_FILES,
    evaluate_model,
    evaluate_predictions,
    evaluation_outputs,
    write_metrics_tsv,
)
from cisflow.evaluate.plots import plot_curves, plot_overlaid_curves

__all__ = [
    "EVALUATION_FILES",
    "compare_metrics_files",
    "compare_models",
    "compare_on_heldout",
    "evaluate_model",
    "evaluate_predictions",
    "evaluation_outputs",
    "plot_curves",
    "plot_model_comparison",
    "plot_overlaid_curves",
    "write_metrics_tsv",
]
