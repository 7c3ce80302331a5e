"""End-to-end tests of the profile stage on a tiny simulation: BAM → tracks → datasets → models → outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from cisflow.errors import CisflowError
from cisflow.genome import Genome, encode, reverse_complement_codes
from cisflow.models import load_model
from cisflow.motifs.pipeline import load_scores
from cisflow.profile.io import load_dataset, load_predictions
from cisflow.profile.pipeline import (
    EVALUATION_FILES,
    INSILICO_FILES,
    TRAIN_FILES,
    bam_tracks,
    bias_checks,
    evaluate_profile,
    insilico_profile,
    interpret_files,
    interpret_profile,
    make_datasets,
    outputs_in,
    profile_summary,
    train_bias,
    train_profile,
)
from cisflow.profile.simulate import MOTIFS, expected_rates, footprint, oriented_footprint, simulate_profile_chip

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {"filters": 4, "n_layers": 2, "conv1_kernel": 5, "profile_kernel": 7}  # input = output + 22
GEOMETRY = {"input_length": 122, "output_length": 100, "jitter": 8}
TRAIN = {"epochs": 2, "batch_size": 8, "background_ratio": 0.5, "patience": 5}


def _train(folder):
    return outputs_in(folder, TRAIN_FILES)


def _eval(folder):
    return outputs_in(folder, EVALUATION_FILES)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("profile")
    sim = simulate_profile_chip(root / "sim", seed=3, n_chroms=3, chrom_length=40_000)
    bams = {"rep1": sim["bams"][0], "rep2": sim["bams"][1], "control": sim["control"]}
    tracks = bam_tracks(bams, sim["chrom_sizes"], root, "chip")
    npz = {s: root / f"{s}.npz" for s in ("train", "valid", "test")}
    sizes = make_datasets(sim["genome"], sim["peaks"], {"TF": tracks["rep1"]}, npz, control=tracks["control"],
                          valid_chroms=["chr2"], test_chroms=["chr3"], background_ratio=1.0, seed=0,
                          **GEOMETRY)  # fmt: skip
    return {"root": root, "sim": sim, "tracks": tracks, "npz": npz, "sizes": sizes}


def test_simulation_truth_is_consistent(project) -> None:
    fp = footprint()
    assert fp.sum() == pytest.approx(1.0) and np.allclose(oriented_footprint("-"), fp[::-1, ::-1])
    sites = project["sim"]["sites"]
    genome = Genome.from_fasta(project["sim"]["genome"])
    for row in sites.itertuples():
        motif = encode(MOTIFS[row.motif])
        planted = genome.fetch(row.chrom, row.center - len(motif) // 2, row.center - len(motif) // 2 + len(motif))
        assert np.array_equal(planted, motif if row.strand == "+" else reverse_complement_codes(motif))
    row = sites.iloc[0]
    rates = expected_rates(sites, row.chrom, row.center - 200, 400, background=0.0)
    assert rates.sum() == pytest.approx(sites[sites["region"] == row.region]["reads"].sum(), rel=1e-6)


def test_datasets_cover_the_splits(project, tmp_path) -> None:
    assert set(project["sizes"]) == {"train", "valid", "test"} and min(project["sizes"].values()) > 0
    sim, out = project["sim"], {s: tmp_path / f"{s}.npz" for s in ("train", "valid", "test")}
    splits = {"valid_chroms": ["chr2"], "test_chroms": ["chr3"]}
    pooled = make_datasets(sim["genome"], [sim["peaks"], sim["peaks"]], {"TF": project["tracks"]["rep1"]}, out,
                           background_ratio=1.0, seed=0, **splits, **GEOMETRY)  # fmt: skip
    assert pooled == project["sizes"]  # a summit given twice is one region
    test = load_dataset(project["npz"]["test"])
    assert set(test["chrom"]) == {"chr3"} and int(test["jitter"]) == 0 and test["control"].shape[1] == 2
    # peaks draw far more reads than GC-matched background
    totals = test["counts"].sum(axis=(1, 2, 3))
    assert totals[test["is_peak"]].mean() > 5 * totals[~test["is_peak"]].mean()


def test_bpnet_trains_resumes_exactly_and_is_evaluated(project, tmp_path) -> None:
    model_cfg = {"name": "bpnet", "params": TINY}
    npz = project["npz"]
    full = train_profile(npz["train"], npz["valid"], _train(tmp_path / "full"), model_cfg, TRAIN, seed=1)
    train_profile(npz["train"], npz["valid"], _train(tmp_path / "cut"), model_cfg, TRAIN, seed=1, stop_after_epoch=1)
    assert not (tmp_path / "cut" / "model.json").exists()
    resumed = train_profile(npz["train"], npz["valid"], _train(tmp_path / "cut"), model_cfg, TRAIN, seed=1)
    assert full["completed"] and resumed["epochs_run"] == 2
    a, b = load_model(tmp_path / "full")[0].state_dict(), load_model(tmp_path / "cut")[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "full" / "learning_curve.png").stat().st_size > 0
    reps = [{"TF": project["tracks"]["rep1"]}, {"TF": project["tracks"]["rep2"]}]
    metrics = evaluate_profile(tmp_path / "full", npz["test"], _eval(tmp_path / "eval"), replicates=reps, n_plots=2)
    assert set(metrics["regions"]) == {"peaks", "background", "all"} and "median_jsd_replicate" in metrics
    peaks = metrics.set_index("regions").loc["peaks"]
    assert peaks["median_jsd_uniform"] > peaks["median_jsd_replicate"] > 0
    preds = load_predictions(tmp_path / "eval" / "predictions.npz")
    assert preds["profile_logits"].shape[1:] == (1, 2, 100)
    for name in ("per_region.tsv", "profiles.png", "counts.png", "jsd.png"):
        assert (tmp_path / "eval" / name).stat().st_size > 0


def test_interpretation_and_insilico_outputs(project, tmp_path) -> None:
    npz = project["npz"]
    train_profile(
        npz["train"], npz["valid"], _train(tmp_path / "m"), {"name": "bpnet", "params": TINY}, {"epochs": 1}, seed=0
    )
    shap = outputs_in(tmp_path / "shap", interpret_files(bigwigs=True))
    sizes = {c: 40_000 for c in ("chr1", "chr2", "chr3")}
    written = interpret_profile(tmp_path / "m", [npz["test"]], shap, max_regions=5, n_references=3, chrom_sizes=sizes)
    assert written["counts_bw"].stat().st_size > 0
    for target in ("counts", "profile"):
        scores = load_scores(written[target])  # the motif stage's reader accepts them
        assert scores["x"].shape == (5, 4, 122) and scores["chrom"].tolist()[0] == "chr3"
    assert pd.read_csv(tmp_path / "shap" / "summary.tsv", sep="\t")["max_summation_error"].max() < 1e-6
    sil = outputs_in(tmp_path / "sil", INSILICO_FILES)
    out = insilico_profile(tmp_path / "m", npz["test"], sil, dict(MOTIFS), pairs=[("A", "B")],
                           spacings=range(10, 31, 10), orientations=("++",), n_backgrounds=3, flank=20)  # fmt: skip
    spacing = pd.read_csv(out["spacing"], sep="\t")
    assert spacing["spacing"].tolist() == [10, 20, 30] and all(p.stat().st_size > 0 for p in out.values())
    assert set(pd.read_csv(out["marginal"], sep="\t")["motif"]) == {"A", "B"}
    with pytest.raises(CisflowError, match="pairs name motif"):
        insilico_profile(tmp_path / "m", npz["test"], sil, {"A": "ACGT"}, pairs=[("A", "Z")])
    with pytest.raises(CisflowError, match="outputs lack spacing_png"):
        insilico_profile(tmp_path / "m", npz["test"], {k: v for k, v in sil.items() if k != "spacing_png"}, {})


def test_chrombpnet_with_a_frozen_bias_model(project, tmp_path) -> None:
    npz = {s: tmp_path / f"{s}.npz" for s in ("train", "valid", "test")}
    sim = project["sim"]
    make_datasets(sim["genome"], sim["peaks"], {"ATAC": project["tracks"]["rep1"][:1]}, npz, strands=["."],
                  valid_chroms=["chr2"], test_chroms=["chr3"], background_ratio=2.0, seed=0, **GEOMETRY)  # fmt: skip
    bias = train_bias(
        npz["train"], npz["valid"], _train(tmp_path / "bias"), TINY, {"epochs": 1, "batch_size": 8}, seed=0
    )
    assert bias["counts_ceiling"] > 0 and bias["regions"]["train"] > 0
    # the bias model's width, depth and kernels come from the bias model itself
    cfg = {"name": "chrombpnet", "params": {"filters": 4, "n_layers": 2}}
    train_profile(
        npz["train"], npz["valid"], _train(tmp_path / "cbp"), cfg, TRAIN, seed=0, bias_model=tmp_path / "bias"
    )
    model, meta = load_model(tmp_path / "cbp")
    assert meta["params"] | TINY == meta["params"] and meta["params"]["bias_layers"] == 2
    with pytest.raises(CisflowError, match=r"do not fit its bias model: bias_layers 3 \(bias model: 2\)"):
        clash = {"name": "chrombpnet", "params": {"bias_layers": 3}}
        train_profile(npz["train"], npz["valid"], _train(tmp_path / "y"), clash, TRAIN, 0, bias_model=tmp_path / "bias")
    frozen = load_model(tmp_path / "bias")[0].state_dict()
    assert all(torch.equal(model.bias.state_dict()[k], v) for k, v in frozen.items())  # the bias never moved
    metrics = evaluate_profile(tmp_path / "cbp", npz["test"], _eval(tmp_path / "eval"), n_plots=1)
    assert set(metrics["model"]) == {"full", "corrected", "bias"}
    checks = bias_checks(tmp_path / "eval" / "metrics.tsv", tmp_path / "cbp", npz["test"], tmp_path / "checks.tsv",
                         n_backgrounds=2)  # fmt: skip
    assert len(checks) == 3 and checks["passed"].dtype == bool
    summary = profile_summary(
        tmp_path / "eval" / "metrics.tsv", tmp_path / "summary.tsv", checks_tsv=tmp_path / "checks.tsv"
    )
    assert (summary["section"] == "ChromBPNet checks").sum() == 3
    assert set(summary.loc[summary["measure"] == "counts_pearson", "section"]) >= {"bias model, ATAC, peaks"}
    cfg = {"name": "chrombpnet", "params": {**TINY, "bias_filters": 4, "bias_layers": 2}}
    with pytest.raises(CisflowError, match="needs a trained bias model"):
        train_profile(npz["train"], npz["valid"], _train(tmp_path / "x"), cfg, TRAIN, seed=0)
    with pytest.raises(CisflowError, match="beside the model"):
        train_profile(npz["train"], npz["valid"], _train(tmp_path / "x") | {"meta": tmp_path / "m.json"}, cfg, TRAIN, 0)
