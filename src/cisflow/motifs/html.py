"""The motif stage's HTML fragment: patterns with logos and matches, hit checks, PWM-scan comparison, plots."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from cisflow.io import atomic_open
from cisflow.motifs.modisco import Pattern


def _best(matches: pd.DataFrame, name: str) -> str:
    """``TF (ID), q = …`` of a pattern's rank-1 match, or an en dash."""
    rows = matches[(matches["pattern"] == name) & (matches["rank"] == 1)]
    if rows.empty:
        return "–"
    r = rows.iloc[0]
    label = r["target_name"] if r["target_name"] == r["target_id"] else f"{r['target_name']} ({r['target_id']})"
    return f"{html.escape(str(label))}, q = {r['qvalue']:.2g}"


def _png(path: Path, alt: str, width: int) -> str:
    """An ``<img>`` with the PNG embedded as base64 (empty source if the file is missing)."""
    data = base64.b64encode(path.read_bytes()).decode("ascii") if path.is_file() else ""
    return f"<img alt='{html.escape(alt)}' width='{width}' src='data:image/png;base64,{data}'>"


def _pattern_rows(patterns: list[Pattern], jaspar: pd.DataFrame, truth: pd.DataFrame, result: Mapping,
                  logo_dir: Path) -> str:  # fmt: skip
    """Table rows: pattern (and the merged motif it is part of, with the seqlet confusion that merged it), logo,
    seqlets, hits, regions with a hit, seqlet recall (by the hits of its motif; and, where they differ, the recall
    when a hit of any pattern of its same-motif group counts and when a hit at a placement its CWM cannot tell
    apart from the seqlet's counts), JASPAR and truth matches."""
    hits, recall = result["hits"], result["recall"].set_index("pattern")
    counts = hits["pattern"].value_counts()
    regions = hits.groupby("pattern")["region"].nunique()
    merge = result.get("merge")
    fitted = merge.groups if merge is not None else {}
    why = merge.table([p.name for p in patterns]).set_index("pattern") if merge is not None else None
    rows = []
    for p in patterns:
        motif_name = fitted.get(p.name, p.name)
        note = ""
        if motif_name != p.name:
            c, t = why.loc[p.name, "merge_confusion"], why.loc[p.name, "merge_threshold"]
            note = f"<br>fitted as {html.escape(motif_name)} (seqlet confusion {c:.2f} ≥ {t:.2f})"
        rec, lam = recall["recall"].get(p.name, float("nan")), recall.get("lambda", {}).get(p.name, float("nan"))
        motif = recall["recall"].get(f"motif:{p.name}", rec)
        as_motif = f"; {motif:.2f} as one motif" if motif == motif and motif != rec else ""  # NaN != NaN
        same = recall["recall"].get(f"equivalent:{p.name}", rec)
        as_motif += f"; {same:.2f} at placements its CWM cannot tell apart" if same == same and same != rec else ""
        rows.append(
            f"<tr><td>{html.escape(p.name)}{note}</td>"
            f"<td>{_png(logo_dir / f'{p.name}.png', f'{p.name} logo', 360)}</td>"
            f"<td>{p.n_seqlets}</td><td>{int(counts.get(p.name, 0))}</td><td>{int(regions.get(p.name, 0))}</td>"
            f"<td>{rec:.2f}{as_motif} (λ {lam:.2f})</td><td>{_best(jaspar, p.name)}</td>"
            f"<td>{_best(truth, p.name)}</td></tr>"
        )
    return "\n".join(rows) or "<tr><td colspan='8'>TF-MoDISco found no patterns.</td></tr>"


def _table(df: pd.DataFrame, caption: str) -> str:
    """A DataFrame as an HTML table with a caption (floats to 3 significant digits), or nothing if empty."""
    if df.empty:
        return ""
    return f"<h3>{html.escape(caption)}</h3>\n" + df.to_html(index=False, float_format="%.3g", border=0) + "\n"


def write_html(
    path: str | Path,
    patterns: list[Pattern],
    jaspar: pd.DataFrame,
    truth: pd.DataFrame,
    result: Mapping,
    logo_dir: str | Path,
    summary_png: str | Path | None = None,
) -> None:
    """An HTML fragment (a ``<section>``): one row per pattern (logo as base64 PNG, seqlets, hits, regions
    with a hit, seqlet recall, top JASPAR and truth matches), then the planted-instance check, the
    comparison with the PWM scan and the hit summary plot.

    ``result`` holds the DataFrames ``hits``, ``recall``, ``planted`` and ``compare`` of the stage.
    """
    n_regions = int(result["compare"]["n_regions"].iloc[0]) if len(result["compare"]) else None
    text = (
        "<section class='cisflow-motifs'>\n<h2>Motifs (TF-MoDISco) and their hits</h2>\n<table>\n"
        "<thead><tr><th>pattern</th><th>logo (CWM; PWM in bits)</th><th>seqlets</th><th>hits</th><th>regions</th>"
        "<th>seqlet recall</th><th>top JASPAR match</th><th>top truth match</th></tr></thead>\n"
        f"<tbody>\n{_pattern_rows(patterns, jaspar, truth, result, Path(logo_dir))}\n</tbody>\n</table>\n"
        + _table(result["planted"], "Planted instances recovered by hits")
        + _table(result["compare"], f"Hits vs PWM (FIMO) matches of the same motifs ({n_regions} regions)")
        + (_png(Path(summary_png), "hit summary", 1100) + "\n" if summary_png is not None else "")
        + "</section>\n"
    )
    with atomic_open(path) as handle:
        handle.write(text)
