"""Bad inputs across every stage: each must fail with ONE line naming the offending file (or config key),
a non-zero exit (CLI) or a CisflowError (library), and leave no output (nor a temporary file) behind.

A few neighbouring good inputs (an unindexed BAM, a soft-masked FASTA, a genome with an all-N
chromosome) must work. Every fixture is generated here in ``tmp_path``; nothing reads shared data.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pysam
import pytest
import yaml

from cisflow._testing.artifacts import write_dataset
from cisflow.cli import main
from cisflow.errors import CisflowError
from cisflow.genome import Genome, encode, read_fasta, write_fasta
from cisflow.io import save_npz

REPO = Path(__file__).resolve().parents[2]
SIZES = {"chr1": 3000, "chr2": 2000, "chr3": 2000}


# ----------------------------------------------------------------------------------------------
# helpers


def _random_seq(n: int, seed: int) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), n))


def _np_line(chrom: str, start: int, end: int) -> str:
    """One narrowPeak line (summit at the midpoint)."""
    return f"{chrom}\t{start}\t{end}\t.\t0\t.\t5.0\t10.0\t8.0\t{(end - start) // 2}\n"


def _files(folder: Path) -> list[str]:
    """Every file (hidden temp files included) under ``folder``; [] if it does not exist."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _fails(capsys, argv: list, *needles: str, out: Path | None = None) -> str:
    """Run the CLI, assert exit 2, one stderr line containing every needle, and nothing under ``out``."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"cisflow {argv[0]}: error: "), lines[0]
    for needle in needles:
        assert str(needle) in lines[0], f"{needle!r} not in {lines[0]!r}"
    if out is not None:
        assert _files(out) == [], f"left behind: {_files(out)}"
    return lines[0]


def _raises(func, *needles: str, **kwargs):
    """Call ``func(**kwargs)``; assert a one-line CisflowError containing every needle."""
    with pytest.raises(CisflowError) as info:
        func(**kwargs)
    text = str(info.value)
    assert "\n" not in text
    for needle in needles:
        assert str(needle) in text, f"{needle!r} not in {text!r}"
    return text


def _write_bam(path: Path, sizes: dict[str, int], reads: list[tuple[str, int]], so: str | None = "coordinate") -> Path:
    """Single-end 36-bp reads at ``(chrom, start)`` in the given order; header SO as given (None: no SO)."""
    header = {"HD": {"VN": "1.6", **({"SO": so} if so else {})}, "SQ": [{"SN": c, "LN": n} for c, n in sizes.items()]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, (chrom, start) in enumerate(reads):
            seg = pysam.AlignedSegment(out.header)
            seg.query_name, seg.flag, seg.reference_name = f"r{i}", 0, chrom
            seg.reference_start, seg.mapping_quality, seg.cigarstring = start, 60, "36M"
            out.write(seg)
    return path


def _sorted_reads(chrom: str = "chr1", n: int = 50) -> list[tuple[str, int]]:
    return [(chrom, 10 + 40 * i) for i in range(n)]


def _truncated_gzip(path: Path, text: str) -> Path:
    data = gzip.compress(text.encode())
    path.write_bytes(data[: len(data) // 2])
    return path


# ----------------------------------------------------------------------------------------------
# shared tiny inputs


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """Genome FASTA + sizes, good peaks, labels npz and a tiny train/valid dataset + config."""
    d = tmp_path_factory.mktemp("data")
    write_fasta(d / "g.fa", [(c, _random_seq(n, i)) for i, (c, n) in enumerate(SIZES.items())])
    (d / "g.sizes").write_text("".join(f"{c}\t{n}\n" for c, n in SIZES.items()))
    (d / "ok.narrowPeak").write_text(
        _np_line("chr1", 100, 400) + _np_line("chr2", 500, 800) + _np_line("chr3", 200, 600)
    )
    assert main(["labels", "--conservative", f"T={d / 'ok.narrowPeak'}", "--genome", str(d / "g.fa"),
                 "--out", str(d / "labels.npz")]) == 0  # fmt: skip
    rng = np.random.default_rng(0)
    for split, n in (("train", 24), ("valid", 12)):
        codes, labels = rng.integers(0, 4, (n, 50)), (np.arange(n) % 2)[:, None]
        codes[labels[:, 0] == 1, 20:30] = 2  # positives hold a run of G: learnable, so training succeeds
        write_dataset(d / f"{split}.npz", codes, labels, ["T"], [f"s{i}" for i in range(n)])
    model = {"name": "sequence_dnn", "params": {"num_filters": [4], "conv_width": [5], "pool_width": 5}}
    # one strand's G runs: no reverse-complement augmentation (the schema's default), which would hide them
    train = {"epochs": 3, "batch_size": 8, "learning_rate": 0.01, "reverse_complement": False}
    (d / "train.yaml").write_text(yaml.safe_dump({"seed": 1, "model": model, "train": train}))
    return {
        "dir": d,
        "genome": d / "g.fa",
        "sizes": d / "g.sizes",
        "peaks": d / "ok.narrowPeak",
        "labels": d / "labels.npz",
        "train": d / "train.npz",
        "valid": d / "valid.npz",
        "config": d / "train.yaml",
    }


# ----------------------------------------------------------------------------------------------
# reads


def _filter_argv(reads: Path, sizes: Path, out: Path, *extra: str) -> list:
    return ["reads", "filter", reads, "--genome-sizes", sizes, "--out", out / "tag.bed.gz", "--assay", "chip",
            "--stats", out / "stats.json", *extra]  # fmt: skip


def test_reads_chrom_names_differ_from_genome(tmp_path, capsys):
    (tmp_path / "hg.sizes").write_text("chr22\t5000\n")
    bam = _write_bam(tmp_path / "r.bam", {"22": 5000}, _sorted_reads("22"))
    out = tmp_path / "out"
    _fails(capsys, _filter_argv(bam, tmp_path / "hg.sizes", out), bam, "22", "chr22", out=out)


@pytest.mark.parametrize(
    ("so", "order", "needle"),
    [("unsorted", 1, "SO:unsorted"), ("queryname", 1, "SO:queryname"), (None, -1, "not coordinate-sorted")],
    ids=["header-unsorted", "header-queryname", "no-header-out-of-order"],
)
def test_reads_unsorted_bam(tmp_path, capsys, data, so, order, needle):
    bam = _write_bam(tmp_path / "r.bam", SIZES, _sorted_reads()[::order], so=so)
    out = tmp_path / "out"
    _fails(capsys, _filter_argv(bam, data["sizes"], out), bam, needle, out=out)
    assert not Path(f"{bam}.bai").exists()


def test_reads_unindexed_bam_works_and_nothing_is_written_beside_it(tmp_path, capsys, data):
    bam = _write_bam(tmp_path / "r.bam", SIZES, _sorted_reads())
    assert not Path(f"{bam}.bai").exists()
    out = tmp_path / "out"
    assert main([str(a) for a in _filter_argv(bam, data["sizes"], out)]) == 0, capsys.readouterr().err
    assert not Path(f"{bam}.bai").exists()
    assert _files(out) == ["stats.json", "tag.bed.gz"]
    assert len(gzip.decompress((out / "tag.bed.gz").read_bytes()).splitlines()) == 50


def test_reads_unsorted_after_the_first_records(tmp_path, capsys, data):
    # sorted for longer than the order check peeks (10,000 records), then out of order: found while streaming
    reads = [("chr1", i % 2900) for i in range(10_050)]
    reads.sort(key=lambda r: r[1])
    reads.append(("chr1", 5))
    bam = _write_bam(tmp_path / "r.bam", SIZES, reads, so=None)
    out = tmp_path / "out"
    _fails(capsys, _filter_argv(bam, data["sizes"], out), bam, "not coordinate-sorted (at r10050)", out=out)
    assert sorted(p.name for p in tmp_path.iterdir()) in (["r.bam"], ["out", "r.bam"])  # no .bai, no temp index


def test_reads_empty_bam(tmp_path, capsys, data):
    bam = _write_bam(tmp_path / "r.bam", SIZES, [])
    out = tmp_path / "out"
    _fails(capsys, _filter_argv(bam, data["sizes"], out), bam, "no reads", out=out)


@pytest.mark.parametrize("kind", ["garbage", "gzip-not-bam", "truncated"])
def test_reads_corrupt_bam(tmp_path, capsys, data, kind):
    bam = tmp_path / "r.bam"
    if kind == "garbage":
        bam.write_bytes(np.random.default_rng(0).bytes(5000))
    elif kind == "gzip-not-bam":
        bam.write_bytes(gzip.compress(b"this is not a BAM file\n" * 100))
    else:
        good = _write_bam(tmp_path / "good.bam", SIZES, _sorted_reads(n=2000)).read_bytes()
        bam.write_bytes(good[: len(good) // 2])
    out = tmp_path / "out"
    _fails(capsys, _filter_argv(bam, data["sizes"], out), bam, out=out)


@pytest.mark.parametrize(
    ("name", "line"),
    [("reads.bed.gz", "chr1\t10\t46\tr\t0\t+\n"), ("frags.bedpe.gz", "chr1\t10\t46\tchr1\t200\t236\n")],
)
def test_reads_truncated_gzip_text(tmp_path, capsys, data, name, line):
    reads = _truncated_gzip(tmp_path / name, "".join(line.replace("r\t", f"r{i}\t") for i in range(3000)))
    out = tmp_path / "out"
    _fails(capsys, _filter_argv(reads, data["sizes"], out), reads, "truncated or corrupt", out=out)


def test_reads_bed_on_unknown_chromosome(tmp_path, capsys, data):
    reads = tmp_path / "reads.bed"
    reads.write_text("chr1\t10\t46\tr1\t0\t+\nchrUn\t10\t46\tr2\t0\t-\n")
    out = tmp_path / "out"
    _fails(capsys, _filter_argv(reads, data["sizes"], out), reads, "chrUn", out=out)


@pytest.mark.parametrize(("name", "line"), [("reads.bed", "chr1\t50\t10\tr1\t0\t+\n"),
                                           ("frags.tsv", "chr1\t50\t50\tbc1\n")])  # fmt: skip
def test_reads_end_not_after_start(tmp_path, capsys, data, name, line):
    reads = tmp_path / name
    reads.write_text("chr1\t10\t46\tr0\t0\t+\n" * (name == "reads.bed") + line)
    out = tmp_path / "out"
    argv = _filter_argv(reads, data["sizes"], out, *(["--format", "fragments"] if name == "frags.tsv" else []))
    _fails(capsys, argv, reads, "line", "<= start", out=out)


# ----------------------------------------------------------------------------------------------
# genome


def _labels_argv(peaks: Path, genome: Path, out: Path) -> list:
    return ["labels", "--conservative", f"T={peaks}", "--genome", genome, "--out", out / "labels.npz",
            "--dream-tsv", out / "labels.tsv.gz", "--summary", out / "summary.tsv"]  # fmt: skip


def test_genome_duplicate_names(tmp_path, capsys, data):
    fasta = tmp_path / "dup.fa"
    write_fasta(fasta, [("chr1", "ACGT" * 500), ("chr2", "ACGT" * 300), ("chr1", "ACGT" * 200)])
    out = tmp_path / "out"
    _fails(capsys, _labels_argv(data["peaks"], fasta, out), fasta, "duplicate", "chr1", out=out)


@pytest.mark.parametrize("kind", ["not-fasta", "truncated-gzip", "empty-record"])
def test_genome_unreadable_fasta(tmp_path, capsys, data, kind):
    if kind == "not-fasta":
        fasta = tmp_path / "g.fa"
        fasta.write_text("chr1\t3000\n")
    elif kind == "truncated-gzip":
        fasta = _truncated_gzip(tmp_path / "g.fa.gz", ">chr1\n" + _random_seq(20000, 0) + "\n")
    else:
        fasta = tmp_path / "g.fa"
        fasta.write_text(">chr1\nACGT\n>chr2\n>chr3\nACGT\n")
    out = tmp_path / "out"
    _fails(capsys, _labels_argv(data["peaks"], fasta, out), fasta, out=out)


def test_genome_soft_masked_fasta_works(tmp_path, capsys, data):
    upper = read_fasta(data["genome"])
    text = {c: (s := "".join("ACGTN"[b] for b in codes))[:500].lower() + s[500:] for c, codes in upper.items()}
    fasta = tmp_path / "soft.fa"
    write_fasta(fasta, list(text.items()))
    assert text["chr1"][:4].islower()
    codes = read_fasta(fasta)
    for chrom in SIZES:
        np.testing.assert_array_equal(codes[chrom], upper[chrom])
    np.testing.assert_array_equal(Genome.from_fasta(fasta).fetch("chr1", 0, 8), encode(text["chr1"][:8].upper()))
    assert set(np.unique(codes["chr1"][:500]).tolist()) <= {0, 1, 2, 3}
    out = tmp_path / "out"
    assert main([str(a) for a in _labels_argv(data["peaks"], fasta, out)]) == 0, capsys.readouterr().err
    with np.load(out / "labels.npz") as soft, np.load(data["labels"]) as hard:
        np.testing.assert_array_equal(soft["keep"], hard["keep"])
        np.testing.assert_array_equal(soft["labels"], hard["labels"])


def test_genome_all_n_chromosome_is_excluded(tmp_path, capsys, data):
    fasta = tmp_path / "g.fa"
    write_fasta(fasta, [(c, _random_seq(n, i)) for i, (c, n) in enumerate(SIZES.items())] + [("chrN", "N" * 1500)])
    out = tmp_path / "out"
    assert main([str(a) for a in _labels_argv(data["peaks"], fasta, out)]) == 0, capsys.readouterr().err
    from cisflow.labels import load_labels

    labels = load_labels(out / "labels.npz")
    assert labels.keep["chrN"].size > 0 and not labels.keep["chrN"].any()
    assert labels.keep["chr1"].all()
    # a held-out split made only of that chromosome has nothing in it: training on it stops with a dataset error
    ds = tmp_path / "ds"
    argv = ["splits", "--labels", out / "labels.npz", "--genome", fasta, "--valid", "chrN", "--test", "chr3",
            "--input-length", "200", "--out-dir", ds]  # fmt: skip
    code = main([str(a) for a in argv])
    capsys.readouterr()
    if code == 0:  # the splits stage warns only; the empty valid set is refused by train
        trained = tmp_path / "model"
        argv = ["train", "--train", ds / "train.npz", "--valid", ds / "valid.npz", "--config", data["config"],
                "--out-dir", trained]  # fmt: skip
        _fails(capsys, argv, ds / "valid.npz", "no sequences", out=trained)
    else:
        assert code == 2 and _files(ds) == []


def test_genome_all_n_genome_has_no_bins(tmp_path, capsys, data):
    fasta = tmp_path / "n.fa"
    write_fasta(fasta, [(c, "N" * n) for c, n in SIZES.items()])
    out = tmp_path / "out"
    _fails(capsys, _labels_argv(data["peaks"], fasta, out), fasta, "no bins", out=out)


# ----------------------------------------------------------------------------------------------
# peaks


@pytest.mark.parametrize(
    ("lines", "needles"),
    [
        ([_np_line("chr1", 100, 400), _np_line("chrX", 100, 400)], ["chrX", "g.fa"]),
        ([_np_line("1", 100, 400)], [": 1 (genome has chr1"]),
        ([_np_line("chr1", 100, 400), _np_line("chr2", 1900, 2100)], ["beyond", "chr2"]),
        ([_np_line("chr1", 400, 400)], ["line 1", "start must be < end"]),
        ([_np_line("chr1", 100, 400), "chr1\t500\t300\t.\t0\t.\t5.0\t10.0\t8.0\t-1\n"], ["line 2", "start"]),
        (["chr1\t100\t400\t.\t0\t.\t5.0\n"], ["line 1", "10 columns"]),
        (["chr1\tten\t400\t.\t0\t.\t5.0\t10.0\t8.0\t-1\n"], ["line 1", "start"]),
    ],
    ids=["chrom-missing", "1-vs-chr1", "past-chrom-end", "start-eq-end", "start-gt-end", "columns", "not-integer"],
)
def test_peaks_bad_narrowpeak_for_labels(tmp_path, capsys, data, lines, needles):
    peaks = tmp_path / "bad.narrowPeak"
    peaks.write_text("".join(lines))
    out = tmp_path / "out"
    _fails(capsys, _labels_argv(peaks, data["genome"], out), peaks, *needles, out=out)


def test_peaks_truncated_gzip(tmp_path, capsys, data):
    peaks = _truncated_gzip(tmp_path / "p.narrowPeak.gz", "".join(_np_line("chr1", i, i + 100) for i in range(2000)))
    out = tmp_path / "out"
    _fails(capsys, _labels_argv(peaks, data["genome"], out), peaks, "truncated or corrupt", out=out)


@pytest.mark.parametrize("action", ["idr", "overlap", "recall"])
def test_peaks_empty_file(tmp_path, capsys, data, action):
    empty = tmp_path / "empty.narrowPeak"
    empty.write_text("")
    out = tmp_path / "out"
    argv = {
        "idr": ["peaks", "idr", "--rep1", empty, "--rep2", data["peaks"], "--out", out / "idr.narrowPeak"],
        "overlap": ["peaks", "overlap", "--pooled", empty, "--rep1", data["peaks"], "--rep2", data["peaks"],
                    "--out", out / "overlap.narrowPeak"],
        "recall": ["peaks", "recall", "--peaks", empty, "--reference", data["peaks"], "--out", out / "recall.json"],
    }[action]  # fmt: skip
    _fails(capsys, argv, empty, "no peaks", out=out)


def test_peaks_call_on_empty_reads(tmp_path, capsys, data):
    reads = tmp_path / "empty.tagAlign"
    reads.write_text("")
    out = tmp_path / "out"
    _fails(capsys, ["peaks", "call", "-t", reads, "--genome", data["genome"], "--out", out / "p.narrowPeak",
                    "--work-dir", tmp_path / "macs3"], reads)  # fmt: skip
    assert _files(out) == []


# ----------------------------------------------------------------------------------------------
# sample sheet


def _sheet(tmp_path: Path, rows: list[list[str]], header: str = "task cell_type assay replicate reads control") -> Path:
    for name in ("a.bam", "b.bam", "ctl.bam"):
        (tmp_path / name).write_bytes(b"")
    path = tmp_path / "samples.tsv"
    path.write_text("\t".join(header.split()) + "\n" + "".join("\t".join(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("rows", "header", "needles"),
    [
        ([["TF", "K562", "chip", "1", "a.bam", "ctl.bam"], ["TF", "K562", "chip", "1", "b.bam", "ctl.bam"]],
         None, ["duplicate replicate 1", "TF"]),
        ([["TF", "K562", "chip", "1", "a.bam", "nowhere.bam"]], None, ["control file", "nowhere.bam"]),
        ([["TF", "K562", "dnase", "1", "a.bam", ""]], None, ["unknown assay 'dnase'", "row 2"]),
        ([["TF", "chip", "1", "a.bam"]], "task assay replicate reads", ["lacks column", "cell_type"]),
        ([["TF", "K562", "chip", "1", "missing.bam", ""]], None, ["reads file", "missing.bam"]),
        ([["TF", "K562", "chip", "one", "a.bam", ""]], None, ["replicate must be a positive integer"]),
    ],
    ids=["duplicate-replicate", "missing-control", "unknown-assay", "missing-column", "missing-reads", "bad-replicate"],
)  # fmt: skip
def test_sample_sheet(tmp_path, rows, header, needles):
    from cisflow.samples import read_sample_sheet

    path = _sheet(tmp_path, rows, *([header] if header else []))
    _raises(read_sample_sheet, str(path), *needles, path=path, base_dir=tmp_path)


# ----------------------------------------------------------------------------------------------
# config


def _sim_config() -> dict:
    return yaml.safe_load((REPO / "tests/workflow/simulation_tiny.yaml").read_text())


@pytest.mark.parametrize(
    ("edit", "needles"),
    [
        (lambda c: c["train"].update(epoch=c["train"].pop("epochs")), ["unknown key 'epoch'", "did you mean 'epochs'"]),
        (lambda c: c.update(sed=c.pop("seed")), ["unknown key 'sed'", "did you mean 'seed'"]),
        (lambda c: c["train"].update(epochs="six"), ["train.epochs", "'six'"]),
        (lambda c: c["train"].update(learning_rate=-1), ["train.learning_rate"]),
        (lambda c: c["model"].update(params="small"), ["model.params"]),
    ],
    ids=["misspelled-train-key", "misspelled-top-key", "wrong-type", "out-of-range", "params-not-mapping"],
)
def test_config_schema(tmp_path, edit, needles):
    from cisflow.config import load_config

    config = _sim_config()
    edit(config)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    _raises(load_config, str(path), *needles, path=path)


def test_config_missing_input_file(tmp_path):
    from cisflow.config import check_inputs, validate_config

    (tmp_path / "samples.tsv").write_text("task\tcell_type\tassay\treplicate\treads\n")
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config.update(samples="samples.tsv")
    config["genome"].update(fasta="nowhere/genome.fa", blacklist=None)
    config["peaks"].update(reference=None)
    config = validate_config(config, "my.yaml")
    _raises(check_inputs, "my.yaml", "genome.fasta", "nowhere/genome.fa", config=config, source="my.yaml",
            base_dir=tmp_path)  # fmt: skip


def test_config_file_missing_or_not_yaml(tmp_path):
    from cisflow.config import load_config

    _raises(load_config, "does not exist", path=tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [epochs: 3\n")
    _raises(load_config, str(bad), "not valid YAML", path=bad)


# ----------------------------------------------------------------------------------------------
# models and training


def _train_argv(data: dict, config: Path, out: Path, *extra) -> list:
    return ["train", "--train", data["train"], "--valid", data["valid"], "--config", config, "--out-dir", out,
            *extra]  # fmt: skip


@pytest.mark.parametrize(
    ("model", "needles"),
    [
        ({"name": "resnet9000"}, ["unknown model 'resnet9000'", "sequence_dnn"]),
        ({"name": "sequence_dnn", "params": {"num_filter": [4]}}, ["unknown parameter 'num_filter'", "num_filters"]),
    ],
    ids=["unknown-model", "unknown-parameter"],
)
def test_model_config_errors(tmp_path, capsys, data, model, needles):
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump({"seed": 1, "model": model, "train": {"epochs": 1}}))
    out = tmp_path / "out"
    _fails(capsys, _train_argv(data, config, out), config, *needles, out=out)


def test_model_config_errors_before_any_job(tmp_path):
    from cisflow.config import check_inputs, validate_config

    config = validate_config(_sim_config(), "sim.yaml")
    config["model"]["params"]["kernel"] = 3
    _raises(check_inputs, "sim.yaml", "model:", "'kernel'", config=config, source="sim.yaml", base_dir=tmp_path)


def test_train_config_misspelled_key(tmp_path, capsys, data):
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump({"model": {"name": "sequence_dnn"}, "train": {"epoch": 2}}))
    out = tmp_path / "out"
    _fails(capsys, _train_argv(data, config, out), config, "'epoch'", out=out)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1", "gpu"])
def test_train_gpu_requested_without_one(tmp_path, capsys, data, device):
    out = tmp_path / "out"
    _fails(capsys, _train_argv(data, data["config"], out, "--device", device), device, out=out)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("command", ["evaluate", "interpret"])
def test_predict_gpu_requested_without_one(tmp_path, capsys, data, command):
    model = tmp_path / "model"
    assert main([str(a) for a in _train_argv(data, data["config"], model, "--device", "cpu")]) == 0
    out = tmp_path / "out"
    data_opt = "--test" if command == "evaluate" else "--data"
    argv = [command, "--model", model, data_opt, data["valid"], "--out-dir", out, "--device", "cuda"]
    _fails(capsys, argv, "'cuda'", out=out)


@pytest.mark.parametrize("missing", ["labels", "codes", "tasks"])
def test_dataset_npz_missing_key(tmp_path, capsys, data, missing):
    with np.load(data["train"]) as npz:
        arrays = {k: npz[k] for k in npz.files if k != missing}
    bad = tmp_path / "train.npz"
    np.savez(bad, **arrays)
    out = tmp_path / "out"
    argv = ["train", "--train", bad, "--valid", data["valid"], "--config", data["config"], "--out-dir", out]
    _fails(capsys, argv, bad, missing, out=out)


def test_dataset_not_an_npz(tmp_path, capsys, data):
    bad = tmp_path / "train.npz"
    bad.write_bytes(b"PK\x03\x04 garbage")
    out = tmp_path / "out"
    argv = ["train", "--train", bad, "--valid", data["valid"], "--config", data["config"], "--out-dir", out]
    _fails(capsys, argv, bad, out=out)


def test_evaluate_missing_model(tmp_path, capsys, data):
    out = tmp_path / "out"
    _fails(capsys, ["evaluate", "--model", tmp_path / "nomodel", "--test", data["valid"], "--out-dir", out],
           "nomodel", out=out)  # fmt: skip


def test_evaluate_batch_size_zero(tmp_path, capsys, data):
    model, out = tmp_path / "model", tmp_path / "out"
    argv = ["train", "--train", data["train"], "--valid", data["valid"], "--config", data["config"], "--out-dir", model]
    assert main([str(a) for a in [*argv, "--device", "cpu"]]) == 0
    argv = ["evaluate", "--model", model, "--test", data["valid"], "--out-dir", out, "--batch-size", "0"]
    _fails(capsys, [*argv, "--device", "cpu"], "batch size (--batch-size) must be a positive integer, got 0", out=out)


# ----------------------------------------------------------------------------------------------
# splits


@pytest.mark.parametrize(
    ("valid", "test", "needles"),
    [
        ("chr2", "chr2", ["both", "chr2"]),
        ("chr2", "chr9", ["chr9", "labels.npz"]),
        ("22", "chr3", [": 22 (the labels have chr1"]),
    ],
    ids=["valid-and-test", "unknown-chrom", "22-vs-chr22-style"],
)
def test_splits_bad_chromosomes(tmp_path, capsys, data, valid, test, needles):
    out = tmp_path / "out"
    argv = ["splits", "--labels", data["labels"], "--genome", data["genome"], "--valid", valid, "--test", test,
            "--input-length", "200", "--out-dir", out]  # fmt: skip
    _fails(capsys, argv, *needles, out=out)


def _bigwig(path: Path, sizes: dict[str, int], value: float = 1.0) -> Path:
    import pyBigWig

    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()))
    for chrom, n in sizes.items():
        bw.addEntries(chrom, 0, values=[value] * n, span=1, step=1)
    bw.close()
    return path


@pytest.mark.parametrize(
    ("sizes", "value", "needles"),
    [
        ({c.removeprefix("chr"): n for c, n in SIZES.items()}, 1.0, ["not in the bigWig: chr1", "(it has 1, 2, 3"]),
        ({**SIZES, "chr2": 1999}, 1.0, ["chr2 is 1999 bp in the bigWig but 2000 bp in the genome"]),
        (SIZES, -2.0, ["negative values on chr"]),
    ],
    ids=["1-vs-chr1-style", "wrong-length", "negative"],
)
def test_splits_bad_signal_bigwig(tmp_path, capsys, data, sizes, value, needles):
    bigwig = _bigwig(tmp_path / "dnase.bw", sizes, value)
    out = tmp_path / "out"
    argv = ["splits", "--labels", data["labels"], "--genome", data["genome"], "--valid", "chr2", "--test", "chr3",
            "--input-length", "200", "--signal-bigwig", bigwig, "--out-dir", out]  # fmt: skip
    _fails(capsys, argv, bigwig, *needles, out=out)


def test_config_signal_bigwigs(tmp_path):
    from cisflow.config import check_inputs, validate_config

    config = validate_config(_sim_config() | {"inputs": {"signal_bigwigs": ["results/signal/x.bw"]}}, "my.yaml")
    _raises(check_inputs, "my.yaml", "needs track: genome", config=config, source="my.yaml")
    (tmp_path / "samples.tsv").write_text("task\tcell_type\tassay\treplicate\treads\n")
    write_fasta(tmp_path / "g.fa", [("chr1", "ACGT" * 50)])
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config.update(samples="samples.tsv", inputs={"signal_bigwigs": ["results/signal/a.bw", "dnase/K562.bw"]})
    config["genome"].update(fasta="g.fa")
    config["peaks"].update(reference=None)
    config = validate_config(config, "my.yaml")
    _raises(check_inputs, "my.yaml", "inputs.signal_bigwigs", "dnase/K562.bw", config=config, source="my.yaml",
            base_dir=tmp_path)  # fmt: skip
    config["inputs"]["signal_bigwigs"] = ["results/signal/a.bw", "results/other/a.bw"]
    _raises(check_inputs, "my.yaml", "distinct file names", config=config, source="my.yaml", base_dir=tmp_path)


def test_config_signal_bigwigs_per_cell_type(tmp_path):
    import pandas as pd

    from cisflow.config import check_inputs, check_samples_config, validate_config

    (tmp_path / "samples.tsv").write_text("task\tcell_type\tassay\treplicate\treads\n")
    write_fasta(tmp_path / "g.fa", [("chr1", "ACGT" * 50)])
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config.update(samples="samples.tsv", inputs={"signal_bigwigs": {"K562": ["results/signal/K.bw"], "HepG2": []}})
    config["genome"].update(fasta="g.fa")
    config["peaks"].update(reference=None)
    _raises(validate_config, "my.yaml", "inputs.signal_bigwigs", config=config, source="my.yaml")
    config["inputs"]["signal_bigwigs"]["HepG2"] = ["dnase/HepG2.bw"]
    config = validate_config(config, "my.yaml")
    _raises(check_inputs, "my.yaml", "inputs.signal_bigwigs.HepG2: file dnase/HepG2.bw does not exist", config=config,
            source="my.yaml", base_dir=tmp_path)  # fmt: skip
    config["inputs"]["signal_bigwigs"]["HepG2"] = ["results/signal/H.bw", "results/signal/H2.bw"]
    _raises(check_inputs, "my.yaml", "inputs.signal_bigwigs: ", "same number", "got K562: 1, HepG2: 2", config=config,
            source="my.yaml", base_dir=tmp_path)  # fmt: skip
    config["inputs"]["signal_bigwigs"] = {"K562": ["results/signal/K.bw"]}
    sheet = pd.DataFrame({"group": ["TF.K562", "TF.HepG2"], "cell_type": ["K562", "HepG2"]})
    config["splits"]["heldout_cell_types"] = ["HepG2"]
    _raises(check_samples_config, "my.yaml", "inputs.signal_bigwigs: task TF.HepG2: no signal bigWigs for cell type "
            "'HepG2'", config=config, samples=sheet, source="my.yaml")  # fmt: skip
    config["inputs"]["signal_bigwigs"]["HepG2"] = ["results/signal/H.bw"]
    check_samples_config(config, sheet, "my.yaml")
    config["splits"]["heldout_cell_types"] = []
    _raises(check_samples_config, "my.yaml", "inputs.signal_bigwigs: ", "cell types HepG2, K562 with different "
            "tracks", config=config, samples=sheet, source="my.yaml")  # fmt: skip


def test_splits_labels_not_an_npz(tmp_path, capsys, data):
    bad = tmp_path / "labels.npz"
    save_npz(bad, codes=np.zeros((2, 3), np.uint8))
    out = tmp_path / "out"
    argv = ["splits", "--labels", bad, "--genome", data["genome"], "--valid", "chr2", "--test", "chr3",
            "--out-dir", out]  # fmt: skip
    _fails(capsys, argv, bad, "labels", out=out)


# ----------------------------------------------------------------------------------------------
# simulation


@pytest.mark.parametrize(
    ("motif", "needle"), [("NOT_A_MOTIF_known1", "NOT_A_MOTIF_known1"), ("jaspar:MA9999.9", "MA9999.9")]
)
def test_simulate_unknown_motif(tmp_path, capsys, motif, needle):
    out = tmp_path / "out"
    argv = ["simulate", "--kind", "single_motif_detection", "--motif", motif, "--input-length", "100",
            "--num-pos", "10", "--num-neg", "10", "--out-dir", out]  # fmt: skip
    _fails(capsys, argv, needle, out=out)


# ----------------------------------------------------------------------------------------------
# odd geometry: bins with gaps, windows shorter than their bin


def test_labels_stride_larger_than_bin_size(tmp_path, capsys, data):
    out = tmp_path / "out"
    argv = [*_labels_argv(data["peaks"], data["genome"], out), "--bin-size", "200", "--stride", "250"]
    _fails(capsys, argv, "stride (labels.stride, --stride) 250 is larger than bin_size", "50-bp gaps", out=out)
    assert main([str(a) for a in [*argv[:-1], "200"]]) == 0  # a stride equal to the bin size tiles the genome


def test_splits_input_length_smaller_than_bin_size(tmp_path, capsys, data):
    out = tmp_path / "out"
    argv = ["splits", "--labels", data["labels"], "--genome", data["genome"], "--valid", "chr2", "--test", "chr3",
            "--input-length", "150", "--out-dir", out]  # fmt: skip
    _fails(capsys, argv, data["labels"], "input_length (splits.input_length, --input-length) 150 is smaller than",
           "bin_size (labels.bin_size, --bin-size) 200", out=out)  # fmt: skip
    assert main([str(a) for a in [*argv[:-3], "200", "--out-dir", out]]) == 0  # windows as long as the bins


def test_genome_loader_input_length_smaller_than_bin_size(data):
    from cisflow.labels import load_labels
    from cisflow.loader import GenomeBatches

    genome, labels = Genome.from_fasta(data["genome"]), load_labels(data["labels"])
    _raises(GenomeBatches, "input_length (splits.input_length", "150", genome=genome, labels=labels,
            chroms=["chr1"], input_length=150)  # fmt: skip


# ----------------------------------------------------------------------------------------------
# paths the system refuses, and files that are not what they are named: one line, never a traceback


@pytest.mark.parametrize("command", ["labels", "train", "reads"])
def test_output_folder_taken_by_a_file(tmp_path, capsys, data, command):
    taken = tmp_path / "taken"
    taken.write_text("a file where the output folder goes\n")
    out = taken / "out"
    argv = {
        "labels": ["labels", "--conservative", f"T={data['peaks']}", "--genome", data["genome"], "--out",
                   out / "labels.npz"],
        "train": ["train", "--train", data["train"], "--valid", data["valid"], "--config", data["config"],
                  "--out-dir", out, "--device", "cpu"],
        "reads": _filter_argv(tmp_path / "reads.bed", data["sizes"], out),
    }[command]  # fmt: skip
    (tmp_path / "reads.bed").write_text("chr1\t10\t46\tr1\t0\t+\n")
    _fails(capsys, argv, taken, "a file is in the way of a folder this command writes into")
    assert taken.read_text() == "a file where the output folder goes\n"


NOT_NPZ = [(b"chr1\t0\t200\n", "not a zip archive"), (gzip.compress(b"x" * 100), "gzip-compressed"), (b"", "empty")]


@pytest.mark.parametrize(("content", "kind"), NOT_NPZ)
@pytest.mark.parametrize("command", ["splits", "train", "motifs"])
def test_npz_input_that_is_not_an_npz(tmp_path, capsys, data, content, kind, command):
    bad = tmp_path / "in.npz"
    bad.write_bytes(content)
    out = tmp_path / "out"
    argv = {
        "splits": ["splits", "--labels", bad, "--genome", data["genome"], "--valid", "chr2", "--test", "chr3",
                   "--out-dir", out],
        "train": ["train", "--train", bad, "--valid", data["valid"], "--config", data["config"], "--out-dir", out],
        "motifs": ["motifs", "--scores", bad, "--out-dir", out],
    }[command]  # fmt: skip
    _fails(capsys, argv, bad, f"is not an npz file ({kind})", out=out)
