"""Motif discovery from contribution scores: TF-MoDISco (modisco-lite), TOMTOM matches, motif hits.

- :func:`run_modisco` — modisco-lite on one-hot + hypothetical scores; writes h5, patterns JSON, MEME, logos;
- :func:`match_jaspar` / :func:`match_motifs` — TOMTOM (memelite) matches with BH q-values;
- :func:`motif_hits` / :func:`per_region_table` / :func:`write_hits` — CWM scanning of the scores;
- :func:`discover_motifs` — the whole stage in one call (behind the ``motifs`` rule and CLI).
"""

from cisflow.motifs.hits import motif_hits, per_region_table, scan_cwm, write_hits
from cisflow.motifs.matching import benjamini_hochberg, jaspar_matrices, match_jaspar, match_motifs
from cisflow.motifs.modisco import Pattern, check_window, read_patterns, run_modisco, trim_bounds
from cisflow.motifs.pipeline import discover_motifs, load_scores

__all__ = [
    "Pattern",
    "benjamini_hochberg",
    "check_window",
    "discover_motifs",
    "jaspar_matrices",
    "load_scores",
    "match_jaspar",
    "match_motifs",
    "motif_hits",
    "per_region_table",
    "read_patterns",
    "run_modisco",
    "scan_cwm",
    "trim_bounds",
    "write_hits",
]
