"""The config's ``denoise`` section (:class:`DenoiseParams`) and the training keys' defaults taken from it."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from cisflow.denoise.coverage import DEFAULT_FLANK
from cisflow.params import StageParams, defaults


def _model_defaults() -> dict[str, Any]:
    return {"name": "denoising_resnet", "params": {}}


@dataclasses.dataclass(frozen=True)
class DenoiseParams(StageParams):
    """The config's ``denoise`` section: which samples and depths, the tracks' flank, the model, its training
    (AtacWorks' learning rate and Pearson weight, 2e-4 and 1; its MSE weight, 5e-4, was set for raw counts, and
    on tracks in fold over the mean, values near 1, 0.1 gives MSE a comparable share of the loss) and the
    peak calls on the denoised probability (:func:`cisflow.denoise.pipeline.denoise_sample`)."""

    SECTION: ClassVar[str] = "denoise"
    enabled: bool = False
    samples: tuple[str, ...] = ()
    fractions: tuple[float, ...] = (0.1, 0.2)
    depth_series: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
    flank: int = DEFAULT_FLANK  # bp each cut site counts on, either side
    model: dict[str, Any] = dataclasses.field(default_factory=_model_defaults)
    epochs: int = 10
    min_epochs: int = 1
    batch_size: int = 8
    learning_rate: float = 2e-4
    interval: int = 50_000  # bp of a training window's core
    pad: int | None = None  # bp of flank read around a core (None: the model's receptive field)
    mse_weight: float = 0.1
    pearson_weight: float = 1.0
    bce_weight: float = 1.0
    clip_grad: float = 1.0
    monitor: str = "loss"
    patience: int = 3
    threshold: float = 0.5  # peak probability cut-off
    min_peak_length: int = 50  # bp


#: The keys :func:`cisflow.denoise.train.train_denoiser` takes as its training settings.
TRAIN_KEYS = ("epochs", "min_epochs", "batch_size", "learning_rate", "interval", "pad", "mse_weight",
              "pearson_weight", "bce_weight", "clip_grad", "monitor", "patience")  # fmt: skip
#: Defaults of the training keys (:class:`DenoiseParams`).
TRAIN_DEFAULTS: dict[str, Any] = {key: defaults(DenoiseParams)[key] for key in TRAIN_KEYS}
