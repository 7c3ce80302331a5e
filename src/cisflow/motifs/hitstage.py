"""The hit half of the motif stage: calibrated hits of the discovered patterns, their checks, the
comparison with a PWM scan of the same known motifs, and their tables, BED file and plot."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError
from cisflow.io import atomic_open
from cisflow.motifs.checks import (
    PLANTED_COLUMNS,
    SEQLET_COLUMNS,
    distinct_seqlets,
    flagged_seqlets,
    motif_recall,
    planted_recall_precision,
    seqlet_placement,
    seqlet_recall,
    wilson_interval,
)
from cisflow.motifs.hits import (
    HIT_COLUMNS,
    annotate_hits,
    call_hits,
    central_window,
    per_region_table,
    summit_offsets,
    write_hits,
)
from cisflow.motifs.matching import jaspar_matrices
from cisflow.motifs.merge import Merge, member_masks, merge_patterns
from cisflow.motifs.modisco import Pattern
from cisflow.motifs.plots import plot_hit_summary
from cisflow.motifs.pwmscan import COMPARE_COLUMNS, SCAN_COLUMNS, compare_with_pwm_scan, pwm_scan

log = logging.getLogger(__name__)

#: Hit-calling options of :func:`discover_motifs` (``hits=``) and their defaults.
HIT_DEFAULTS = {
    "lambda": "seqlets",
    "fdr": 0.05,
    "shuffles": 2,
    "window": None,
    "seqlet_tolerance": 0,
    "pwm_threshold": 1e-4,
    "merge": "auto",
    "device": None,
}
#: A pattern counts as a known motif when its rank-1 TOMTOM match has at most this q-value.
MATCH_Q = 0.05
CHECK_COLUMNS = ["check", "subject", "n", "n_found", "fraction", "fraction_low", "fraction_high", "n_hits", "precision",
                 "lambda"]  # fmt: skip


def _check_hit_options(opts: Mapping) -> None:
    """One-line CisflowErrors for hit options out of range (before anything is computed or written)."""
    lam = opts["lambda"]
    values = [] if lam == "seqlets" else lam.values() if isinstance(lam, Mapping) else [lam]
    bad = [
        ("lambda", lam, (isinstance(lam, str) and lam != "seqlets") or not all(0 < float(v) <= 1 for v in values)),
        ("fdr", opts["fdr"], not 0 < opts["fdr"] <= 1),
        ("shuffles", opts["shuffles"], int(opts["shuffles"]) < 1),
        ("window", opts["window"], opts["window"] is not None and int(opts["window"]) < 1),
        ("seqlet_tolerance", opts["seqlet_tolerance"], int(opts["seqlet_tolerance"]) < 0),
        ("pwm_threshold", opts["pwm_threshold"], not 0 < opts["pwm_threshold"] < 1),
        ("merge", opts["merge"], not _merge_ok(opts["merge"])),
    ]
    for name, value, wrong in bad:
        if wrong:
            ranges = {"lambda": "in (0, 1] or 'seqlets'", "fdr": "in (0, 1]", "shuffles": "≥ 1", "window": "≥ 1 bp",
                      "seqlet_tolerance": "≥ 0 bp", "pwm_threshold": "in (0, 1)",
                      "merge": "auto, a seqlet confusion in (0, 1] or false"}  # fmt: skip
            raise CisflowError(f"hit option {name} = {value} must be {ranges[name]}")


def _merge_ok(value) -> bool:
    """Whether ``value`` is a valid ``merge`` option (auto, a number in (0, 1], false or None)."""
    if value is None or value is False or value == "auto":
        return True
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 1


def hit_options(hits: Mapping | None, modisco_window: int | None) -> dict:
    """:data:`HIT_DEFAULTS` updated by ``hits``, as :func:`call_hits` keywords (window default: modisco's)."""
    unknown = sorted(set(hits or {}) - set(HIT_DEFAULTS))
    if unknown:
        raise CisflowError(f"unknown hit option(s) {', '.join(unknown)}; choose from {', '.join(HIT_DEFAULTS)}")
    opts = HIT_DEFAULTS | dict(hits or {})
    _check_hit_options(opts)
    return {
        "lambdas": opts["lambda"],
        "fdr": opts["fdr"],
        "n_shuffles": opts["shuffles"],
        "window": opts["window"] if opts["window"] is not None else modisco_window,
        "device": opts["device"],
        "seqlet_tolerance": opts["seqlet_tolerance"],
        "pwm_threshold": opts["pwm_threshold"],
        "merge": opts["merge"],
    }


def write_tsv(df: pd.DataFrame, path: str | Path, index: bool = False) -> None:
    """A DataFrame as TSV, atomically."""
    with atomic_open(path) as handle:
        df.to_csv(handle, sep="\t", index=index, float_format="%.6g")


def pattern_motifs(matches: pd.DataFrame, max_q: float) -> dict[str, str]:
    """``{pattern: target_id}`` of each pattern's rank-1 match with q-value ≤ ``max_q``."""
    best = matches[(matches["rank"] == 1) & (matches["qvalue"] <= max_q)]
    return dict(zip(best["pattern"], best["target_id"].astype(str), strict=True))


def _labels(jaspar: pd.DataFrame, max_q: float) -> dict[str, str]:
    """``{pattern: "TF (matrix id)"}`` of the confident rank-1 JASPAR matches."""
    best = jaspar[(jaspar["rank"] == 1) & (jaspar["qvalue"] <= max_q)]
    return {r.pattern: f"{r.target_name} ({r.target_id})" for r in best.itertuples()}


def _motif_of(merge: Merge, groups: Mapping[str, str] | None) -> dict[str, str]:
    """``{pattern: motif}`` of the hits: a merged pattern's merged motif, else its ``same_motif_as`` when that
    pattern is not merged either, else itself."""
    out = {}
    for name, unit in merge.groups.items():
        same = (groups or {}).get(name, name)
        out[name] = unit if unit != name else same if merge.groups.get(same, same) == same else name
    return out


def find_merge(data: Mapping, patterns: list[Pattern], opts: Mapping) -> Merge:
    """:func:`cisflow.motifs.merge.merge_patterns` with the stage's ``merge`` option and seed."""
    return merge_patterns(data["scores"], data["x"], data["hypothetical"], patterns, opts.get("merge", "auto"),
                          opts.get("seed", 0))  # fmt: skip


def _region_table(per_region: pd.DataFrame, data: dict, window: tuple[int, int]) -> pd.DataFrame:
    """The per-region table with the regions' genome coordinates (of the hit window) when known."""
    if "chrom" not in data or "start" not in data:
        return per_region
    table = per_region.copy()
    start = np.asarray(data["start"], dtype=np.int64) + window[0]
    table.insert(0, "chrom", np.asarray(data["chrom"]).astype(str))
    table.insert(1, "start", start)
    table.insert(2, "end", start + window[1])
    return table


def _call_and_annotate(data: dict, patterns: list[Pattern], labels: dict, hit_opts: dict) -> tuple[pd.DataFrame, dict]:
    """Calibrated hits with labels, coordinates and (with ``summits``) their offset from the nearest summit."""
    opts = dict(hit_opts)
    summits = opts.pop("summits", None)
    hits, info = call_hits(data["scores"], data["x"], patterns, data["ids"], **opts)
    hits = annotate_hits(hits, data["x"].shape[2], labels, data.get("chrom"), data.get("start"))
    if summits is not None and "chrom" in hits:
        centre = (hits["genome_start"] + hits["genome_end"]) / 2
        hits["summit_offset"] = summit_offsets(hits["chrom"].to_numpy(), centre.to_numpy(), summits)
    return hits, info


def group_recall(hits: pd.DataFrame, patterns: list[Pattern], ids, groups: Mapping[str, str], tolerance: int
                 ) -> pd.DataFrame:  # fmt: skip
    """Seqlet recall when a hit of any pattern of a seqlet's motif counts (``groups``: ``{pattern: representative}``,
    see :func:`cisflow.motifs.summary.pattern_summary`; :func:`cisflow.motifs.checks.motif_recall`, hits and seqlets
    aligned on the representative's CWM): rows as :func:`cisflow.motifs.checks.seqlet_recall`, ``pattern`` =
    ``"motif:<pattern>"`` for every pattern, then ``"group:<representative>"`` for each motif of two or more
    patterns."""
    recall = motif_recall(hits, patterns, ids, groups, tolerance)
    single = ~recall["pattern"].str.startswith("group:")
    recall.loc[single, "pattern"] = "motif:" + recall.loc[single, "pattern"]
    for row in recall.itertuples():
        log.info("seqlet recall %s: %d / %d = %.3f", row.pattern, row.n_recalled, row.n_seqlets, row.recall)
    return recall


def _per_pattern(motif: Pattern, masks: Mapping[str, np.ndarray], hits: pd.DataFrame, ids, tolerance: int,
                 only: np.ndarray | None = None, equivalent: Mapping[str, tuple[np.ndarray, float]] | None = None
                 ) -> list[pd.DataFrame]:  # fmt: skip
    """Rows of :func:`cisflow.motifs.checks.seqlet_recall` per member of a fitted motif (its seqlets only);
    ``equivalent``: ``{member: (its fitted trimmed CWM, its λ)}`` to count its equivalent placements too."""
    rows = []
    for name, mask in masks.items():
        keep = mask if only is None else mask & only
        same = {motif.name: equivalent[name]} if equivalent is not None else None
        rows.append(seqlet_recall(hits, [motif], ids, tolerance, {motif.name: keep}, same).assign(pattern=name))
    return rows


def _distinct_masks(unit: Pattern, flags: Mapping[str, np.ndarray]) -> np.ndarray:
    """A recall unit's distinct seqlets from its fitted patterns' flags (a merged motif's seqlets are its
    members', member by member)."""
    own = np.asarray(unit.seqlets.get("pattern", [unit.name] * unit.n_seqlets), dtype=object)
    out = np.zeros(len(own), dtype=bool)
    for name in dict.fromkeys(own.tolist()):
        out[own == name] = flags[name]
    return out


def _checks(hits: pd.DataFrame, patterns: list[Pattern], data: dict, truth_df: pd.DataFrame, embeddings,
            seqlet_tolerance: int, groups: Mapping[str, str] | None = None, merge: Merge | None = None,
            lambdas: Mapping[str, float] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Seqlet recall per pattern by the hits of its motif (its own pattern, or any member of the merged motif
    it is part of: ``merge``), the same counting the placements its fitted CWM cannot tell apart at its λ
    (``equivalent:<pattern>``, :func:`cisflow.motifs.checks.self_alignment`; with ``lambdas``, ``{fitted
    pattern: λ}``), of its distinct seqlets (``distinct:<pattern>``,
    :func:`cisflow.motifs.checks.distinct_seqlets` among the fitted patterns), per merged motif
    (``merged:<motif>``), per group of ``groups`` (:func:`group_recall`, the unmerged patterns; a merged
    pattern's row is its recall by its merged motif), and planted-instance recall / precision when
    ``embeddings`` are given.

    Planted instances are what makes a simulated sequence positive, so they are compared with the hits of
    the *positive* motifs (summed CWM > 0) whose pattern's rank-1 truth match has q ≤ :data:`MATCH_Q`.
    """
    merge = merge or Merge({p.name: p.name for p in patterns}, np.zeros(0), np.inf, np.zeros(0), list(patterns),
                           list(patterns))  # fmt: skip
    ids = data["ids"]
    by_unit = hits.assign(pattern=hits["pattern"].map(lambda n: merge.groups.get(n, n)))
    flags = distinct_seqlets(data["scores"], data["x"], merge.motifs)
    fitted = {m.name: m for m in merge.motifs}
    parts, distinct, merged, equivalent = [], [], [], []
    for unit in merge.units:
        masks = member_masks(unit, merge.groups)
        parts += _per_pattern(unit, masks, by_unit, ids, seqlet_tolerance)
        distinct += _per_pattern(unit, masks, by_unit, ids, seqlet_tolerance, _distinct_masks(unit, flags))
        if lambdas is not None:
            same = {n: (fitted[n].trimmed_cwm, float(lambdas[n])) for n in masks}
            equivalent += _per_pattern(unit, masks, by_unit, ids, seqlet_tolerance, equivalent=same)
        if len(masks) > 1:
            merged.append(seqlet_recall(by_unit, [unit], ids, seqlet_tolerance).assign(pattern=f"merged:{unit.name}"))
    order = {p.name: i for i, p in enumerate(patterns)}
    recall = pd.concat(parts, ignore_index=True).sort_values("pattern", key=lambda c: c.map(order), kind="stable")
    distinct = pd.concat(distinct, ignore_index=True).set_index("pattern").loc[recall["pattern"]].reset_index()
    for row, own in zip(recall.itertuples(), distinct.itertuples(), strict=True):
        log.info("seqlet recall %s: %d / %d = %.3f (distinct seqlets %d / %d)", row.pattern, row.n_recalled,
                 row.n_seqlets, row.recall, own.n_recalled, own.n_seqlets)  # fmt: skip
    for row in (r for m in merged for r in m.itertuples()):
        log.info("seqlet recall %s: %d / %d = %.3f", row.pattern, row.n_recalled, row.n_seqlets, row.recall)
    recall = recall.reset_index(drop=True)
    parts = [recall, distinct.assign(pattern="distinct:" + distinct["pattern"]), *merged]
    if equivalent:
        same = pd.concat(equivalent, ignore_index=True).set_index("pattern").loc[recall["pattern"]].reset_index()
        for row in same.itertuples():
            log.info("seqlet recall %s at a placement its CWM cannot tell apart: %d / %d = %.3f", row.pattern,
                     row.n_recalled, row.n_seqlets, row.recall)  # fmt: skip
        parts.append(same.assign(pattern="equivalent:" + same["pattern"]))
    if groups:
        alone = [p for p in patterns if merge.groups[p.name] == p.name]
        own_groups = {p.name: groups.get(p.name, p.name) for p in alone}
        own_groups = {n: g if merge.groups.get(g, g) == g else n for n, g in own_groups.items()}
        motif_rows = group_recall(hits, alone, ids, own_groups, seqlet_tolerance) if alone else None
        in_merged = recall[recall["pattern"].map(merge.groups) != recall["pattern"]]
        parts += [motif_rows, in_merged.assign(pattern="motif:" + in_merged["pattern"])]
    placed = flagged_seqlets(patterns, seqlet_placement(data["scores"], data["x"], patterns), ids)
    for row in placed.itertuples():
        log.info("seqlets placed best by their own CWM %s: %d / %d = %.3f", row.pattern, row.n_recalled,
                 row.n_seqlets, row.recall)  # fmt: skip
    parts.append(placed.assign(pattern="placement:" + placed["pattern"]))
    recall = pd.concat([p for p in parts if p is not None and len(p)], ignore_index=True)
    planted = pd.DataFrame(columns=PLANTED_COLUMNS)
    if embeddings is not None:
        positive = {u.name for u in merge.units if u.trimmed_cwm.sum() > 0}
        matched: dict[str, str] = {}
        for p, m in pattern_motifs(truth_df, MATCH_Q).items():
            if merge.groups.get(p, p) in positive:
                matched.setdefault(merge.groups.get(p, p), m)
        planted = planted_recall_precision(by_unit, embeddings, ids, matched)
        for row in planted.itertuples():
            log.info("planted %s: recall %.3f, precision %.3f", row.motif, row.recall, row.precision)
    return recall, planted


def _pwm_comparison(hits: pd.DataFrame, info: dict, data: dict, targets: dict, threshold: float
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """FIMO matches of the patterns' known motifs in the hit window, and the region-level comparison."""
    by_motif, pwms = targets
    if not pwms:
        return pd.DataFrame(columns=SCAN_COLUMNS), pd.DataFrame(columns=COMPARE_COLUMNS)
    offset, width = info["offset"], info["null_x"].shape[2]
    scan = pwm_scan(pwms, data["x"][:, :, offset : offset + width], data["ids"], threshold)
    scan[["start", "end"]] += offset
    n_null = len(info["null_x"])
    null_scan = pwm_scan(pwms, info["null_x"], [str(i) for i in range(n_null)], threshold)
    return scan, compare_with_pwm_scan(hits, scan, data["ids"], by_motif, null_scan, n_null)


def known_targets(jaspar: pd.DataFrame, truth_df: pd.DataFrame, truth: dict, release: str, taxon: str | None) -> tuple:
    """``({motif: [patterns]}, {motif: pwm})``: the motifs to scan with PWMs — the confident rank-1 JASPAR
    match of each pattern and every truth motif (scanned even when no pattern matches it) — and the
    patterns whose hits count for each (a pattern may count for its JASPAR match and its truth match)."""
    by_motif: dict[str, list[str]] = {m: [] for m in truth}
    for matches in (jaspar, truth_df):
        for pattern, motif in pattern_motifs(matches, MATCH_Q).items():
            by_motif.setdefault(motif, []).append(pattern)
    jaspar_ids = [m for m in by_motif if m not in truth]
    core = jaspar_matrices(release, taxon) if jaspar_ids else {}
    return by_motif, {m: truth[m] if m in truth else core[m] for m in by_motif}


def run_hit_stage(
    data: Mapping,
    patterns: list[Pattern],
    jaspar: pd.DataFrame,
    truth_df: pd.DataFrame,
    targets: tuple[dict, dict],
    opts: dict,
    paths: Mapping[str, Path],
    embeddings: pd.DataFrame | None = None,
    summits: Mapping[str, np.ndarray] | None = None,
    groups: Mapping[str, str] | None = None,
    merge: Merge | None = None,
) -> dict:
    """Call hits, run the checks and the PWM comparison, and write their tables, BED and plot.

    Parameters
    ----------
    data
        :func:`cisflow.motifs.pipeline.load_scores` arrays.
    patterns, jaspar, truth_df
        The patterns and their JASPAR / truth matches.
    targets
        :func:`known_targets`.
    opts
        :func:`hit_options` plus ``seed``.
    paths
        Output paths keyed ``hits bed per_region checks pwm_matches pwm_comparison summary_png``.
    embeddings, summits
        A simulation's planted instances; peak summits ``{chrom: positions}``.
    groups
        ``{pattern: group}`` of the patterns that are one motif: their seqlet recall as a group is added
        (:func:`group_recall`) as ``seqlet_recall_group`` rows.
    merge
        The patterns merged before the fit (:func:`find_merge`; None: found here with ``opts["merge"]``): the
        fit uses its motifs, and each pattern's seqlets are recalled by the hits of its motif.

    Returns
    -------
    dict
        DataFrames ``hits``, ``recall``, ``planted``, ``compare``, ``scan``; ``merge`` (:class:`Merge`).
    """
    opts = dict(opts)
    merge_option = opts.pop("merge", "auto")
    if merge is None and patterns:
        merge = find_merge(data, patterns, opts | {"merge": merge_option})
    fitted = merge.motifs if merge is not None else list(patterns)
    names = [m.name for m in fitted]
    if not patterns:
        result, window = _empty_result(), central_window(data["x"].shape[2], opts["window"])
    else:
        tolerance, threshold = opts.pop("seqlet_tolerance"), opts.pop("pwm_threshold")
        hits, info = _call_and_annotate(data, fitted, _labels(jaspar, MATCH_Q), opts | {"summits": summits})
        hits.insert(int(hits.columns.get_loc("pattern")) + 1, "motif", hits["pattern"].map(_motif_of(merge, groups)))
        recall, planted = _checks(hits, patterns, data, truth_df, embeddings, tolerance, groups, merge,
                                  info["lambdas"])  # fmt: skip
        subject = recall["pattern"].str.replace(r"^(distinct|equivalent|motif|merged|placement):", "", regex=True)
        lambdas = dict(info["lambdas"])
        for unit in merge.units:  # a merged motif: the L1 weight of the fit, its members' smallest λ
            lambdas.setdefault(unit.name, min(v for k, v in lambdas.items() if merge.groups.get(k) == unit.name))
        recall["lambda"] = subject.map(lambdas)
        scan, compare = _pwm_comparison(hits, info, data, targets, threshold)
        result = {"hits": hits, "recall": recall, "planted": planted, "compare": compare, "scan": scan}
        window = (info["offset"], info["null_x"].shape[2])
    per_region = per_region_table(result["hits"], data["ids"], names)
    write_hits(result["hits"], paths["hits"], paths["bed"])
    write_tsv(_region_table(per_region, data, window), paths["per_region"], index=True)
    write_tsv(_check_table(result["recall"], result["planted"]), paths["checks"])
    write_tsv(result["scan"], paths["pwm_matches"])
    write_tsv(result["compare"], paths["pwm_comparison"])
    plot_hit_summary(result["hits"], per_region, names, paths["summary_png"], span=window[1] / 2)
    result["merge"] = merge
    return result


def _empty_result() -> dict:
    """The tables of a run without patterns: headers only."""
    return {
        "hits": pd.DataFrame(columns=["region", "pattern", "motif", "jaspar", *HIT_COLUMNS[2:], "center_offset"]),
        "recall": pd.DataFrame(columns=SEQLET_COLUMNS),
        "planted": pd.DataFrame(columns=PLANTED_COLUMNS),
        "compare": pd.DataFrame(columns=COMPARE_COLUMNS),
        "scan": pd.DataFrame(columns=SCAN_COLUMNS),
    }


def _check_table(recall: pd.DataFrame, planted: pd.DataFrame) -> pd.DataFrame:
    """Both checks in one long table (:data:`CHECK_COLUMNS`; ``lambda``: the pattern's λ)."""
    name = recall["pattern"].astype(str)
    prefixes = {"group:": "seqlet_recall_group", "distinct:": "seqlet_recall_distinct", "motif:": "seqlet_recall_motif",
                "merged:": "seqlet_recall_merged", "placement:": "seqlet_placement",
                "equivalent:": "seqlet_recall_equivalent"}  # fmt: skip
    check = np.select([name.str.startswith(k) for k in prefixes], list(prefixes.values()), "seqlet_recall")
    subject = name.str.replace(r"^(group|distinct|equivalent|motif|merged|placement):", "", regex=True)
    seqlets = pd.DataFrame({"check": check, "subject": subject, "n": recall["n_seqlets"],
                            "n_found": recall["n_recalled"], "fraction": recall["recall"], "n_hits": recall["n_hits"],
                            "precision": np.nan, "lambda": recall.get("lambda", np.nan)})  # fmt: skip
    truth = pd.DataFrame({"check": "planted_instances", "subject": planted["motif"], "n": planted["n_planted"],
                          "n_found": planted["n_recalled"], "fraction": planted["recall"], "n_hits": planted["n_hits"],
                          "precision": planted["precision"], "lambda": np.nan})  # fmt: skip
    parts = [t for t in (seqlets, truth) if len(t)]
    if not parts:
        return pd.DataFrame(columns=CHECK_COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    table["fraction_low"], table["fraction_high"] = wilson_interval(table["n_found"], table["n"])
    return table[CHECK_COLUMNS]
