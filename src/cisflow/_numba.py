"""Numba kernels compiled on first use, for the modules that fuse a torch step on the CPU
(:mod:`cisflow.interpret._rescale`, :mod:`cisflow.models.pooling`)."""

from __future__ import annotations

from collections.abc import Callable

import torch


class LazyKernels:
    """The kernels ``{name: function}`` that ``build()`` compiles, built once at first use.

    ``build`` imports numba itself; without numba (its ImportError) every lookup gives None and the caller
    falls back to torch.
    """

    def __init__(self, build: Callable[[], dict[str, Callable]]):
        self._build = build
        self._kernels: list[dict[str, Callable] | None] = []

    def kernels(self) -> dict[str, Callable] | None:
        """Every kernel by name, or None without numba."""
        if not self._kernels:
            try:
                self._kernels.append(self._build())
            except ImportError:  # pragma: no cover - numba ships with the motifs extra
                self._kernels.append(None)
        return self._kernels[0]

    def for_tensor(self, name: str, t: torch.Tensor) -> Callable | None:
        """Kernel ``name`` for a CPU float32 / float64 tensor ``t`` (numba's threads set to torch's), else None."""
        if t.device.type != "cpu" or t.dtype not in (torch.float32, torch.float64):
            return None
        kernels = self.kernels()
        if kernels is None:
            return None
        import numba

        numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))
        return kernels[name]
