"""The PWM baseline: the best log-odds match of one known motif per sequence.

The best log-odds score (bits, background 0.25 each) of one known motif over all windows and both
strands of each sequence (:func:`cisflow.pwm.max_log_odds`). Nothing is fitted: the score is the
prediction. Scores are bits, not probabilities, so only rank metrics (auROC, auPRC, recall at FDR)
are meaningful; balanced accuracy thresholds the bits at 0.5.
"""

from __future__ import annotations

import numpy as np

from cisflow.baselines._codes import check_codes
from cisflow.pwm import load_motif, log_odds, max_log_odds


def pwm_baseline_scores(codes: np.ndarray, motif_spec: str) -> np.ndarray:
    """Best log-odds score of a known motif per sequence, both strands.

    Parameters
    ----------
    codes
        uint8 genome codes ``(N, L)``.
    motif_spec
        A motif spec for :func:`cisflow.pwm.load_motif`, e.g. ``jaspar:MA0363.2`` or ``REB1_known1``.

    Returns
    -------
    numpy.ndarray
        float32 ``(N,)``, bits; higher = a better motif match somewhere in the sequence.
    """
    _, pwm = load_motif(motif_spec)
    return max_log_odds(check_codes(codes), log_odds(pwm))
