"""Training of sequence models: masked BCE, Adam, early stopping, per-epoch checkpoints with exact resume.

- :mod:`cisflow.train.settings` — the ``train`` config keys, their defaults and checks;
- :mod:`cisflow.train.loop` — the computation: loss, class weights, epochs, precise BatchNorm, scoring, stopping;
- :mod:`cisflow.train.checkpoint` — checkpoints: save, read, resume, data fingerprints;
- :mod:`cisflow.train.plots` — the learning curve;
- :mod:`cisflow.train.pipeline` — the stage entry: :func:`train_model` (datasets in, model files out),
  :func:`train_from_config`, :func:`train_outputs`.
"""

from cisflow.train.checkpoint import (
    CHECKPOINT_NAME,
    data_fingerprint,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from cisflow.train.loop import (
    class_pos_weight,
    cpu_state_dict,
    deterministic,
    evaluate_split,
    format_metrics_line,
    is_improvement,
    masked_bce_loss,
    recompute_bn_stats,
    training_finished,
)
from cisflow.train.pipeline import (
    TRAIN_FILES,
    read_training_config,
    select_tasks,
    train_from_config,
    train_model,
    train_outputs,
    write_history,
)
from cisflow.train.plots import plot_learning_curve
from cisflow.train.settings import MONITORS, TRAIN_DEFAULTS, check_train_config

__all__ = [
    "CHECKPOINT_NAME",
    "MONITORS",
    "TRAIN_DEFAULTS",
    "TRAIN_FILES",
    "check_train_config",
    "class_pos_weight",
    "cpu_state_dict",
    "data_fingerprint",
    "deterministic",
    "evaluate_split",
    "format_metrics_line",
    "is_improvement",
    "load_checkpoint",
    "masked_bce_loss",
    "plot_learning_curve",
    "read_checkpoint",
    "read_training_config",
    "recompute_bn_stats",
    "save_checkpoint",
    "select_tasks",
    "train_from_config",
    "train_model",
    "train_outputs",
    "training_finished",
    "write_history",
]
