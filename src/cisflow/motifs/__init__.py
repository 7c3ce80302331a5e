"""Motif discovery from contribution scores: TF-MoDISco (modisco-lite), TOMTOM matches, calibrated motif hits.

- :func:`run_modisco` — modisco-lite on one-hot + hypothetical scores; writes h5, patterns JSON, MEME, logos;
- :func:`match_jaspar` / :func:`match_motifs` — TOMTOM (memelite) matches with BH q-values;
- :func:`call_hits` — Fi-NeMo's sparse non-negative CWM fit (:func:`fit_hits`), both strands, all
  patterns competing, thresholds from a base-shuffled null; :func:`per_region_table`, :func:`write_hits`;
- :func:`seqlet_recall` / :func:`planted_recall_precision` — checks of the hits;
- :func:`pwm_scan` / :func:`compare_with_pwm_scan` — FIMO (memelite) matches of the same known motifs;
- :func:`discover_motifs` — the whole stage in one call (behind the ``motifs`` rule and CLI).
"""

from cisflow.motifs.calibrate import empirical_qvalues, shuffle_positions
from cisflow.motifs.checks import planted_recall_precision, seqlet_recall
from cisflow.motifs.fit import MotifSet, fit_hits, motif_set
from cisflow.motifs.hits import annotate_hits, call_hits, per_region_table, write_hits
from cisflow.motifs.matching import benjamini_hochberg, jaspar_matrices, match_jaspar, match_motifs
from cisflow.motifs.modisco import Pattern, check_window, read_patterns, run_modisco, trim_bounds
from cisflow.motifs.pipeline import OUTPUTS, discover_motifs, load_scores, motif_outputs
from cisflow.motifs.pwmscan import compare_with_pwm_scan, pwm_scan

__all__ = [
    "OUTPUTS",
    "MotifSet",
    "Pattern",
    "annotate_hits",
    "benjamini_hochberg",
    "call_hits",
    "check_window",
    "compare_with_pwm_scan",
    "discover_motifs",
    "empirical_qvalues",
    "fit_hits",
    "jaspar_matrices",
    "load_scores",
    "match_jaspar",
    "match_motifs",
    "motif_outputs",
    "motif_set",
    "per_region_table",
    "planted_recall_precision",
    "pwm_scan",
    "read_patterns",
    "run_modisco",
    "seqlet_recall",
    "shuffle_positions",
    "trim_bounds",
    "write_hits",
]
