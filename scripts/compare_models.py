"""Snakemake adapter: one line per model and task, the CNN beside its baselines, and their curves overlaid."""

from _bootstrap import setup

from cisflow.evaluate.compare import compare_metrics_files, plot_model_comparison

log = setup(snakemake)
names, inputs = snakemake.params.baselines, snakemake.input
# motif_model.enabled: the model the motifs are read from, beside the model (cisflow.verdict: a CNN row)
motifs = {"cnn_motifs": inputs.motif_model} if inputs.motif_model else {}
motif_predictions = {"cnn_motifs": inputs.motif_model_predictions} if inputs.motif_model else {}
compare_metrics_files(
    {"cnn": inputs.cnn} | motifs | dict(zip(names, inputs.baselines, strict=True)), snakemake.output.table
)
plot_model_comparison(
    {"cnn": inputs.cnn_predictions} | motif_predictions | dict(zip(names, inputs.baseline_predictions, strict=True)),
    snakemake.output.curves,
)
