"""The motif stage in one call: modisco → patterns → JASPAR / truth matches → calibrated hits → checks,
PWM-scan comparison, tables, plots and an HTML fragment."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from cisflow.artifacts import SCORES, read
from cisflow.errors import CisflowError
from cisflow.motifs.hits import central_window, read_summits
from cisflow.motifs.hitstage import (
    HIT_DEFAULTS,
    MATCH_Q,
    find_merge,
    hit_options,
    known_targets,
    run_hit_stage,
    write_tsv,
)
from cisflow.motifs.html import write_html
from cisflow.motifs.matching import MATCH_COLUMNS, match_jaspar, match_motifs
from cisflow.motifs.modisco import run_modisco
from cisflow.motifs.summary import pattern_summary
from cisflow.params import StageParams, log_params
from cisflow.pwm import DEFAULT_JASPAR_RELEASE, load_motifs
from cisflow.simulate import read_embeddings
from cisflow.verdict import warn_motifs

log = logging.getLogger(__name__)

#: The files of the motifs stage (``outputs`` keys) and their names in an output folder (:func:`motif_outputs`);
#: ``logos`` is a folder of one PNG per pattern.
OUTPUTS = {
    "h5": "modisco.h5",
    "patterns": "patterns.json",
    "meme": "patterns.meme",
    "jaspar": "jaspar_matches.tsv",
    "summary": "patterns.tsv",
    "truth": "truth_matches.tsv",
    "hits": "hits.tsv",
    "bed": "hits.bed",
    "per_region": "hits_per_region.tsv",
    "checks": "hit_checks.tsv",
    "pwm_matches": "pwm_matches.tsv",
    "pwm_comparison": "pwm_comparison.tsv",
    "summary_png": "hits_summary.png",
    "html": "motifs.html",
    "logos": "logos",
}


def motif_outputs(out_dir: str | Path) -> dict[str, Path]:
    """The default output paths of :func:`discover_motifs` in ``out_dir`` (:data:`OUTPUTS`)."""
    return {key: Path(out_dir) / name for key, name in OUTPUTS.items()}


def load_scores(path: str | Path) -> dict[str, np.ndarray]:
    """Read an interpret-stage npz (:data:`cisflow.artifacts.SCORES`): ``x``, ``scores``, ``hypothetical``
    ``(N, 4, L)``, ``ids``, optional ``chrom`` / ``start``, checked."""
    return read(path, SCORES, what="contribution scores npz")


def _truth_pwms(truth_motifs: Sequence[str] | None) -> dict[str, np.ndarray]:
    """``{name: pwm}`` from motif specs and MEME files (:func:`cisflow.pwm.load_motifs`)."""
    return load_motifs(truth_motifs or ())


def _write_summary(patterns, jaspar: pd.DataFrame, data: Mapping, path: Path, merged: pd.DataFrame | None = None
                   ) -> pd.DataFrame:  # fmt: skip
    """The per-pattern table (:func:`cisflow.motifs.summary.pattern_summary`), written and logged."""
    table = pattern_summary(patterns, jaspar, data["ids"], data.get("chrom"), data.get("start"), MATCH_Q,
                            merged=merged)  # fmt: skip
    write_tsv(table, path)
    for r in table.itertuples():
        same = f", same motif as {r.same_motif_as}" if r.same_motif_as != r.pattern else ""
        same += f", fitted as {r.merged_into}" if r.merged_into != r.pattern else ""
        log.info("%s: %d seqlets at %d loci, top match %s%s", r.pattern, r.n_seqlets, r.n_loci, r.match or "-", same)
    return table


def _hit_defaults() -> dict[str, Any]:
    """The ``motifs.hits`` keys of the config (:data:`HIT_DEFAULTS` but the device, which is not one)."""
    return {key: value for key, value in HIT_DEFAULTS.items() if key != "device"}


@dataclasses.dataclass(frozen=True)
class MotifsParams(StageParams):
    """The config's ``motifs`` section: whether and on which scores motifs are found, and the settings of
    :func:`discover_motifs` (TF-MoDISco, JASPAR matches, ``hits``: :func:`cisflow.motifs.hitstage.hit_options`)."""

    SECTION: ClassVar[str] = "motifs"
    enabled: bool = True
    method: str = "deepshap"
    release: str = DEFAULT_JASPAR_RELEASE
    taxon: str | None = None
    truth: tuple[str, ...] = ()
    max_seqlets: int = 2000
    window: int | None = None
    n_leiden_runs: int = 50
    min_metacluster_size: int = 100
    final_min_cluster_size: int = 20
    target_seqlet_fdr: float = 0.2
    top: int = 5
    hits: dict[str, Any] = dataclasses.field(default_factory=_hit_defaults)


def discover_motifs(
    scores_npz: str | Path,
    outputs: Mapping[str, str | Path],
    release: str = DEFAULT_JASPAR_RELEASE,
    taxon: str | None = None,
    max_seqlets: int = 2000,
    window: int | None = None,
    truth_motifs: Sequence[str] | None = None,
    top: int = 5,
    embeddings_tsv: str | Path | None = None,
    peaks: Sequence[str | Path] = (),
    hits: Mapping | None = None,
    seed: int = 0,
    comparison_tsv: str | Path | None = None,
    **modisco_kwargs,
) -> dict[str, Path]:
    """Discover motifs in contribution scores, call their hits, check them, and write every output.

    Parameters
    ----------
    scores_npz
        Interpret-stage npz (see :func:`load_scores`).
    outputs
        A path for every key of :data:`OUTPUTS` (:func:`motif_outputs` gives the usual names in a folder).
    release, taxon
        JASPAR release and pyjaspar tax_group for the matches (taxon None: all CORE matrices).
    truth_motifs
        Motif specs (e.g. ``TAL1_known4``, ``jaspar:MA0363.2``) to match the patterns against, e.g. a
        simulation's own motifs; ``truth_matches.tsv`` is written empty (header only) without them.
    embeddings_tsv
        A simulation's planted instances: adds their recall / precision to ``hit_checks.tsv``.
    peaks
        narrowPeak files whose summits hits are placed relative to (genome regions only).
    hits
        Hit-calling options (:data:`cisflow.motifs.hitstage.HIT_DEFAULTS`): ``lambda``, ``fdr``, ``shuffles``,
        ``window`` (None: the modisco window), ``seqlet_tolerance``, ``pwm_threshold``, ``device``.
    seed
        Seed of the null shuffles.
    comparison_tsv
        The evaluation's model comparison (:func:`cisflow.evaluate.compare.compare_metrics_files`): one
        warning line when the scored CNN lost to a baseline on held-out auPRC (:func:`cisflow.verdict.warn_motifs`).
    **modisco_kwargs
        Passed to :func:`cisflow.motifs.modisco.run_modisco` (e.g. ``n_leiden_runs``, ``min_metacluster_size``).

    Returns
    -------
    dict
        The output paths keyed as :data:`OUTPUTS`.
    """
    missing = [k for k in OUTPUTS if k not in outputs]
    if missing:
        raise CisflowError(f"motif outputs lack {', '.join(missing)}")
    paths = {k: Path(outputs[k]) for k in OUTPUTS}
    log_params(
        "motifs",
        {
            "release": release,
            "taxon": taxon,
            "max_seqlets": max_seqlets,
            "window": window,
            "truth_motifs": truth_motifs,
            "top": top,
            "hits": hits,
            "seed": seed,
            **modisco_kwargs,
        },
    )
    opts = hit_options(hits, window)
    truth = _truth_pwms(truth_motifs)
    embeddings = read_embeddings(embeddings_tsv) if embeddings_tsv is not None else None
    summits = read_summits(peaks) if peaks else None
    data = load_scores(scores_npz)
    if comparison_tsv is not None:
        warn_motifs(comparison_tsv)
    central_window(data["x"].shape[2], opts["window"])
    patterns = run_modisco(
        data["x"], data["hypothetical"], paths, max_seqlets=max_seqlets, window=window, source=scores_npz,
        **modisco_kwargs,
    )  # fmt: skip
    pwms = {p.name: p.trimmed_pwm for p in patterns}
    empty = pd.DataFrame(columns=MATCH_COLUMNS)
    jaspar = match_jaspar(pwms, release, taxon, top) if pwms else empty
    truth_df = match_motifs(pwms, truth, top) if pwms and truth else empty
    write_tsv(jaspar, paths["jaspar"])
    merge = find_merge(data, patterns, opts | {"seed": seed}) if patterns else None
    merged = merge.table([p.name for p in patterns]) if merge is not None else None
    summary = _write_summary(patterns, jaspar, data, paths["summary"], merged)
    write_tsv(truth_df, paths["truth"])
    targets = known_targets(jaspar, truth_df, truth, release, taxon)
    groups = dict(zip(summary["pattern"], summary["same_motif_as"], strict=True))
    result = run_hit_stage(data, patterns, jaspar, truth_df, targets, opts | {"seed": seed}, paths, embeddings, summits,
                           groups, merge)  # fmt: skip
    write_html(paths["html"], patterns, jaspar, truth_df, result, paths["logos"], paths["summary_png"])
    log.info("%d patterns, %d hits in %d regions", len(patterns), len(result["hits"]), len(data["ids"]))
    return paths
