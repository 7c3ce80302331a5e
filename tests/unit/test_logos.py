"""Tests for cisflow.logos: where each base's glyphs land."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch

from cisflow.logos import CLASSIC, draw_logo


def _boxes(ax) -> dict[str, list[tuple[float, float, float, float]]]:
    """Per base, the (x0, y0, x1, y1) of each glyph, to 0.01 (outlines flattened: Bézier control points lie
    outside a round letter's outline)."""
    out = {}
    for patch in (a for a in ax.get_children() if isinstance(a, PathPatch)):
        base = "ACGT"[[to_rgb(c) for c in CLASSIC].index(to_rgb(patch.get_facecolor()))]
        polygons = patch.get_path().to_polygons(closed_only=False)
        columns = [round(float(np.mean(poly[:, 0]))) for poly in polygons]  # glyphs narrower than a column
        boxes = []
        for c in sorted(set(columns)):
            v = np.concatenate([poly for poly, col in zip(polygons, columns, strict=True) if col == c])
            boxes.append(tuple(round(float(f(v[:, i])), 2) for f, i in ((min, 0), (min, 1), (max, 0), (max, 1))))
        out[base] = sorted(boxes, key=lambda b: (b[0], b[1]))
    return out


def test_glyphs_stack_largest_on_top_and_below_zero():
    heights = np.array([[1.0, 0.0], [0.5, -0.25], [0.0, -1.0], [0.0, 0.5]])  # A C G T by columns 0, 1
    ax = Figure().subplots()
    draw_logo(ax, heights, positions=[10, 11], width=0.8)
    boxes = _boxes(ax)
    assert boxes["A"] == [(9.6, 0.5, 10.4, 1.5)]  # column 10: C (0.5) at the bottom, A (1.0) on top
    assert boxes["C"] == [(9.6, 0.0, 10.4, 0.5), (10.6, -0.25, 11.4, 0.0)]  # column 11: C just below 0
    assert boxes["G"] == [(10.6, -1.25, 11.4, -0.25)]  # the larger negative farther from 0
    assert boxes["T"] == [(10.6, 0.0, 11.4, 0.5)]
    assert ax.get_xlim() == (9.5, 11.5) and ax.get_ylim() == (-1.25, 1.5)


def test_empty_and_bad_heights():
    ax = Figure().subplots()
    draw_logo(ax, np.zeros((4, 3)))
    assert not [a for a in ax.get_children() if isinstance(a, PathPatch)]
    assert ax.get_xlim() == (-0.5, 2.5) and ax.get_ylim() == (0.0, 1.0)
    with pytest.raises(ValueError, match=r"\(4, W\)"):
        draw_logo(ax, np.zeros((3, 5)))
