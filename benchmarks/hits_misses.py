"""Benchmark: where the hits lie for the seqlets the exact-start recall misses.

For every pattern (a merged pattern: in its merged motif's frame, with its own fitted CWM) it lists the seqlets
that no hit of its motif recalls at the exact start and strand, and for each the nearest hit of the motif over
its trimmed core (:func:`cisflow.motifs.checks.missed_seqlets`): the shift in bp along the seqlet's strand and
whether on the other strand. One constant shift for all of a pattern's misses would point at how its seqlets
were put into the merged frame; shifts that are the CWM's own self-alignments (cosine of the CWM with its copy so
placed, :func:`cisflow.motifs.checks.self_alignment`, at least the pattern's λ) are placements the CWM cannot
tell apart (docs/hits.md). Each pattern's misses are also counted by what keeps a hit of the pattern off them:
``below_lambda``, the seqlets whose scores its own fitted CWM, placed where modisco placed them, matches with a
cosine below the pattern's λ (no kept hit of the pattern can sit there, only another member's of its merged
motif: λ is the 10th percentile of these cosines, so about a tenth of every pattern's seqlets);
``not_distinct``, the others that another fitted pattern's CWM fits better
(:func:`cisflow.motifs.checks.distinct_seqlets`: the joint fit gives them to that pattern); and
``under_other_motif``, the misses with a kept hit of another motif over half their trimmed core. Reads the
tables that ``benchmarks/hits_recall.py --out OUT`` wrote::

    python benchmarks/hits_misses.py --run /path/to/run --configfile CONFIG --out OUT [--top 6]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cisflow.config import load_config  # noqa: E402
from cisflow.motifs import load_scores, read_patterns  # noqa: E402
from cisflow.motifs.checks import distinct_seqlets, missed_seqlets, placement_cosines  # noqa: E402
from cisflow.motifs.hitstage import _distinct_masks, find_merge, hit_options  # noqa: E402
from cisflow.motifs.merge import member_masks  # noqa: E402


def _seqlet_causes(unit, mask: np.ndarray, ids: np.ndarray, track: np.ndarray, fitted, distinct: np.ndarray
                   ) -> pd.DataFrame:  # fmt: skip
    """A member's seqlets of ``unit`` (deduplicated) with ``cosine`` (its fitted CWM at the seqlet's placement),
    ``distinct`` and ``lo hi`` (the trimmed core in the region)."""
    s = unit.seqlets
    idx, start = np.asarray(s["example_idx"])[mask], np.asarray(s["start"])[mask]
    minus = np.asarray(s["is_revcomp"], dtype=bool)[mask]
    cosine, _ = placement_cosines(track, fitted.cwm, fitted.trim, idx, start, 0)
    width, (lo, hi) = unit.cwm.shape[1], unit.trim
    core = start + np.where(minus, width - hi, lo)
    table = pd.DataFrame({"region": ids[idx], "start": start, "strand": np.where(minus, "-", "+"),
                          "cosine": cosine[np.arange(len(idx)), minus.astype(np.int64), 0],
                          "distinct": distinct[mask], "lo": core, "hi": core + hi - lo})  # fmt: skip
    return table.drop_duplicates(["region", "start", "strand"])


def _under_other(missed: pd.DataFrame, others: pd.DataFrame) -> np.ndarray:
    """Which ``missed`` seqlets (``region lo hi``) a hit of ``others`` (``region start end``) covers by half."""
    pairs = missed.reset_index().merge(others[["region", "start", "end"]], on="region", suffixes=("", "_hit"))
    cover = np.minimum(pairs["hi"], pairs["end"]) - np.maximum(pairs["lo"], pairs["start_hit"])
    return missed.index.isin(pairs.loc[cover >= (pairs["hi"] - pairs["lo"]) / 2, "index"])


def miss_table(run: Path, configfile: Path, out: Path, top: int) -> pd.DataFrame:
    """One row per pattern: seqlets, missed, no hit over the core, at a self-alignment ≥ λ, by another member,
    the misses below λ at their placement, not distinct, under another motif's hit, and the ``top`` most common
    (shift, strand) of the nearest hits (``s`` same strand, ``o`` other)."""
    cfg = load_config(configfile)
    m = cfg["motifs"]
    data = load_scores(run / "results" / "interpret" / f"{m['method']}.npz")
    patterns = read_patterns(run / "results" / "motifs" / "patterns.json")
    merge = find_merge(data, patterns, hit_options(dict(m.get("hits") or {}), m["window"]) | {"seed": cfg["seed"]})
    hits = pd.read_csv(out / "hits.tsv", sep="\t")
    hits = hits.assign(fitted=hits["pattern"], pattern=hits["pattern"].map(lambda n: merge.groups.get(n, n)))
    checks = pd.read_csv(out / "hit_checks.tsv", sep="\t")
    recall = checks[checks["check"] == "seqlet_recall"].set_index("subject")
    lambdas, counts = recall["lambda"], recall["n"]
    fitted = {p.name: p for p in merge.motifs}
    flags = distinct_seqlets(data["scores"], data["x"], merge.motifs)
    track = np.asarray(data["scores"], dtype=np.float32) * np.asarray(data["x"], dtype=np.float32)
    ids = np.asarray([str(i) for i in data["ids"]], dtype=object)
    rows = []
    for unit in merge.units:
        distinct = _distinct_masks(unit, flags)
        for name, mask in member_masks(unit, merge.groups).items():
            missed = missed_seqlets(hits, unit, data["ids"], mask, fitted[name].trimmed_cwm)
            causes = _seqlet_causes(unit, mask, ids, track, fitted[name], distinct)
            missed = missed.merge(causes, on=["region", "start", "strand"], how="left", validate="one_to_one")
            below = (missed["cosine"] < lambdas[name] - 1e-6).to_numpy()
            near = missed.dropna(subset=["shift"])
            pairs = zip(near["shift"], near["other_strand"], strict=True)
            shifts = Counter(f"{int(s):+d}{'o' if o else 's'}" for s, o in pairs)
            rows.append({"pattern": name, "motif": unit.name, "n": int(counts[name]), "missed": len(missed),
                         "no_hit_on_core": int(missed["shift"].isna().sum()),
                         "at_self_alignment": int((near["self_cosine"] >= lambdas[name] - 1e-9).sum()),
                         "by_other_member": int((near["hit_pattern"] != name).sum()),
                         "below_lambda": int(below.sum()), "not_distinct": int((~below & ~missed["distinct"]).sum()),
                         "under_other_motif": int(_under_other(missed, hits[hits["pattern"] != unit.name]).sum()),
                         "shifts": ", ".join(f"{k}: {v}" for k, v in shifts.most_common(top))})  # fmt: skip
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="finished run (results/interpret, results/motifs)")
    parser.add_argument("--configfile", type=Path, required=True, help="the run's config")
    parser.add_argument("--out", type=Path, required=True, help="hits_recall.py's --out (hits.tsv, hit_checks.tsv)")
    parser.add_argument("--top", type=int, default=6, help="most common shifts listed per pattern")
    args = parser.parse_args()
    table = miss_table(args.run, args.configfile, args.out, args.top)
    with pd.option_context("display.width", 250, "display.max_colwidth", 120):
        print(table.to_string(index=False))
    counts = ["n", "missed", "no_hit_on_core", "at_self_alignment", "by_other_member", "below_lambda", "not_distinct",
              "under_other_motif"]  # fmt: skip
    print("total", table[counts].sum().to_dict())


if __name__ == "__main__":
    main()
