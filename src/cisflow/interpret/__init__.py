"""Contribution scores for sequence models, and checks of them against ground truth.

Methods (each returns float32 ``(N, 4, L)`` for one task's logit):

- :func:`ism` / :func:`ism_fast`: exact in-silico saturation mutagenesis (naive / fastISM-style);
- :func:`input_gradients`, :func:`gradient_x_input`, :func:`hypothetical_gradients`;
- :func:`deepshap` / :func:`deepshap_scores`: DeepLIFT rescale rule over dinucleotide-shuffled references.

Scoring: :func:`positional_auprc` (DragoNN-style, vs simulated motif embeddings),
:func:`filter_motif_matches` and :func:`plot_filter_logos` (first-layer filters vs known motifs).
Stage entry point: :func:`interpret_model`.
"""

from cisflow.interpret.deepshap import deepshap, deepshap_scores, shuffled_references
from cisflow.interpret.gradients import gradient_x_input, hypothetical_gradients, input_gradients
from cisflow.interpret.ism import ism, ism_fast
from cisflow.interpret.pipeline import METHODS, compute_scores, interpret_model, interpret_outputs, select_sequences
from cisflow.interpret.scoring import (
    filter_motif_matches,
    filter_pwms,
    plot_filter_logos,
    position_importance,
    positional_auprc,
    read_embeddings,
)

__all__ = [
    "METHODS",
    "compute_scores",
    "deepshap",
    "deepshap_scores",
    "filter_motif_matches",
    "filter_pwms",
    "gradient_x_input",
    "hypothetical_gradients",
    "input_gradients",
    "interpret_model",
    "interpret_outputs",
    "ism",
    "ism_fast",
    "plot_filter_logos",
    "position_importance",
    "positional_auprc",
    "read_embeddings",
    "select_sequences",
    "shuffled_references",
]
