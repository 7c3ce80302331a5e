"""The motif stage in one call: modisco → patterns → JASPAR / truth matches → hits → HTML fragment."""

from __future__ import annotations

import base64
import html
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError, require_file
from cisflow.io import atomic_open
from cisflow.motifs.hits import motif_hits, per_region_table, write_hits
from cisflow.motifs.matching import MATCH_COLUMNS, match_jaspar, match_motifs
from cisflow.motifs.modisco import Pattern, run_modisco
from cisflow.pwm import DEFAULT_JASPAR_RELEASE, load_motif

log = logging.getLogger(__name__)

OUTPUTS = {
    "h5": "modisco.h5",
    "patterns": "patterns.json",
    "meme": "patterns.meme",
    "jaspar": "jaspar_matches.tsv",
    "truth": "truth_matches.tsv",
    "hits": "hits.tsv",
    "bed": "hits.bed",
    "per_region": "hits_per_region.tsv",
    "html": "motifs.html",
}


def load_scores(path: str | Path) -> dict[str, np.ndarray]:
    """Read an interpret-stage npz: ``x``, ``scores``, ``hypothetical`` (``(N, 4, L)``), ``ids``, optional
    ``chrom`` / ``start``.

    Without ``hypothetical`` (e.g. ISM), ``scores`` serve as the hypothetical contributions (logged), so
    modisco-lite sees the same actual-base contributions.
    """
    path = require_file(path, "contribution scores npz")
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise CisflowError(f"cannot read npz ({exc.__class__.__name__}: {exc})", path) from exc
    missing = [k for k in ("x", "scores") if k not in data]
    if missing:
        raise CisflowError(f"missing array(s) {', '.join(missing)}; expected x, scores, hypothetical, ids", path)
    x = data["x"]
    if x.ndim != 3 or x.shape[1] != 4:
        raise CisflowError(f"x must be one-hot (N, 4, L), got {x.shape}", path)
    if "hypothetical" not in data:
        log.warning("%s has no hypothetical scores; modisco uses the actual-base scores instead", path)
        data["hypothetical"] = data["scores"]
    for key in ("scores", "hypothetical"):
        if data[key].shape != x.shape:
            raise CisflowError(f"{key} has shape {data[key].shape}, x has {x.shape}", path)
    data["ids"] = data["ids"].astype(str) if "ids" in data else np.array([str(i) for i in range(len(x))])
    for key in ("ids", "chrom", "start"):
        if key in data and len(data[key]) != len(x):
            raise CisflowError(f"{key} has {len(data[key])} entries for {len(x)} sequences", path)
    return data


def _write_tsv(df: pd.DataFrame, path: Path, index: bool = False) -> None:
    """A DataFrame as TSV, atomically."""
    with atomic_open(path) as handle:
        df.to_csv(handle, sep="\t", index=index, float_format="%.6g")


def _truth_pwms(truth_motifs: Sequence[str] | None) -> dict[str, np.ndarray]:
    """``{name: pwm}`` from motif specs (ENCODE names or jaspar:ID)."""
    return dict(load_motif(spec) for spec in truth_motifs or ())


def discover_motifs(
    scores_npz: str | Path,
    out_dir: str | Path,
    release: str = DEFAULT_JASPAR_RELEASE,
    taxon: str | None = None,
    max_seqlets: int = 2000,
    window: int | None = None,
    truth_motifs: Sequence[str] | None = None,
    top: int = 5,
    min_similarity: float = 0.7,
    min_mass: float = 0.3,
    **modisco_kwargs,
) -> dict[str, Path]:
    """Discover motifs in contribution scores and write every motif output into ``out_dir``.

    Parameters
    ----------
    scores_npz
        Interpret-stage npz (see :func:`load_scores`).
    release, taxon
        JASPAR release and pyjaspar tax_group for the matches (taxon None: all CORE matrices).
    truth_motifs
        Motif specs (e.g. ``TAL1_known4``, ``jaspar:MA0363.2``) to match the patterns against, e.g. a
        simulation's own motifs; ``truth_matches.tsv`` is written empty (header only) without them.
    min_similarity, min_mass
        Hit thresholds (see :func:`cisflow.motifs.hits.motif_hits`).
    **modisco_kwargs
        Passed to :func:`cisflow.motifs.modisco.run_modisco` (e.g. ``n_leiden_runs``, ``min_metacluster_size``).

    Returns
    -------
    dict
        Output paths keyed as :data:`OUTPUTS` (plus the ``logos`` folder).
    """
    out_dir = Path(out_dir)
    paths = {k: out_dir / v for k, v in OUTPUTS.items()} | {"logos": out_dir / "logos"}
    truth = _truth_pwms(truth_motifs)
    data = load_scores(scores_npz)
    patterns = run_modisco(
        data["x"], data["hypothetical"], out_dir, max_seqlets=max_seqlets, window=window, **modisco_kwargs
    )
    pwms = {p.name: p.trimmed_pwm for p in patterns}
    empty = pd.DataFrame(columns=MATCH_COLUMNS)
    jaspar = match_jaspar(pwms, release, taxon, top) if pwms else empty
    truth_df = match_motifs(pwms, truth, top) if pwms and truth else empty
    _write_tsv(jaspar, paths["jaspar"])
    _write_tsv(truth_df, paths["truth"])
    hits = motif_hits(
        data["scores"],
        {p.name: p.trimmed_cwm for p in patterns},
        data["ids"],
        data.get("chrom"),
        data.get("start"),
        min_similarity,
        min_mass,
    )
    write_hits(hits, paths["hits"], paths["bed"])
    _write_tsv(per_region_table(hits, data["ids"], list(pwms)), paths["per_region"], index=True)
    write_html(paths["html"], patterns, jaspar, truth_df, hits, out_dir / "logos")
    log.info("%d patterns, %d hits in %d regions", len(patterns), len(hits), len(data["ids"]))
    return paths


def _best(matches: pd.DataFrame, name: str) -> str:
    """``TF (ID), q = …`` of a pattern's rank-1 match, or an en dash."""
    rows = matches[(matches["pattern"] == name) & (matches["rank"] == 1)]
    if rows.empty:
        return "–"
    r = rows.iloc[0]
    label = r["target_name"] if r["target_name"] == r["target_id"] else f"{r['target_name']} ({r['target_id']})"
    return f"{html.escape(str(label))}, q = {r['qvalue']:.2g}"


def write_html(
    path: str | Path,
    patterns: list[Pattern],
    jaspar: pd.DataFrame,
    truth: pd.DataFrame,
    hits: pd.DataFrame,
    logo_dir: str | Path,
) -> None:
    """An HTML fragment (a ``<section>``): one table row per pattern with its logo embedded as base64 PNG,
    seqlet count, hit count, top JASPAR match and top truth match with their q-values."""
    counts = hits["pattern"].value_counts() if len(hits) else pd.Series(dtype=int)
    rows = []
    for p in patterns:
        png = Path(logo_dir) / f"{p.name}.png"
        img = base64.b64encode(png.read_bytes()).decode("ascii") if png.is_file() else ""
        rows.append(
            f"<tr><td>{html.escape(p.name)}</td><td><img alt='{html.escape(p.name)} logo' width='360' "
            f"src='data:image/png;base64,{img}'></td><td>{p.n_seqlets}</td><td>{int(counts.get(p.name, 0))}</td>"
            f"<td>{_best(jaspar, p.name)}</td><td>{_best(truth, p.name)}</td></tr>"
        )
    body = "\n".join(rows) or "<tr><td colspan='6'>TF-MoDISco found no patterns.</td></tr>"
    text = (
        "<section class='cisflow-motifs'>\n<h2>Motifs (TF-MoDISco)</h2>\n<table>\n"
        "<thead><tr><th>pattern</th><th>logo (CWM; PWM in bits)</th><th>seqlets</th><th>hits</th>"
        "<th>top JASPAR match</th><th>top truth match</th></tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>\n</section>\n"
    )
    with atomic_open(path) as handle:
        handle.write(text)
