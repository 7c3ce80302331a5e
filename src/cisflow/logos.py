"""Sequence logos drawn onto a matplotlib axis: one compound path per base, so a logo costs a few patches.

Heights ``(4, W)`` in A, C, G, T order: positive heights stack upwards from 0 (the largest on top), negative ones
downwards (the largest at the bottom, glyphs upside down), as logomaker's defaults draw them. Each base's letter
is a :class:`~matplotlib.textpath.TextPath` made once and stretched to its box (logomaker builds a path per
glyph, ~1 s for a 50-column pair of logos; this takes a few ms).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

BASES = "ACGT"
#: logomaker's "classic" colours: A green, C blue, G orange, T red.
CLASSIC = ((0.0, 0.5, 0.0), (0.0, 0.0, 1.0), (1.0, 0.65, 0.0), (1.0, 0.0, 0.0))


@functools.cache
def _glyph(letter: str, flipped: bool):
    """The letter's outline scaled to the unit box ``[0, 1] × [0, 1]`` (upside down when ``flipped``)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    path = TextPath((0, 0), letter, size=1, prop=FontProperties(family="DejaVu Sans", weight="bold"))
    box = path.get_extents()
    unit = Affine2D().translate(-box.x0, -box.y0).scale(1 / box.width, 1 / box.height)
    if flipped:
        unit += Affine2D().scale(1, -1).translate(0, 1)
    return unit.transform_path(path)


def draw_logo(
    ax,
    heights: np.ndarray,
    positions: Sequence[float] | None = None,
    colors: Sequence = CLASSIC,
    width: float = 0.95,
) -> None:
    """Draw the logo of ``heights`` ``(4, W)`` on ``ax`` at x ``positions`` (default ``0 … W−1``) and set its
    limits: x to the columns ± half a column, y to the lowest and highest stack (0 included)."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path
    from matplotlib.transforms import Affine2D

    h = np.nan_to_num(np.asarray(heights, dtype=np.float64))
    if h.ndim != 2 or h.shape[0] != 4:
        raise ValueError(f"logo heights must be (4, W), got {h.shape}")
    xs = np.arange(h.shape[1], dtype=np.float64) if positions is None else np.asarray(positions, dtype=np.float64)
    parts: list[list] = [[] for _ in BASES]
    low = high = 0.0
    for col, x in enumerate(xs):
        up = down = 0.0
        for b in np.argsort(np.abs(h[:, col]), kind="stable"):  # smallest nearest the axis
            v = h[b, col]
            if v == 0:
                continue
            base = up if v > 0 else down + v
            box = Affine2D().scale(width, abs(v)).translate(x - width / 2, base)
            parts[b].append(box.transform_path(_glyph(BASES[b], bool(v < 0))))
            up, down = (up + v, down) if v > 0 else (up, down + v)
        low, high = min(low, down), max(high, up)
    for b, paths in enumerate(parts):
        if paths:
            # add_artist, not add_patch: the limits are set below, not from every Bézier curve's extent
            ax.add_artist(PathPatch(Path.make_compound_path(*paths), facecolor=colors[b], edgecolor="none", lw=0))
    if len(xs):
        ax.set_xlim(xs.min() - 0.5, xs.max() + 0.5)
    ax.set_ylim(low, high if high > low else low + 1.0)
