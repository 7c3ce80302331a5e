"""Base-resolution profile models (BPNet, ChromBPNet) from the same filtered reads as the rest of cisflow.

- :mod:`~cisflow.profile.tracks`, :mod:`~cisflow.profile.shift`: counts per base from tagAligns (ChIP 5′
  ends per strand; ATAC / DNase cut sites with the enzyme shift measured from the data);
- :mod:`~cisflow.profile.enzyme`, :mod:`~cisflow.profile.bias_motifs`: the enzyme's insertion matrix from the
  cut sites, and the bias model's patterns judged against it and JASPAR (chrombpnet's no-TF-motif check);
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

import importlib

#: The package's public names and the module each lives in, imported on first use: a step that needs one module
#: (e.g. :mod:`~cisflow.profile.bias_motifs` in the motif stage's environment) does not import the others.
_EXPORTS = {
    "bias_checks": "pipeline",
    "counts_loss_weight": "losses",
    "counts_metrics": "metrics",
    "evaluate_profile": "pipeline",
    "expected_counts": "predict",
    "insilico_profile": "pipeline",
    "interpret_profile": "pipeline",
    "jensen_shannon": "metrics",
    "jsd_bounds": "metrics",
    "make_datasets": "pipeline",
    "make_tracks": "pipeline",
    "multinomial_nll": "losses",
    "predict_profile": "predict",
    "profile_jsd": "metrics",
    "profile_loss": "losses",
    "train_bias": "pipeline",
    "train_profile": "pipeline",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"cisflow.profile.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'cisflow.profile' has no attribute {name!r}")
