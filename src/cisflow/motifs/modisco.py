"""TF-MoDISco motif discovery with modisco-lite: window checks, run, and pattern outputs.

A *pattern* here is a :class:`Pattern`: the CWM (mean actual-base contributions of its seqlets),
the PWM (their base frequencies) and the hypothetical CWM, each ``(4, W)`` with rows A C G T, plus
the trimmed boundaries ``[trim_start, trim_end)`` (positions whose summed absolute CWM reaches
``trim_threshold`` × its maximum, as modisco-lite's report trims) and the seqlet coordinates.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cisflow.errors import CisflowError, require_file
from cisflow.io import atomic_path, write_json
from cisflow.pwm import write_meme

log = logging.getLogger(__name__)

TRIM_THRESHOLD = 0.3


@dataclass
class Pattern:
    """One modisco pattern; matrices are ``(4, W)`` float64 with rows A C G T."""

    name: str
    cwm: np.ndarray
    pwm: np.ndarray
    hcwm: np.ndarray
    trim: tuple[int, int]
    seqlets: dict[str, list] = field(default_factory=dict)

    @property
    def n_seqlets(self) -> int:
        """Number of seqlets in the pattern."""
        return len(self.seqlets.get("example_idx", []))

    @property
    def trimmed_cwm(self) -> np.ndarray:
        """The CWM over ``[trim_start, trim_end)``, ``(4, W')``."""
        return self.cwm[:, self.trim[0] : self.trim[1]]

    @property
    def trimmed_pwm(self) -> np.ndarray:
        """The PWM over ``[trim_start, trim_end)``, ``(4, W')``, columns summing to 1."""
        pwm = np.clip(self.pwm[:, self.trim[0] : self.trim[1]], 1e-6, None)
        return pwm / pwm.sum(axis=0)

    def to_json(self) -> dict:
        """A JSON-ready dict (matrices as nested lists, rows A C G T)."""
        return {
            "name": self.name,
            "n_seqlets": self.n_seqlets,
            "trim": list(self.trim),
            "cwm": self.cwm.tolist(),
            "pwm": self.pwm.tolist(),
            "hypothetical_cwm": self.hcwm.tolist(),
            "seqlets": self.seqlets,
        }


def trim_bounds(cwm: np.ndarray, threshold: float = TRIM_THRESHOLD) -> tuple[int, int]:
    """``[start, end)`` of the positions where ``sum |cwm|`` reaches ``threshold`` × its maximum.

    Parameters
    ----------
    cwm
        ``(4, W)`` contribution weight matrix.
    """
    score = np.abs(np.asarray(cwm)).sum(axis=0)
    keep = np.flatnonzero(score >= threshold * score.max())
    return int(keep.min()), int(keep.max()) + 1


def check_window(
    length: int, sliding_window_size: int, flank_size: int, window: int | None = None, trim_to_window_size: int = 30
) -> tuple[int, int]:
    """Check modisco-lite's window settings against the input length.

    modisco-lite silently finds nothing when a seqlet (``sliding_window_size + 2 * flank_size``)
    does not fit in the analysed window, and finds nothing with ``flank_size = 0``.

    Parameters
    ----------
    length
        Sequence length of the input in bp.
    window
        Central window analysed (as modisco-lite's ``--window``); None: the whole sequence.

    Returns
    -------
    window, trim_to_window_size
        The window to use and ``trim_to_window_size`` clipped to the seqlet length (a logged warning).
    """
    window = length if window is None else int(window)
    if window > length or window <= 0:
        raise CisflowError(f"modisco window {window} bp must be in 1..{length} (the input length)")
    if sliding_window_size < 1 or flank_size < 1:
        raise CisflowError(f"sliding window ({sliding_window_size}) and flank ({flank_size}) must be ≥ 1 bp")
    seqlet = sliding_window_size + 2 * flank_size
    if seqlet > window:
        raise CisflowError(
            f"seqlets of sliding window {sliding_window_size} + 2 × flank {flank_size} = {seqlet} bp do not fit "
            f"in the {window} bp window; modisco-lite would find nothing (use a smaller window or flank)"
        )
    if trim_to_window_size > seqlet:
        log.warning("trim_to_window_size %d > seqlet length %d bp; using %d", trim_to_window_size, seqlet, seqlet)
        trim_to_window_size = seqlet
    return window, trim_to_window_size


def _crop(arr: np.ndarray, window: int) -> tuple[np.ndarray, int]:
    """Central ``window`` of ``(N, 4, L)``, transposed to ``(N, window, 4)`` float32; returns it and its offset."""
    start = (arr.shape[2] - window) // 2
    return np.ascontiguousarray(arr[:, :, start : start + window].transpose(0, 2, 1), dtype=np.float32), start


def check_scores(one_hot: np.ndarray, hyp: np.ndarray, sliding_window_size: int, source: str | Path | None) -> None:
    """CisflowError (naming ``source``) for contribution scores modisco-lite cannot work on.

    ``one_hot`` and ``hyp`` are ``(N, W, 4)``. Non-finite scores, and actual contributions whose
    windowed sums (``sliding_window_size`` bp) are all equal (e.g. all zero: a model whose output does
    not depend on the sequence), leave modisco-lite's seqlet null without one of its sides.
    """
    if not np.isfinite(hyp).all():
        raise CisflowError(f"contribution scores hold {int((~np.isfinite(hyp)).sum())} NaN or infinite values", source)
    actual = (one_hot * hyp).sum(axis=2, dtype=np.float64)
    width = min(sliding_window_size, actual.shape[1])
    sums = np.lib.stride_tricks.sliding_window_view(actual, width, axis=1).sum(axis=2)
    if sums.size == 0 or np.ptp(sums) == 0:
        raise CisflowError(
            f"contribution scores are {'all zero' if not actual.any() else 'constant'} over every "
            f"{width}-bp window: the model's output does not depend on the sequence, so there are no motifs to "
            "find (was training degenerate?)",
            source,
        )


def _to_pattern(seqlet_set, name: str, offset: int, trim_threshold: float) -> Pattern:
    """A :class:`Pattern` from a modisco-lite SeqletSet; seqlet coordinates shifted by the crop ``offset``."""
    cwm = np.asarray(seqlet_set.contrib_scores, dtype=np.float64).T
    seqlets = {
        "example_idx": [int(s.example_idx) for s in seqlet_set.seqlets],
        "start": [int(s.start) + offset for s in seqlet_set.seqlets],
        "end": [int(s.end) + offset for s in seqlet_set.seqlets],
        "is_revcomp": [bool(s.is_revcomp) for s in seqlet_set.seqlets],
    }
    return Pattern(
        name=name,
        cwm=cwm,
        pwm=np.asarray(seqlet_set.sequence, dtype=np.float64).T,
        hcwm=np.asarray(seqlet_set.hypothetical_contribs, dtype=np.float64).T,
        trim=trim_bounds(cwm, trim_threshold),
        seqlets=seqlets,
    )


def _save_h5(path: Path, pos_patterns: list | None, neg_patterns: list | None, window: int) -> None:
    """modiscolite.io.save_hdf5's layout (pos_patterns/pattern_i ...), written atomically and closed."""
    import h5py
    from modiscolite.io import save_pattern

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        handle.attrs["window_size"] = window
        for group, patterns in (("pos_patterns", pos_patterns), ("neg_patterns", neg_patterns)):
            if patterns is not None:
                grp = handle.create_group(group)
                for i, pattern in enumerate(patterns):
                    save_pattern(pattern, grp.create_group(f"pattern_{i}"))


def run_modisco(
    x: np.ndarray,
    hypothetical: np.ndarray,
    outputs: Mapping[str, str | Path],
    max_seqlets: int = 2000,
    window: int | None = None,
    sliding_window_size: int = 21,
    flank_size: int = 10,
    trim_to_window_size: int = 30,
    n_leiden_runs: int = 50,
    min_metacluster_size: int = 100,
    final_min_cluster_size: int = 20,
    target_seqlet_fdr: float = 0.2,
    trim_threshold: float = TRIM_THRESHOLD,
    source: str | Path | None = None,
    **modisco_kwargs,
) -> list[Pattern]:
    """Run modisco-lite's TFMoDISco and write its h5, patterns JSON, MEME file and logos.

    Parameters
    ----------
    x
        One-hot sequences, float32 ``(N, 4, L)`` (transposed to modisco-lite's ``(N, L, 4)`` here).
    hypothetical
        Hypothetical contributions ``(N, 4, L)``; modisco-lite takes actual contributions as ``x * hypothetical``.
    outputs
        Paths ``h5`` (modisco-lite's format), ``patterns`` (JSON), ``meme`` (trimmed PWMs) and ``logos``
        (a folder of ``{pattern}.png``).
    max_seqlets
        Seqlets per metacluster at most (``max_seqlets_per_metacluster``).
    window
        Central window analysed in bp (None: all ``L``); seqlet coordinates are reported in the full sequence.
    min_metacluster_size, final_min_cluster_size
        Fewest seqlets for a metacluster / a final pattern (lower them for small inputs).
    target_seqlet_fdr
        False discovery rate at which windows are called seqlets against modisco-lite's null of
        sign-flipped, shuffled scores (modisco-lite's default 0.2; lower keeps fewer, stronger seqlets).
    source
        Where the scores came from (a file), named by the errors about them (:func:`check_scores`).
    **modisco_kwargs
        Further TFMoDISco arguments (e.g. ``initial_flank_to_add``), passed unchanged.

    Returns
    -------
    list of Pattern
        Positive patterns (``pos_pattern_i``) then negative ones (``neg_pattern_i``), as modisco-lite orders them.
    """
    import modiscolite

    x, hypothetical = np.asarray(x), np.asarray(hypothetical)
    if x.ndim != 3 or x.shape[1] != 4 or x.shape != hypothetical.shape:
        raise CisflowError(f"x {x.shape} and hypothetical {hypothetical.shape} must both be (N, 4, L)")
    window, trim_to_window_size = check_window(x.shape[2], sliding_window_size, flank_size, window, trim_to_window_size)
    one_hot, offset = _crop(x, window)
    hyp, _ = _crop(hypothetical, window)
    check_scores(one_hot, hyp, sliding_window_size, source)
    log.info("modisco-lite on %d sequences × %d bp (window %d)", len(x), x.shape[2], window)
    try:
        pos, neg = modiscolite.tfmodisco.TFMoDISco(
            one_hot=one_hot,
            hypothetical_contribs=hyp,
            max_seqlets_per_metacluster=max_seqlets,
            sliding_window_size=sliding_window_size,
            flank_size=flank_size,
            trim_to_window_size=trim_to_window_size,
            n_leiden_runs=n_leiden_runs,
            min_metacluster_size=min_metacluster_size,
            final_min_cluster_size=final_min_cluster_size,
            target_seqlet_fdr=target_seqlet_fdr,
            **modisco_kwargs,
        )
    except (IndexError, ValueError) as exc:  # its seqlet null on degenerate scores (too few non-zero windows)
        raise CisflowError(
            f"modisco-lite cannot call seqlets on these contribution scores ({exc.__class__.__name__}: {exc}); "
            "too few windows with contributions (a degenerate model, or too few sequences)?",
            source,
        ) from exc
    patterns = [_to_pattern(p, f"pos_pattern_{i}", offset, trim_threshold) for i, p in enumerate(pos or [])]
    patterns += [_to_pattern(p, f"neg_pattern_{i}", offset, trim_threshold) for i, p in enumerate(neg or [])]
    if not patterns:
        log.warning("modisco-lite found no patterns in %d sequences", len(x))
    _save_h5(outputs["h5"], pos, neg, window)
    write_patterns(outputs, patterns, trim_threshold)
    return patterns


def write_patterns(
    outputs: Mapping[str, str | Path], patterns: list[Pattern], trim_threshold: float = TRIM_THRESHOLD
) -> None:
    """Write ``outputs["patterns"]`` (JSON), ``outputs["meme"]`` (trimmed PWMs; no motifs if none) and one logo
    PNG per pattern in the ``outputs["logos"]`` folder (created even when empty)."""
    write_json(outputs["patterns"], {"trim_threshold": trim_threshold, "patterns": [p.to_json() for p in patterns]})
    if patterns:
        write_meme(outputs["meme"], {p.name: p.trimmed_pwm for p in patterns}, nsites=20)
    else:
        write_meme_empty(outputs["meme"])
    Path(outputs["logos"]).mkdir(parents=True, exist_ok=True)
    for p in patterns:
        plot_pattern_logo(p, Path(outputs["logos"]) / f"{p.name}.png")


def write_meme_empty(path: str | Path) -> None:
    """A MEME header with no motifs (so a rule's output exists when modisco finds nothing)."""
    from cisflow.io import atomic_open

    with atomic_open(path) as handle:
        handle.write("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n")
        handle.write("Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n")


def read_patterns(path: str | Path) -> list[Pattern]:
    """Read ``patterns.json`` written by :func:`run_modisco`."""
    path = require_file(path, "patterns JSON")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [
            Pattern(
                name=d["name"],
                cwm=np.array(d["cwm"], dtype=np.float64),
                pwm=np.array(d["pwm"], dtype=np.float64),
                hcwm=np.array(d["hypothetical_cwm"], dtype=np.float64),
                trim=(int(d["trim"][0]), int(d["trim"][1])),
                seqlets=d.get("seqlets", {}),
            )
            for d in data["patterns"]
        ]
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise CisflowError(f"not a patterns JSON written by cisflow ({exc.__class__.__name__}: {exc})", path) from exc


def information_content(pwm: np.ndarray, pseudocount: float = 1e-3) -> np.ndarray:
    """Per-position information content in bits of a ``(4, W)`` PWM against a uniform background, ``(W,)``."""
    p = (np.asarray(pwm, dtype=np.float64) + pseudocount) / (1 + 4 * pseudocount)
    return 2.0 + (p * np.log2(p)).sum(axis=0)


def plot_pattern_logo(pattern: Pattern, path: str | Path) -> None:
    """Write a PNG with two logos of ``pattern``: its CWM and its PWM scaled by information content (bits).

    The trimmed region is shaded. Uses matplotlib's object API (no pyplot global state).
    """
    from matplotlib.figure import Figure

    from cisflow.logos import draw_logo

    ic_pwm = pattern.pwm * information_content(pattern.pwm)[None, :]
    fig = Figure(figsize=(max(6.0, 0.25 * pattern.cwm.shape[1]), 4.0))
    axes = fig.subplots(2, 1, sharex=True)
    for ax, mat, label in ((axes[0], pattern.cwm, "contribution"), (axes[1], ic_pwm, "bits")):
        draw_logo(ax, mat)
        ax.axvspan(pattern.trim[0] - 0.5, pattern.trim[1] - 0.5, color="0.9", zorder=-1)
        ax.set_ylabel(label)
    axes[0].set_title(f"{pattern.name} ({pattern.n_seqlets} seqlets)")
    axes[1].set_ylim(0, 2)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80, bbox_inches="tight")
