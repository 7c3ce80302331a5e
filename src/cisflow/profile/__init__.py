"""Base-resolution profile models (BPNet, ChromBPNet) from the same filtered reads as the rest of cisflow.

- :mod:`~cisflow.profile.tracks`, :mod:`~cisflow.profile.shift`: counts per base from tagAligns (ChIP 5′
  ends per strand; ATAC / DNase cut sites with the enzyme shift measured from the data);
- :mod:`~cisflow.profile.regions`, :mod:`~cisflow.profile.data`: summit-centred peaks, GC-matched
  background, held-out chromosomes, jittered and reverse-complemented batches;
- :mod:`~cisflow.profile.losses`, :mod:`~cisflow.profile.training`: multinomial NLL + λ · counts MSE;
- :mod:`~cisflow.profile.bias`: ChromBPNet's bias-model rules;
- :mod:`~cisflow.profile.metrics`, :mod:`~cisflow.profile.predict`: counts correlation, profile JSD and bounds;
- :mod:`~cisflow.profile.interpret`: DeepSHAP of the counts and profile heads;
- :mod:`~cisflow.profile.insilico`: footprints, spacing curves, ablation;
- :mod:`~cisflow.profile.simulate`: a known-answer ChIP simulation;
- :mod:`~cisflow.profile.pipeline`: the stage entries behind the rules and ``cisflow profile``.

The models themselves are :class:`cisflow.models.BPNet` and :class:`cisflow.models.ChromBPNet`.
"""

from cisflow.profile.losses import counts_loss_weight, multinomial_nll, profile_loss
from cisflow.profile.metrics import counts_metrics, jensen_shannon, jsd_bounds, profile_jsd
from cisflow.profile.pipeline import (
    bias_checks,
    evaluate_profile,
    insilico_profile,
    interpret_profile,
    make_datasets,
    make_tracks,
    train_bias,
    train_profile,
)
from cisflow.profile.predict import expected_counts, predict_profile

__all__ = [
    "bias_checks",
    "counts_loss_weight",
    "counts_metrics",
    "evaluate_profile",
    "expected_counts",
    "insilico_profile",
    "interpret_profile",
    "jensen_shannon",
    "jsd_bounds",
    "make_datasets",
    "make_tracks",
    "multinomial_nll",
    "predict_profile",
    "profile_jsd",
    "profile_loss",
    "train_bias",
    "train_profile",
]
