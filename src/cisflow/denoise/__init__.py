"""AtacWorks-style denoising of low-coverage ATAC-seq: better tracks and peaks from fewer reads.

A dilated 1-D ResNet (:class:`cisflow.models.DenoisingResNet`) is trained on pairs of tracks of one
library — a seeded subsample of its fragments (noisy input) and the whole library (clean target,
with MACS3's peaks on it) — to output the clean track and per-base peak probabilities. Modules:
:mod:`~cisflow.denoise.coverage` and :mod:`~cisflow.denoise.metrics` (pure computation),
:mod:`~cisflow.denoise.io` (reads, bigWigs, tables), :mod:`~cisflow.denoise.train`,
:mod:`~cisflow.denoise.infer`, :mod:`~cisflow.denoise.plots` and :mod:`~cisflow.denoise.pipeline`
(the stage entries).
"""
