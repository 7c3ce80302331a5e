"""Compile the workflow's numba kernels into numba's on-disk cache once, when the environment is set up.

memelite's TOMTOM and FIMO, cisflow's DeepSHAP and fast-ISM kernels and modisco-lite's are numba functions cached on
disk (next to their modules in the environment). A fresh environment compiles each on its first call,
inside the first workflow job that calls it: on 2 cores TOMTOM alone took 68 s of the yeast demo's motif
stage, every time the demo ran in a new environment, and modisco-lite's ~24 s of its first run. ``make setup`` runs
:func:`compile_kernels` after installing, so jobs find the kernels compiled; a job that finds no cache
(another environment, a changed memelite) compiles as before. Nothing here changes a result.

    python -m cisflow.jit     # prints one line per kernel family: seconds (near 0 when already cached)
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)


def _tomtom() -> None:
    from cisflow.pwm import tomtom

    rng = np.random.default_rng(0)
    pwms = [rng.dirichlet(np.ones(4), size=w).T for w in (6, 8, 10)]
    tomtom(pwms, pwms, n_jobs=1)


def _fimo() -> None:
    from cisflow.motifs.pwmscan import pwm_scan

    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (2, 60))].transpose(0, 2, 1)
    pwm_scan({"m": rng.dirichlet(np.ones(4), size=6).T}, x, ["a", "b"], threshold=0.5)


def _deepshap() -> None:
    import torch

    from cisflow.interpret._rescale import maxpool1d_indices
    from cisflow.interpret.deepshap import deepshap_scores
    from cisflow.models import build_model

    torch.manual_seed(0)
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (2, 200))].transpose(0, 2, 1)
    for dtype in (torch.float32, torch.float64):  # float32 by default, float64 a setting
        for model in (
            build_model("basset", n_tasks=1, input_length=200, num_filters=[4, 4, 4], hidden=[4]),
            build_model("deepbind", n_tasks=1, input_length=200, num_filters=4, conv_width=8, pooling="max_avg"),
        ):  # max pooling, and a global max (the references' dinucleotide shuffles too)
            deepshap_scores(model, x, n_references=2, dtype=dtype)
        # max pooling with arg-maxima, which models that are not a plain chain (e.g. DanQ) run through autograd
        maxpool1d_indices(torch.zeros(1, 2, 8, dtype=dtype), 2, 2)


def _ism() -> None:
    import torch

    from cisflow.interpret.ism import ism_fast
    from cisflow.models import build_model

    torch.manual_seed(0)
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (2, 60))].transpose(0, 2, 1)
    # the fused ReLU + max-pool stage pass of a Basset's fast ISM (float32, as ism_fast runs)
    ism_fast(
        build_model(
            "basset", n_tasks=1, input_length=60, num_filters=[4, 4], conv_width=[5, 3], pool_width=[2, 2], hidden=[4]
        ).eval(),
        x,
        device="cpu",
    )
    # the ReLU-change and pool + dense passes of a SequenceDNN's (a chain's) fast ISM
    ism_fast(
        build_model(
            "sequence_dnn", n_tasks=1, input_length=60, num_filters=[4, 4], conv_width=[5, 5], pool_width=5
        ).eval(),
        x,
        device="cpu",
    )


def _modisco() -> None:
    """modisco-lite's kernels, with the signatures its run compiles them for.

    modisco-lite compiles them in forked children at the start of each run and caches them from its first
    run on (``modiscolite.precompile``); its list of kernels is private, so a modisco-lite without it is
    skipped (compiled in the first run, as before).
    """
    try:
        from modiscolite import precompile

        groups, signatures = precompile._kernels(), precompile._signatures
    except AttributeError as exc:
        raise ImportError(f"modisco-lite without precompile's kernel list: {exc}") from exc
    for dispatcher, sig in (job for group in groups for job in group):
        sig = sig if sig is not None else signatures.get(dispatcher)
        if sig is not None:
            dispatcher.enable_caching()
            dispatcher.compile(sig)


#: Kernel families: memelite's TOMTOM and FIMO (motif matching, PWM scans), cisflow's DeepSHAP and fast ISM
#: kernels, modisco-lite's own.
KERNELS: dict[str, Callable[[], None]] = {
    "tomtom": _tomtom,
    "fimo": _fimo,
    "deepshap": _deepshap,
    "ism": _ism,
    "modisco": _modisco,
}


def compile_kernels(families: Sequence[str] | None = None) -> dict[str, float]:
    """Call each kernel family of :data:`KERNELS` (or ``families``) once on tiny inputs; ``{family: seconds}``.

    A family whose package is missing (an install without the motifs extra) is skipped (NaN).
    """
    seconds = {}
    for name in families if families is not None else KERNELS:
        call = KERNELS[name]
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                call()
        except ImportError as exc:
            log.info("%s not compiled: %s", name, exc)
            seconds[name] = float("nan")
            continue
        seconds[name] = time.perf_counter() - t0
    return seconds


def main() -> None:
    for name, s in compile_kernels().items():
        print(f"numba kernels {name}: {s:.1f} s")


if __name__ == "__main__":
    main()
