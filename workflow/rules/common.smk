# Shared helpers: the sample sheet, wildcard constraints and the list of final outputs.
import os

from snakemake.utils import validate

from cisflow.samples import read_sample_sheet


wildcard_constraints:
    group=r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+",
    sample=r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.rep\d+",
    which=r"rep\d+|pooled|pr1|pr2",
    split=r"train|valid|test",
    method=r"ism|grad_x_input|deepshap",


SPLITS = ["train", "valid", "test"]
# FactorNet-style extra input channels (bigWigs), after A C G T
SIGNAL_BIGWIGS = config.get("inputs", {}).get("signal_bigwigs", [])
BASELINES = (
    (["pwm"] if config["baselines"]["motifs"] else [])
    + (["kmer"] if config["baselines"]["kmer"] else [])
    + (["gkm"] if config["baselines"]["gkm"]["enabled"] else [])
)
SAMPLE_COLUMNS = [
    "task",
    "cell_type",
    "assay",
    "replicate",
    "reads",
    "control",
    "format",
]

if config["track"] == "genome":
    SAMPLES = read_sample_sheet(config["samples"])
    validate(
        SAMPLES[SAMPLE_COLUMNS].replace("", None), "../schemas/samples.schema.yaml"
    )
    GROUPS = sorted(SAMPLES["group"].unique())
else:
    SAMPLES = None
    GROUPS = []


def group_samples(group):
    """Rows of the sample sheet for one (task, cell type) group."""
    return SAMPLES[SAMPLES["group"] == group]


def sample_row(sample):
    """The sample sheet row of one replicate (paths resolved: reads_path, control_path)."""
    return SAMPLES.set_index("sample").loc[sample]


def group_assay(group):
    """'chip' or 'atac' for a group (one assay per group)."""
    return group_samples(group)["assay"].iloc[0]


def group_replicates(group):
    """Replicate labels ('rep1', 'rep2', ...) of a group."""
    return [f"rep{r}" for r in sorted(group_samples(group)["replicate"])]


def group_has_control(group):
    """Whether any replicate of a group has a control."""
    return (group_samples(group)["control"] != "").any()


def train_inputs(wildcards):
    """Training data: the simulated dataset, or on the genome track the labels streamed by the loader."""
    inputs = {"valid": "results/data/valid.npz"}
    if config["track"] == "simulation":
        return inputs | {"train": "results/data/train.npz"}
    return inputs | {
        "labels": "results/labels/labels.npz",
        "fasta": config["genome"]["fasta"],
        "splits": "results/data/splits.json",
        "signal": SIGNAL_BIGWIGS,
    }


def all_outputs():
    """Final targets of the configured track."""
    targets = [
        "results/train/model.safetensors",
        "results/evaluate/metrics.json",
        "results/evaluate/comparison.tsv",
        "results/evaluate/curves_vs_baselines.png",
        "results/interpret/summary.tsv",
    ]
    if config["motifs"]["enabled"]:
        targets.append("results/motifs/motifs.html")
    if config["track"] == "simulation":
        targets.append("results/simulate/embeddings.tsv")
    else:
        targets += expand("results/peaks/{group}.summary.json", group=GROUPS)
        targets += expand("results/signal/{sample}.cpm.bw", sample=SAMPLES["sample"])
        targets += ["results/labels/summary.tsv", "results/labels/labels.tsv.gz"]
        targets += ["results/evaluate/dream_scores.tsv"]
        targets += expand("results/evaluate/submissions/{task}.tab.gz", task=GROUPS)
    return targets
