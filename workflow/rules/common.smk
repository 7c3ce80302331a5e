# Shared helpers: the sample sheet, wildcard constraints and the list of final outputs.

from snakemake.utils import validate

from cisflow.cellsignal import signal_files
from cisflow.config import (
    DENOVO_FILTERS,
    check_samples_config,
    motif_model_configs,
    schema_path,
)
from cisflow.genome import fasta_sizes, indexed_fasta_name
from cisflow.samples import read_sample_sheet
from cisflow.submissions import submission_paths
from cisflow.transfer import PRETRAIN_DIR, pretrain_model_configs


wildcard_constraints:
    group=r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+",
    sample=r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.rep\d+",
    which=r"rep\d+|pooled|pr1|pr2|rep\d+\.pr[12]",
    control=r"[A-Za-z0-9_-]+",
    split=r"train|valid|test",
    method=r"ism|grad_x_input|deepshap",


SPLITS = ["train", "valid", "test"]
# FactorNet-style extra input channels (bigWigs), after A C G T: one list for every cell type, or
# {cell_type: [bigWig, ...]} (cisflow.cellsignal); SIGNAL_FILES: every one of those files
SIGNAL_BIGWIGS = config["inputs"]["signal_bigwigs"]
SIGNAL_FILES = signal_files(SIGNAL_BIGWIGS)
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
    # the genome as the workflow reads it: an indexed FASTA (a bgzip copy of a plain-gzip input, else a
    # link) and the memory-mapped uint8 code cache that jobs needing sequence for many bins share
    GENOME_FASTA = f"results/genome/{indexed_fasta_name(config['genome']['fasta'])}"
    # its index: the .fai, and the .gzi of a bgzip copy
    GENOME_INDEX = [f"{GENOME_FASTA}.fai"] + (
        [f"{GENOME_FASTA}.gzi"] if GENOME_FASTA.endswith(".gz") else []
    )
    GENOME_CODES = "results/genome/codes.npy"
    # genome size in Gb, for resources that scale with the genome rather than with a job's inputs
    GENOME_GB = (
        sum(fasta_sizes(config["genome"]["fasta"], f"{GENOME_FASTA}.fai").values())
        / 1e9
    )
    SAMPLES = read_sample_sheet(config["samples"])
    validate(SAMPLES[SAMPLE_COLUMNS].replace("", None), str(schema_path("samples")))
    check_samples_config(config, SAMPLES, CONFIG_SOURCE)
    GROUPS = sorted(SAMPLES["group"].unique())
else:
    SAMPLES = None
    GROUPS = []


def canonical(value):
    """A config value with every mapping's keys in sorted order, recursively (lists keep their order).

    Snakemake reruns a job when the repr of one of its params changed; a mapping's repr follows its keys'
    order, so params built from the YAML as it is read would rerun every job after a mere reordering.
    """
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    return value


def section_params(section, keys=None, drop=()):
    """The keys of config[section] that one rule uses (``keys``, else all but ``drop``), canonical.

    A rule that receives only the keys it uses reruns only when one of those changes (not, for example,
    every MACS3 call after a change of the IDR threshold).
    """
    opts = config[section]
    names = sorted(opts) if keys is None else keys
    return canonical({key: opts[key] for key in names if key not in drop})


def mem_mb(base, per_input_mb=0.0, per_genome_gb=0.0):
    """A rule's mem_mb: base + per_input_mb x its inputs' MB + per_genome_gb x the genome's Gb, x attempt.

    A retry (after an out-of-memory kill, with --retries) asks for twice, three times, ... as much.
    """

    def _mem(wildcards, input, attempt):
        genome = per_genome_gb * globals().get("GENOME_GB", 0.0)
        return int((base + per_input_mb * input.size_mb + genome) * attempt)

    return _mem


def runtime(base, per_input_gb=0.0, per_genome_gb=0.0):
    """A rule's runtime in minutes: base + per_input_gb x its inputs' GB (+ per genome Gb), x attempt."""

    def _runtime(wildcards, input, attempt):
        genome = per_genome_gb * globals().get("GENOME_GB", 0.0)
        return int((base + per_input_gb * input.size_mb / 1024 + genome) * attempt)

    return _runtime


def torch_env():
    """Conda env of the GPU jobs: a pinned CUDA PyTorch with device: cuda, else the CPU-or-CUDA one."""
    if config["device"] == "cuda":
        return "../../envs/torch-cuda.yaml"
    return "../../envs/torch.yaml"


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


def group_control_ids(group):
    """The distinct control files of a group (their control_id), in sheet order."""
    ids = group_samples(group)["control_id"]
    return list(dict.fromkeys(ids[ids != ""]))


def control_path(control):
    """The reads file of one control (by control_id)."""
    return SAMPLES.loc[SAMPLES["control_id"] == control, "control_path"].iloc[0]


def group_control(group):
    """MACS3's control for a group: its one filtered control, or the pool of its several; [] without."""
    ids = group_control_ids(group)
    if len(ids) > 1:
        return [f"results/reads/{group}.control.tagAlign.gz"]
    return [f"results/reads/controls/{c}.tagAlign.gz" for c in ids]


def peak_calls(wildcards):
    """MACS3 calls one group's peak sets are made from, by name (see cisflow.peaksets.write_peak_sets).

    Each replicate and its two pseudo-replicates, the pooled reads and the pooled pseudo-replicates;
    with one replicate the pooled reads are that replicate, so its call and its pseudo-replicates are the
    pooled ones (one MACS3 run, not two on the same reads).
    """
    group, reps = wildcards.group, group_replicates(wildcards.group)
    names = {"pooled": "pooled", "pooled.pr1": "pr1", "pooled.pr2": "pr2"}
    for rep in reps:
        names[rep] = rep if len(reps) > 1 else "pooled"
        for pr in ("pr1", "pr2"):
            names[f"{rep}.{pr}"] = f"{rep}.{pr}" if len(reps) > 1 else pr
    return {
        name: f"results/peaks/macs3/{group}.{which}.narrowPeak"
        for name, which in names.items()
    }


def submission_files():
    """DREAM submissions, one per group, under the challenge's names <round>.<TF>.<CELL>.tab.gz."""
    paths = submission_paths(
        GROUPS, "results/evaluate/submissions", config["evaluate"]["submission_round"]
    )
    return [str(paths[group]) for group in GROUPS]


def genome_inputs(wildcards):
    """On the genome track: the code cache the coordinate datasets' windows are made from, and the signal
    bigWigs of their extra channels; nothing on the simulation track (its datasets hold codes).
    """
    if config["track"] != "genome":
        return {}
    return {"genome": GENOME_CODES, "signal": SIGNAL_FILES}


def training_data(wildcards):
    """Training data: the simulated dataset, or on the genome track the labels streamed by the loader."""
    inputs = {"valid": "results/data/valid.npz"}
    if config["track"] == "simulation":
        return inputs | {"train": "results/data/train.npz"}
    return inputs | {
        "labels": "results/labels/labels.npz",
        "genome": GENOME_CODES,
        "splits": "results/data/splits.json",
        # per-cell-type tracks: the training cell types' only (a held-out cell type's are never read)
        "signal": signal_files(SIGNAL_BIGWIGS, config["splits"]["heldout_cell_types"]),
    }


def train_inputs(wildcards):
    """The training data (training_data), the de novo seeds when the model is seeded with them, and the
    files of the model it starts from: model.init_from's, or with pretrain.enabled the pretrain rule's.
    """
    inputs = training_data(wildcards) | seed_inputs(train_model_params())
    source = train_model_params().get("init_from")
    if source:  # transfer learning: a new source model retrains
        inputs["init_from"] = [f"{source}/model.json", f"{source}/model.safetensors"]
    return inputs


# the de novo seed motifs (rule denovo_seeds), what "denovo" in a motif_filters list stands for
DENOVO_SEEDS = "results/denovo/seeds.meme"


def seed_inputs(model):
    """{"seeds": the de novo seeds file} when the model section seeds its filters with it, else {}."""
    filters = model.get("motif_filters")
    return (
        {"seeds": DENOVO_SEEDS}
        if isinstance(filters, list) and DENOVO_SEEDS in filters
        else {}
    )


def _with_known_motifs(model):
    """A model section with, when name and motif_filters are auto, the run's known motifs (baselines.motifs)
    that seed the compact model's first layer when positives are few (cisflow.autosize); "denovo" in a
    motif_filters list is the de novo seeds file (cisflow.denovo)."""
    filters = model.get("motif_filters")
    if (
        isinstance(filters, list) and DENOVO_FILTERS in filters
    ):  # genome track (cisflow.config checks)
        model["motif_filters"] = [
            DENOVO_SEEDS if f == DENOVO_FILTERS else f for f in filters
        ]
    if model.get("name") == "auto" and model.get("motif_filters") == "auto":
        model["known_motifs"] = canonical(config["baselines"]["motifs"])
    return model


def train_model_params():
    """The train rule's model section (with pretrain.enabled: init_from the pretrain model, cisflow.transfer)."""
    model = section_params("model")
    if config["pretrain"]["enabled"]:
        model = pretrain_model_configs(model, PRETRAIN_DIR)[1]
    return _with_known_motifs(model)


def pretrain_inputs(wildcards):
    """The pretrain model's training data (training_data) and its de novo seeds when it is seeded with them."""
    return training_data(wildcards) | seed_inputs(pretrain_model_params())


def pretrain_model_params():
    """The pretrain rule's model section: the architecture and seeding, no init_from (cisflow.transfer)."""
    return _with_known_motifs(
        pretrain_model_configs(section_params("model"), PRETRAIN_DIR)[0]
    )


MOTIF_MODEL_DIR = "results/motif_model"


def explained_model():
    """The directory of the model the interpretation and motif stages read: the motif model's with
    motif_model.enabled (a second model trained for its motifs), else the model's."""
    return MOTIF_MODEL_DIR if config["motif_model"]["enabled"] else "results/train"


def motif_model_params():
    """The motif model's model and train sections (cisflow.config.motif_model_configs), canonical."""
    model, train = motif_model_configs(config)
    return canonical(_with_known_motifs(model)), canonical(train)


def motif_model_inputs(wildcards):
    """The motif model's training data (training_data) and its de novo seeds when it is seeded with them."""
    return training_data(wildcards) | seed_inputs(motif_model_params()[0])


def denoise_samples():
    """ATAC samples to denoise (denoise.samples, else every ATAC sample); none unless denoise.enabled."""
    opts = config["denoise"]
    if config["track"] != "genome" or not opts.get("enabled"):
        return []
    atac = SAMPLES[SAMPLES["assay"] == "atac"]["sample"].tolist()
    unknown = [s for s in opts["samples"] if s not in atac]
    if unknown:
        raise WorkflowError(
            f"denoise.samples: {unknown[0]!r} is not an ATAC sample of {config['samples']} "
            f"(ATAC samples: {', '.join(atac) or 'none'})"
        )
    return list(opts["samples"]) or atac


def denoise_outputs():
    """Metrics of each model (one per input depth) on its own training sample and on the next seed's
    samples at every input depth (samples it never saw)."""
    seed, depths = config["seed"], [f"{f:g}" for f in config["denoise"]["fractions"]]
    out = []
    for sample in denoise_samples():
        for f in depths:
            out.append(f"results/denoise/{sample}/f{f}/on_f{f}_s{seed}/metrics.tsv")
            out += [
                f"results/denoise/{sample}/f{f}/on_f{d}_s{seed + 1}/metrics.tsv"
                for d in depths
            ]
    return out


def denoise_depth_files(wildcards):
    """MACS3 peaks of every depth of the series, in the order of denoise.depth_series."""
    return [
        f"results/denoise/{wildcards.sample}/series/depth_{d:g}.narrowPeak"
        for d in config["denoise"]["depth_series"]
    ]


def all_outputs():
    """Final targets of the configured track."""
    targets = [
        "results/train/model.safetensors",
        "results/evaluate/metrics.json",
        "results/evaluate/comparison.tsv",
        "results/evaluate/curves_vs_baselines.png",
        "results/interpret/summary.tsv",
    ]
    if config["motif_model"]["enabled"]:
        targets.append(f"{MOTIF_MODEL_DIR}/evaluate/metrics.json")
    if config["motifs"]["enabled"]:
        targets.append("results/motifs/motifs.html")
    if config["track"] == "simulation":
        targets.append("results/simulate/embeddings.tsv")
    else:
        targets += expand("results/peaks/{group}.summary.json", group=GROUPS)
        targets += expand("results/signal/{sample}.cpm.bw", sample=SAMPLES["sample"])
        targets += ["results/labels/summary.tsv", "results/labels/labels.tsv.gz"]
        targets += ["results/evaluate/dream_scores.tsv", "results/qc/qc.tsv"]
        targets += submission_files()
        targets += denoise_outputs()
        targets += profile_outputs()
    return targets


def profile_groups():
    """Groups with profile models (profile.groups, else every group); none unless profile.enabled."""
    opts = config["profile"]
    unknown = [g for g in opts["groups"] if g not in GROUPS]
    if unknown:
        raise WorkflowError(
            f"profile.groups: {unknown[0]!r} is not a group of {config['samples']} "
            f"(groups: {', '.join(GROUPS)})"
        )
    return list(opts["groups"]) or GROUPS


def profile_bias_corrected(group):
    """True for a ChromBPNet group (ATAC: a bias model, then the TF model on it), False for a BPNet (ChIP)."""
    return group_assay(group) == "atac"


def profile_model_name(group):
    return "chrombpnet" if profile_bias_corrected(group) else "bpnet"


def profile_heads(group):
    """The models explained: a ChromBPNet's bias-corrected and bias models, a BPNet as it is."""
    return ["corrected", "bias"] if profile_bias_corrected(group) else ["full"]


def profile_strands(group):
    """Strand names of a group's tracks: ATAC cut sites in one track, ChIP 5' ends per strand."""
    return ["."] if profile_bias_corrected(group) else ["+", "-"]


def profile_tracks(group, reads):
    """The count bigWigs of one group's reads (pooled, pr1, pr2 or control)."""
    if profile_bias_corrected(group):
        return [f"results/profile/tracks/{group}.{reads}.bw"]
    return [f"results/profile/tracks/{group}.{reads}.{s}.bw" for s in ("plus", "minus")]


def profile_control_tracks(group):
    """A ChIP group's control tracks (the BPNet's bias input); none without a control, none for ATAC."""
    if profile_bias_corrected(group) or not group_control_ids(group):
        return []
    return profile_tracks(group, "control")


def profile_reads(wildcards):
    """The filtered reads a track is made from: the group's pooled reads, its pseudo-replicates or control."""
    if wildcards.reads == "control":
        return group_control(wildcards.group)[0]
    return f"results/reads/{wildcards.group}.{wildcards.reads}.tagAlign.gz"


def profile_matches(group):
    """``{head.target: motif folder}`` of a group's explained models (none when profile.motifs is off)."""
    if not config["profile"]["motifs"]:
        return {}
    return {
        f"{h}.{t}": f"results/profile/{group}/motifs/{h}.{t}"
        for h in profile_heads(group)
        for t in config["profile"]["interpret"]["targets"]
    }


def profile_bias_matches(group):
    """The bias model's motif folder (its first explained target), for chrombpnet's no-TF-motif check."""
    target = config["profile"]["interpret"]["targets"][0]
    return [m for k, m in profile_matches(group).items() if k == f"bias.{target}"]


def profile_outputs():
    """Per profile group: the summary table (metrics, checks, motifs) and the contribution scores."""
    if config["track"] != "genome" or not config["profile"]["enabled"]:
        return []
    out = []
    for group in profile_groups():
        out.append(f"results/profile/{group}/summary.tsv")
        out += [
            f"results/profile/{group}/interpret/{h}/summary.tsv"
            for h in profile_heads(group)
        ]
    return out
