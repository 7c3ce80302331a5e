"""Input check shared by the baselines: genome codes ``(N, L)``."""

from __future__ import annotations

import numpy as np

from cisflow.errors import CisflowError
from cisflow.genome import N_CODE


def check_codes(codes: np.ndarray) -> np.ndarray:
    """CisflowError unless ``codes`` is a uint8-compatible ``(N, L)`` array of genome codes."""
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise CisflowError(f"codes must be (N, L) genome codes, got shape {codes.shape}")
    if codes.size and codes.max() > N_CODE:
        raise CisflowError(f"codes must be genome codes 0..{N_CODE}, got a {codes.max()}")
    return codes.astype(np.uint8, copy=False)
