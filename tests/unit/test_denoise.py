"""Tests for cisflow.denoise (coverage, I/O, metrics, model, training, inference) on tiny data."""

from __future__ import annotations

import gzip
import itertools
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score

from cisflow.denoise.coverage import (
    extended_coverage,
    fold_scale,
    interval_mask,
    interval_scores,
    keep_by_name,
    runs_above,
    tile_starts,
    window,
)
from cisflow.denoise.infer import peaks_from_probability, predict_chromosome
from cisflow.denoise.io import BigWigWriter, TrackReader, read_cut_sites, subsample_reads, write_table
from cisflow.denoise.metrics import equivalent_depth, mse, peak_metrics, pearson, spearman, track_metrics
from cisflow.denoise.train import check_denoise_train_config, denoising_loss, pearson_loss
from cisflow.errors import CisflowError
from cisflow.models import build_model, load_model, save_model
from cisflow.narrowpeak import read_narrowpeak

REPO = Path(__file__).resolve().parents[2]
TINY_MODEL = {"channels": 3, "kernel_size": 5, "dilation": 2, "n_blocks": 2, "class_channels": 3,
              "class_kernel_size": 3, "class_dilation": 3, "class_blocks": 1}  # fmt: skip


# ---------------------------------------------------------------------------------------------- coverage


def _brute_coverage(sites: list[int], size: int, flank: int) -> np.ndarray:
    out = np.zeros(size)
    for p in sites:
        for i in range(p - flank, p + flank + 1):
            if 0 <= i < size:
                out[i] += 1
    return out


@pytest.mark.parametrize("flank", [0, 1, 3, 25])
def test_extended_coverage_matches_brute_force(flank: int) -> None:
    sites = [0, 2, 2, 7, 19, 13]
    got = extended_coverage(np.array(sites), 20, flank, scale=0.5)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, 0.5 * _brute_coverage(sites, 20, flank))


def test_extended_coverage_rejects_sites_off_the_chromosome() -> None:
    with pytest.raises(CisflowError, match="outside"):
        extended_coverage(np.array([3, 20]), 20)
    with pytest.raises(CisflowError, match="flank"):
        extended_coverage(np.array([3]), 20, flank=-1)


def test_fold_scale_puts_the_mean_at_one() -> None:
    rng = np.random.default_rng(0)
    sites = rng.integers(100, 99_900, 5_000)  # away from the ends: no clipping
    cov = extended_coverage(sites, 100_000, 10, fold_scale(len(sites), 100_000, 10))
    assert cov.mean() == pytest.approx(1.0, rel=1e-5)
    with pytest.raises(CisflowError, match="no cut sites"):
        fold_scale(0, 100)


def test_interval_mask_and_scores_match_brute_force() -> None:
    starts, ends, scores = np.array([2, 5, -3, 18]), np.array([6, 9, 1, 30]), np.array([1.0, 3.0, 2.0, 0.5])
    mask, best = np.zeros(20, bool), np.zeros(20)
    for s, e, v in zip(starts, ends, scores, strict=True):
        for i in range(max(s, 0), min(e, 20)):
            mask[i], best[i] = True, max(best[i], v)
    np.testing.assert_array_equal(interval_mask(starts, ends, 20), mask)
    np.testing.assert_allclose(interval_scores(starts, ends, scores, 20), best)


def test_runs_above_tile_starts_and_window() -> None:
    starts, ends = runs_above(np.array([0.9, 0.1, 0.6, 0.7, 0.5, 0.2, 0.8, 0.8, 0.8]), 0.5, min_length=2)
    assert starts.tolist() == [2, 6] and ends.tolist() == [5, 9]
    tiles = tile_starts(25, 10, offset=3)
    assert tiles.tolist() == [-3, 7, 17]
    covered = np.concatenate([np.arange(s, s + 10) for s in tiles])
    assert sorted(p for p in covered if 0 <= p < 25) == list(range(25))
    np.testing.assert_array_equal(window(np.arange(1, 5, dtype=np.float32), -2, 3), [0, 0, 1, 2, 3])
    with pytest.raises(CisflowError, match="interval"):
        tile_starts(10, 0)


def test_keep_by_name_is_seeded_consistent_and_nested() -> None:
    names = [f"frag{i}" for i in range(4000)]
    small, large = keep_by_name(names, 0.1, seed=3), keep_by_name(names, 0.3, seed=3)
    assert abs(small.mean() - 0.1) < 0.02 and abs(large.mean() - 0.3) < 0.03
    assert not (small & ~large).any()  # nested
    np.testing.assert_array_equal(small, keep_by_name(names, 0.1, seed=3))
    assert not np.array_equal(small, keep_by_name(names, 0.1, seed=4))
    assert keep_by_name(["a", "b", "a"], 0.5, seed=1)[[0, 2]].tolist() in ([True, True], [False, False])
    assert keep_by_name(names[:10], 1.0, seed=0).all()
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(CisflowError, match="fraction"):
            keep_by_name(names, bad, seed=0)


# ---------------------------------------------------------------------------------------------- I/O

SIZES = {"chrA": 300, "chrB": 120}


def _write(path: Path, text: str) -> Path:
    with gzip.open(path, "wt") if path.suffix == ".gz" else open(path, "w") as handle:
        handle.write(text)
    return path


def test_read_cut_sites_from_tagalign_and_fragments(tmp_path: Path) -> None:
    tag = _write(tmp_path / "r.tagAlign.gz", "chrA\t10\t60\tf1\t60\t+\nchrA\t40\t90\tf1\t60\t-\nchrB\t5\t6\tN\t0\t+\n")
    sites = read_cut_sites(tag, SIZES)
    assert sites["chrA"].tolist() == [10, 89] and sites["chrB"].tolist() == [5]
    frag = _write(tmp_path / "f.bed", "chrA\t10\t90\tf1\nchrB\t0\t120\tf2\n")
    sites = read_cut_sites(frag, SIZES)
    assert sorted(sites["chrA"].tolist()) == [10, 89] and sorted(sites["chrB"].tolist()) == [0, 119]


def test_read_cut_sites_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(CisflowError, match=r"r\.bed: chromosome 'chr1' is not in the genome"):
        read_cut_sites(_write(tmp_path / "r.bed", "chr1\t1\t5\tx\n"), SIZES)
    with pytest.raises(CisflowError, match="outside chrB"):
        read_cut_sites(_write(tmp_path / "o.bed", "chrB\t100\t130\tx\n"), SIZES)
    with pytest.raises(CisflowError, match="no reads"):
        read_cut_sites(_write(tmp_path / "e.bed", "# nothing\n"), SIZES)
    with pytest.raises(CisflowError, match="does not exist"):
        read_cut_sites(tmp_path / "missing.bed", SIZES)


def test_subsample_reads_keeps_fragment_ends_together(tmp_path: Path) -> None:
    lines = "".join(f"chrA\t{i}\t{i + 50}\tf{i}\t60\t+\nchrA\t{i + 100}\t{i + 150}\tf{i}\t60\t-\n" for i in range(100))
    src = _write(tmp_path / "r.tagAlign.gz", lines)
    counts = subsample_reads(src, tmp_path / "s.tagAlign.gz", 0.3, seed=5)
    kept = [ln.split("\t")[3] for ln in gzip.open(tmp_path / "s.tagAlign.gz", "rt").read().splitlines()]
    assert counts == {"lines_in": 200, "lines_out": len(kept)}
    assert all(kept.count(n) == 2 for n in kept) and 20 <= len(kept) // 2 <= 40
    subsample_reads(src, tmp_path / "t.tagAlign.gz", 0.3, seed=5)
    assert gzip.open(tmp_path / "t.tagAlign.gz").read() == gzip.open(tmp_path / "s.tagAlign.gz").read()
    with pytest.raises(CisflowError, match="no reads to subsample"):
        subsample_reads(_write(tmp_path / "e.bed", ""), tmp_path / "x.bed", 0.5, seed=1)
    assert not (tmp_path / "x.bed").exists()


def test_bigwig_writer_and_reader_round_trip(tmp_path: Path) -> None:
    a = np.zeros(300, np.float32)
    a[10:20], a[20:25], a[299] = 1.5, 2.0, 7.0
    b = np.linspace(0, 1, 120, dtype=np.float32)
    with BigWigWriter(tmp_path / "t.bw", SIZES) as writer:
        writer.add("chrA", a)
        writer.add("chrB", b)
    with TrackReader([tmp_path / "t.bw", tmp_path / "t.bw"], SIZES) as reader:
        np.testing.assert_allclose(reader.chromosome("chrA")[0], a)
        np.testing.assert_allclose(reader.chromosome("chrB")[1], b, rtol=1e-6)
        np.testing.assert_allclose(reader.window("chrA", 295, 305)[0], [0, 0, 0, 0, 7, 0, 0, 0, 0, 0])
    with (
        pytest.raises(CisflowError, match="values for a chromosome of 300 bp"),
        BigWigWriter(tmp_path / "x.bw", SIZES) as w,
    ):
        w.add("chrA", b)
    assert not (tmp_path / "x.bw").exists()


def test_track_reader_bad_inputs(tmp_path: Path) -> None:
    with BigWigWriter(tmp_path / "t.bw", {"chrA": 300}) as writer:
        writer.add("chrA", np.ones(300))
    with pytest.raises(CisflowError, match=r"t\.bw: chrB is absent in the bigWig but 120 bp in the genome"):
        TrackReader([tmp_path / "t.bw"], SIZES)
    with pytest.raises(CisflowError, match="chrA is 300 bp in the bigWig but 301 bp"):
        TrackReader([tmp_path / "t.bw"], {"chrA": 301})
    with pytest.raises(CisflowError, match=r"x\.bw: (not a bigWig|cannot open)"):
        TrackReader([_write(tmp_path / "x.bw", "not a bigwig\n")], SIZES)


def test_write_table_formats_floats(tmp_path: Path) -> None:
    write_table(tmp_path / "t.tsv", [{"a": "x", "b": 1 / 3, "c": 2}, {"a": "y", "b": math.nan, "c": 3}])
    assert (tmp_path / "t.tsv").read_text() == "a\tb\tc\nx\t0.333333\t2\ny\tnan\t3\n"
    with pytest.raises(CisflowError, match="no rows"):
        write_table(tmp_path / "e.tsv", [])


# ---------------------------------------------------------------------------------------------- metrics


def test_track_and_peak_metrics_match_scipy_and_sklearn() -> None:
    rng = np.random.default_rng(1)
    clean = rng.gamma(1.0, 2.0, 500)
    track = clean + rng.normal(0, 1, 500)
    track[:50] = 0.0  # ties for the ranks
    mask = rng.random(500) < 0.3
    rows = {r["region"]: r for r in track_metrics(track, clean, mask)}
    for region, sel in (("all", slice(None)), ("in_peaks", mask), ("outside_peaks", ~mask)):
        assert rows[region]["n_bases"] == len(clean[sel])
        assert rows[region]["pearson"] == pytest.approx(np.corrcoef(track[sel], clean[sel])[0, 1], abs=1e-12)
        assert rows[region]["spearman"] == pytest.approx(spearmanr(track[sel], clean[sel])[0], abs=1e-12)
        assert rows[region]["mse"] == pytest.approx(np.mean((track[sel] - clean[sel]) ** 2))
    got = peak_metrics(track, mask)
    assert got["auroc"] == pytest.approx(roc_auc_score(mask, track), abs=1e-12)
    assert got["auprc"] == pytest.approx(average_precision_score(mask, track), abs=1e-12)
    assert math.isnan(pearson(np.ones(5), np.arange(5.0))) and math.isnan(spearman(np.array([]), np.array([])))
    assert math.isnan(mse(np.array([]), np.array([])))
    with pytest.raises(CisflowError, match="differ in length"):
        track_metrics(track, clean[:-1], mask)
    with pytest.raises(CisflowError, match="1-D arrays of one length"):
        pearson(np.ones(3), np.ones(4))


def test_equivalent_depth_interpolates_the_first_crossing() -> None:
    depths, auprc = [0.5, 0.1, 0.2, 1.0], [0.8, 0.4, 0.6, 1.0]
    assert equivalent_depth(depths, auprc, 0.7) == pytest.approx(0.35)
    assert equivalent_depth(depths, auprc, 0.6) == pytest.approx(0.2)
    assert equivalent_depth(depths, auprc, 0.3) == pytest.approx(0.1)
    assert math.isnan(equivalent_depth(depths, auprc, 1.1))
    assert math.isnan(equivalent_depth(depths, auprc, math.nan))
    with pytest.raises(CisflowError, match="distinct"):
        equivalent_depth([0.1, 0.1], [0.2, 0.3], 0.25)
    with pytest.raises(CisflowError, match="one length"):
        equivalent_depth([0.1], [0.2, 0.3], 0.25)


# ---------------------------------------------------------------------------------------------- model


def test_denoising_resnet_shapes_radius_and_errors() -> None:
    model = build_model("denoising_resnet", 1, 200, 1, **TINY_MODEL).eval()
    track, logits = model(torch.rand(2, 1, 200))
    assert track.shape == logits.shape == (2, 200) and (track >= 0).all()
    # per conv: (k - 1) * d - (k - 1) * d // 2 on the longer side; three convs a block
    assert model.receptive_radius == 2 * 3 * 4 + 1 * 3 * 3
    with pytest.raises(CisflowError, match="n_tasks=1"):
        build_model("denoising_resnet", 2, 200, 1)
    with pytest.raises(CisflowError, match="positive sizes"):
        build_model("denoising_resnet", 1, 200, 1, channels=0)
    with pytest.raises(CisflowError, match="unknown parameter 'width'"):
        build_model("denoising_resnet", 1, 200, 1, width=3)


@pytest.mark.parametrize("resolution", [1, 4])
def test_receptive_radius_bounds_what_an_output_sees(resolution: int) -> None:
    torch.manual_seed(0)
    model = build_model("denoising_resnet", 1, 400, 1, resolution=resolution, **TINY_MODEL).eval()
    radius, centre = model.receptive_radius, 200
    assert radius % resolution == 0
    x = torch.rand(1, 1, 400, requires_grad=True)
    track, logits = model(x)
    (track[0, centre] + logits[0, centre]).backward()
    seen = torch.nonzero(x.grad[0, 0]).flatten()
    assert seen.min() >= centre - radius and seen.max() <= centre + radius


@pytest.mark.parametrize(("resolution", "interval"), [(1, 37), (4, 40)])
def test_tiled_inference_equals_one_pass_over_the_chromosome(resolution: int, interval: int) -> None:
    torch.manual_seed(0)
    model = build_model("denoising_resnet", 1, 400, 1, resolution=resolution, **TINY_MODEL).eval()
    pad, size = model.receptive_radius, 250
    chrom = np.random.default_rng(2).gamma(0.5, 2.0, size).astype(np.float32)
    t, p = predict_chromosome(model, lambda c, s, e: window(chrom, s, e)[None], "chrA", size, interval=interval,
                              pad=pad, device=torch.device("cpu"), batch_size=3)  # fmt: skip
    with torch.no_grad():  # whole chromosome with zeros beyond both ends, one forward pass
        full = torch.from_numpy(window(chrom, -pad, size + pad)[None, None])
        track, logits = model(full)
    np.testing.assert_allclose(t, track[0, pad:-pad].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p, torch.sigmoid(logits[0, pad:-pad]).numpy(), rtol=1e-5, atol=1e-6)


def test_denoising_model_save_and_load(tmp_path: Path) -> None:
    model = build_model("denoising_resnet", 1, 100, 1, **TINY_MODEL)
    save_model(tmp_path, model, {"interval": 60, "pad": 20})
    loaded, meta = load_model(tmp_path)
    assert meta["interval"] == 60 and meta["in_channels"] == 1
    x = torch.rand(1, 1, 100)
    torch.testing.assert_close(loaded(x), model.eval()(x))


# ---------------------------------------------------------------------------------------------- loss, peaks


def test_losses_match_their_definitions() -> None:
    rng = np.random.default_rng(3)
    pred, target = rng.random(50), rng.random(50)
    labels, logits = (rng.random(50) < 0.4).astype(np.float64), rng.normal(size=50)
    r = np.corrcoef(pred, target)[0, 1]
    tp, tt, tl, tg = (torch.from_numpy(a) for a in (pred, target, logits, labels))
    assert float(pearson_loss(tp, tt)) == pytest.approx(1 - r, abs=1e-6)
    prob = 1 / (1 + np.exp(-logits))
    bce = -np.mean(labels * np.log(prob) + (1 - labels) * np.log(1 - prob))
    weights = {"mse_weight": 0.5, "pearson_weight": 2.0, "bce_weight": 3.0}
    total, parts = denoising_loss(tp, tl, tt, tg, weights)
    assert parts["mse"] == pytest.approx(np.mean((pred - target) ** 2))
    assert parts["bce"] == pytest.approx(bce)
    assert float(total) == pytest.approx(0.5 * parts["mse"] + 2 * (1 - r) + 3 * bce, abs=1e-6)


def test_train_config_checks() -> None:
    assert check_denoise_train_config(None)["interval"] == 50_000
    bad_settings = [({"epochs": 0}, "epochs"), ({"monitor": "auroc"}, "monitor"), ({"pad": -1}, "pad"),
                    ({"mse_weight": -1}, "mse_weight"), ({"lr": 1}, "unknown denoise training key 'lr'")]  # fmt: skip
    for bad, match in bad_settings:
        with pytest.raises(CisflowError, match=match):
            check_denoise_train_config(bad)


def test_peaks_from_probability_known_answer() -> None:
    prob = np.array([0.1, 0.6, 0.9, 0.7, 0.2, 0.55, 0.1, 0.8, 0.8, 0.8, 0.8], dtype=np.float32)
    track = np.array([0, 1, 2, 5, 0, 9, 0, 1, 3, 3, 2], dtype=np.float32)
    df = peaks_from_probability("chrA", prob, track, threshold=0.5, min_length=2)
    assert df[["start", "end", "summit", "score"]].values.tolist() == [[1, 4, 2, 900], [7, 11, 1, 800]]
    assert df["signal"].tolist() == [5.0, 3.0] and (df["pvalue"] == -1).all()
    with pytest.raises(CisflowError, match="threshold"):
        peaks_from_probability("chrA", prob, track, threshold=1.0)


# ---------------------------------------------------------------------------------------------- simulation

SIM_SIZES = {"chrA": 20_000, "chrB": 20_000, "chrV": 10_000, "chrT": 10_000}
SIM_FLANK = 10


def _planted_peaks(rng: np.random.Generator) -> dict[str, list[tuple[int, int]]]:
    """Peaks of 150 bp about every 1.5 kb per chromosome."""
    out = {}
    for chrom, size in SIM_SIZES.items():
        starts = np.arange(500, size - 500, 1500) + rng.integers(-300, 300, len(range(500, size - 500, 1500)))
        out[chrom] = [(int(s), int(s) + 150) for s in starts]
    return out


def _simulated_tracks(tmp_path: Path, peaks: dict, depths: dict[str, float], seed: int) -> dict[str, Path]:
    """Poisson cut sites from a planted rate (background 1, peaks 30 per kb) at each depth → bigWig tracks."""
    from cisflow.denoise.coverage import extended_coverage, fold_scale
    from cisflow.denoise.io import write_bigwig

    rng, genome = np.random.default_rng(seed), sum(SIM_SIZES.values())
    rates = {}
    for chrom, size in SIM_SIZES.items():
        rate = np.full(size, 0.001)
        for s, e in peaks[chrom]:
            rate[s:e] = 0.03
        rates[chrom] = rate
    out = {}
    for name, depth in depths.items():
        sites = {c: np.repeat(np.arange(len(r)), rng.poisson(r * depth)) for c, r in rates.items()}
        scale = fold_scale(sum(len(s) for s in sites.values()), genome, SIM_FLANK)
        out[name] = tmp_path / f"{name}.bw"
        write_bigwig(out[name], SIM_SIZES, ((c, extended_coverage(s, SIM_SIZES[c], SIM_FLANK, scale))
                                            for c, s in sites.items()))  # fmt: skip
    return out


def _peak_file(path: Path, peaks: dict[str, list[tuple[int, int]]], pvalue: float | None = None) -> Path:
    from cisflow.narrowpeak import make_peaks, write_narrowpeak

    rows = [(c, s, e) for c, ps in peaks.items() for s, e in ps]
    chrom, start, end = zip(*rows, strict=True)
    pv = None if pvalue is None else np.linspace(pvalue, 2 * pvalue, len(rows))
    write_narrowpeak(make_peaks(chrom, start, end, pvalue=pv), path)
    return path


def _thresholded_peaks(bw: Path, threshold: float) -> dict[str, list[tuple[int, int]]]:
    """A stand-in for MACS3 on the noisy reads: runs of the noisy track above ``threshold``."""
    with TrackReader([bw], SIM_SIZES) as reader:
        return {c: list(zip(*runs_above(reader.chromosome(c)[0], threshold, 20), strict=True)) for c in SIM_SIZES}


def _brute_force_checks(tsv: Path, arrays: dict, labels: np.ndarray, noisy_peaks: Path, depth: float) -> None:
    """Every kind of figure in the table equals a direct computation on the per-base arrays."""
    import csv

    clean, noisy, den, prob = (arrays[k].astype(np.float64) for k in ("clean", "noisy", "denoised", "prob"))
    with open(tsv) as handle:
        rows = {(r["method"], r["region"], r["depth"]): r for r in csv.DictReader(handle, delimiter="\t")}
    d = f"{depth:.6g}"
    got = rows[("denoised", "in_peaks", d)]
    assert float(got["pearson"]) == pytest.approx(np.corrcoef(den[labels], clean[labels])[0, 1], rel=1e-5)
    assert float(got["spearman"]) == pytest.approx(spearmanr(den[labels], clean[labels])[0], rel=1e-5)
    got = rows[("denoised", "all", d)]
    assert float(got["auprc"]) == pytest.approx(average_precision_score(labels, prob), rel=1e-5)
    assert float(got["mse"]) == pytest.approx(np.mean((den - clean) ** 2), rel=1e-5)
    got = rows[("noisy", "outside_peaks", d)]
    assert float(got["mse"]) == pytest.approx(np.mean((noisy[~labels] - clean[~labels]) ** 2), rel=1e-5)
    score = np.zeros(len(clean))  # MACS3's per-base score: the -log10 p of the covering peak
    table = read_narrowpeak(noisy_peaks)
    for _, peak in table[table["chrom"] == "chrT"].iterrows():
        score[peak["start"] : peak["end"]] = np.maximum(score[peak["start"] : peak["end"]], peak["pvalue"])
    assert float(rows[("macs3_noisy", "all", d)]["auroc"]) == pytest.approx(roc_auc_score(labels, score), rel=1e-5)
    curve = sorted((float(r["depth"]), float(r["auprc"])) for k, r in rows.items() if k[0] == "macs3_depth")
    target = float(rows[("denoised", "all", d)]["auprc"])
    (d0, v0), (d1, v1) = next((a, b) for a, b in itertools.pairwise(curve) if a[1] < target <= b[1])
    eq = next(r for k, r in rows.items() if k[0] == "equivalent_depth")
    assert float(eq["depth"]) == pytest.approx(d0 + (target - v0) * (d1 - d0) / (v1 - v0), rel=1e-4)


def test_denoising_known_answer_on_simulated_coverage(tmp_path: Path) -> None:
    from cisflow.denoise.pipeline import denoise_sample, evaluate_denoising
    from cisflow.denoise.train import denoiser_outputs, train_denoiser

    planted = _planted_peaks(np.random.default_rng(0))
    bw = _simulated_tracks(tmp_path, planted, {"clean": 40.0, "low": 1.0, "high": 3.0}, seed=1)
    clean_peaks = _peak_file(tmp_path / "clean.narrowPeak", planted)
    params = {"channels": 4, "kernel_size": 9, "dilation": 3, "n_blocks": 2, "class_channels": 4,
              "class_kernel_size": 5, "class_dilation": 4, "class_blocks": 1}  # fmt: skip
    settings = {"epochs": 4, "batch_size": 4, "interval": 2500, "learning_rate": 5e-3, "mse_weight": 0.05}
    summary = train_denoiser(bw["low"], bw["clean"], clean_peaks, SIM_SIZES, denoiser_outputs(tmp_path / "model"),
                             valid_chroms=["chrV"], test_chroms=["chrT"], train_cfg=settings, seed=0, device="cpu",
                             model_cfg={"name": "denoising_resnet", "params": params}, threads=1)  # fmt: skip
    assert summary["completed"] and (tmp_path / "model" / "model.safetensors").is_file()
    labels = interval_mask(*np.array(planted["chrT"]).T, SIM_SIZES["chrT"])
    series = {d: _peak_file(tmp_path / f"s{d}.np", _thresholded_peaks(bw[n], 3.0), 5.0)
              for d, n in ((1 / 40, "low"), (3 / 40, "high"), (1.0, "clean"))}  # fmt: skip
    for name, depth in (("low", 1 / 40), ("high", 3 / 40)):  # trained at "low"; "high" is another sample
        out = {k: tmp_path / f"{name}.{k}" for k in ("track", "prob", "peaks")}
        denoise_sample(tmp_path / "model" / "model.json", bw[name], SIM_SIZES, out, chroms=["chrT"], device="cpu")
        noisy_peaks = series[depth]
        tracks = {"clean": bw["clean"], "noisy": bw[name], "denoised": out["track"], "prob": out["prob"]}
        result = evaluate_denoising(tracks, {"clean": clean_peaks, "noisy_peaks": noisy_peaks}, SIM_SIZES, ["chrT"],
                                    tmp_path / f"{name}.tsv", depth=depth, depth_series=series,
                                    out_png=tmp_path / f"{name}.png", sample=name)  # fmt: skip
        assert result["denoised"]["pearson"] > result["noisy"]["pearson"] + 0.02, result
        assert result["denoised"]["mse"] < result["noisy"]["mse"], result
        with TrackReader([tracks[k] for k in ("clean", "noisy", "denoised", "prob")], SIM_SIZES) as reader:
            arrays = dict(zip(("clean", "noisy", "denoised", "prob"), reader.chromosome("chrT"), strict=True))
        _brute_force_checks(tmp_path / f"{name}.tsv", arrays, labels, noisy_peaks, depth)
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


HAVE_MACS3 = (Path(sys.executable).parent / "macs3").is_file() or shutil.which("macs3") is not None


@pytest.mark.macs3
@pytest.mark.skipif(not HAVE_MACS3, reason="macs3 not installed")
def test_training_pair_and_depth_series_with_macs3(tmp_path: Path) -> None:
    from cisflow.denoise.pairs import depth_series_outputs, macs3_depth_series, make_training_pair

    rng, sizes, sites = np.random.default_rng(0), {"chrA": 40_000, "chrB": 20_000}, {"chrA": [8_000, 30_000]}
    with gzip.open(tmp_path / "r.tagAlign.gz", "wt") as handle:  # 2,000 background fragments + 400 at each site
        for i in range(2_800):
            chrom = "chrA" if i % 3 or i >= 2_000 else "chrB"
            mid = (
                int(rng.integers(200, sizes[chrom] - 200))
                if i < 2_000
                else sites["chrA"][i % 2] + int(rng.normal(0, 30))
            )
            handle.write(
                f"{chrom}\t{mid - 60}\t{mid - 10}\tf{i}\t60\t+\n{chrom}\t{mid + 10}\t{mid + 60}\tf{i}\t60\t-\n"
            )
    names = ("noisy_reads", "noisy_bw", "clean_bw", "clean_peaks", "noisy_peaks", "stats")
    out = {k: tmp_path / f"{k}.out" for k in names}
    macs3 = {"pvalue": 1e-3, "gsize": 60_000}
    stats = make_training_pair(tmp_path / "r.tagAlign.gz", sizes, out, fraction=0.5, seed=2, macs3=macs3)
    assert stats["reads"] == 5_600 and stats["noisy_reads"] % 2 == 0
    assert stats["depth"] == pytest.approx(stats["noisy"]["cut_sites"] / 5_600) and 0.4 < stats["depth"] < 0.6
    assert json.loads(out["stats"].read_text())["noisy_reads"] == stats["noisy_reads"]
    with TrackReader([out["clean_bw"], out["noisy_bw"]], sizes) as reader:
        for k in range(2):
            values = np.concatenate([reader.chromosome(c)[k] for c in sizes])
            assert values.mean() == pytest.approx(1.0, rel=0.01)  # fold over the genome-wide mean
    clean = read_narrowpeak(out["clean_peaks"], sizes)
    for site in sites["chrA"]:
        assert ((clean.chrom == "chrA") & (clean.start <= site) & (clean.end > site)).any()
    outputs = depth_series_outputs(tmp_path / "series", [1.0, 0.3])
    series = macs3_depth_series(tmp_path / "r.tagAlign.gz", sizes, outputs, seed=2, macs3=macs3)
    assert sorted(series) == [0.3, 1.0] and all(p.is_file() for p in series.values())
    assert read_narrowpeak(series[1.0]).equals(clean)
    assert not list(tmp_path.glob("macs3_depth_*"))  # work folders removed


def _tiny_training(tmp_path: Path) -> dict:
    """Simulated tracks and the arguments of a fast ``train_denoiser`` run."""
    planted = _planted_peaks(np.random.default_rng(0))
    bw = _simulated_tracks(tmp_path, planted, {"clean": 40.0, "low": 1.0}, seed=1)
    return {"noisy_bw": bw["low"], "clean_bw": bw["clean"], "clean_peaks": _peak_file(tmp_path / "p.np", planted),
            "sizes": SIM_SIZES, "valid_chroms": ["chrV"], "test_chroms": ["chrT"], "device": "cpu", "threads": 1,
            "model_cfg": {"name": "denoising_resnet", "params": TINY_MODEL},
            "train_cfg": {"epochs": 2, "batch_size": 4, "interval": 5000, "learning_rate": 1e-2}}  # fmt: skip


def test_training_resumes_exactly_after_a_kill(tmp_path: Path) -> None:
    from cisflow.denoise.train import denoiser_outputs, train_denoiser

    args = _tiny_training(tmp_path)
    whole = train_denoiser(outputs=denoiser_outputs(tmp_path / "whole"), seed=3, **args)
    first = train_denoiser(outputs=denoiser_outputs(tmp_path / "cut"), seed=3, stop_after_epoch=1, **args)
    assert not first["completed"] and not (tmp_path / "cut" / "model.safetensors").exists()
    resumed = train_denoiser(outputs=denoiser_outputs(tmp_path / "cut"), seed=3, **args)
    assert resumed["completed"] and resumed["best_value"] == whole["best_value"]
    a, _ = load_model(tmp_path / "whole")
    b, meta = load_model(tmp_path / "cut")
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(va, vb, rtol=0, atol=0, msg=k)
    assert meta["interval"] == 5000 and meta["pad"] == b.receptive_radius and meta["splits"]["chrT"] == "test"


def test_denoise_stage_bad_inputs(tmp_path: Path) -> None:
    from cisflow.denoise.pipeline import denoise_sample, evaluate_denoising
    from cisflow.denoise.train import denoiser_outputs, train_denoiser

    args = _tiny_training(tmp_path)
    with pytest.raises(CisflowError, match="at least one validation chromosome"):
        train_denoiser(outputs=denoiser_outputs(tmp_path / "m"), **{**args, "valid_chroms": []})
    with pytest.raises(CisflowError, match="denoiser outputs lack meta, history, checkpoint"):
        train_denoiser(outputs={"model": tmp_path / "m" / "w.safetensors"}, **args)
    apart = {**denoiser_outputs(tmp_path / "m"), "meta": tmp_path / "elsewhere" / "model.json"}
    with pytest.raises(CisflowError, match="model weights must sit beside their metadata"):
        train_denoiser(outputs=apart, **args)
    with pytest.raises(CisflowError, match="split chromosomes not in the labels: chr9"):
        train_denoiser(outputs=denoiser_outputs(tmp_path / "m"), **{**args, "valid_chroms": ["chr9"]})
    bad = {**args, "model_cfg": {"name": "denoising_resnet", "params": {**TINY_MODEL, "resolution": 3}}}
    with pytest.raises(CisflowError, match=r"interval \(5000\) must be a multiple of the model's resolution \(3\)"):
        train_denoiser(outputs=denoiser_outputs(tmp_path / "m"), **bad)
    save_model(tmp_path / "seq", build_model("deepbind", 1, 50, num_filters=2, conv_width=4, hidden=2))
    with pytest.raises(CisflowError, match="not a denoising model"):
        denoise_sample(tmp_path / "seq", args["noisy_bw"], SIM_SIZES, {}, device="cpu")
    with pytest.raises(CisflowError, match="lacks inputs: denoised, prob"):
        tracks = {"clean": args["clean_bw"], "noisy": args["noisy_bw"]}
        peaks = {"clean": args["clean_peaks"], "noisy_peaks": args["clean_peaks"]}
        evaluate_denoising(tracks, peaks, SIM_SIZES, ["chrT"], tmp_path / "m.tsv", depth=0.1)
    assert not (tmp_path / "m.tsv").exists()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_training_and_denoising_on_the_gpu(tmp_path: Path) -> None:
    from cisflow.denoise.pipeline import denoise_sample
    from cisflow.denoise.train import denoiser_outputs, train_denoiser

    args = {**_tiny_training(tmp_path), "device": None}  # None → the GPU
    assert train_denoiser(outputs=denoiser_outputs(tmp_path / "m"), seed=3, **args)["completed"]
    for device in ("cuda", "cpu"):
        out = {"track": tmp_path / f"{device}.bw", "peaks": tmp_path / f"{device}.np"}
        denoise_sample(tmp_path / "m", args["noisy_bw"], SIM_SIZES, out, chroms=["chrT"], device=device)
    with TrackReader([tmp_path / "cuda.bw", tmp_path / "cpu.bw"], SIM_SIZES) as reader:
        on_gpu, on_cpu = reader.chromosome("chrT")
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=2e-2, atol=2e-2)  # TF32 convolutions on the GPU


@pytest.mark.macs3
@pytest.mark.skipif(not HAVE_MACS3, reason="macs3 not installed")
def test_denoise_reads_of_a_new_sample(tmp_path: Path) -> None:
    from cisflow.denoise.pipeline import denoise_reads
    from cisflow.denoise.train import denoiser_outputs, train_denoiser

    args = _tiny_training(tmp_path)
    train_denoiser(outputs=denoiser_outputs(tmp_path / "m"), seed=3, flank=SIM_FLANK, **args)
    rng = np.random.default_rng(5)  # a new sample: cut sites around the planted peaks of chrT plus background
    with gzip.open(tmp_path / "new.tagAlign.gz", "wt") as handle:
        for i, (s, _) in enumerate(_planted_peaks(np.random.default_rng(0))["chrT"] * 30):
            handle.write(f"chrT\t{s + int(rng.integers(0, 150))}\t{s + 150}\tr{i}\t60\t+\n")
        for i, p in enumerate(rng.integers(0, SIM_SIZES["chrT"] - 1, 100)):
            handle.write(f"chrT\t{p}\t{p + 1}\tb{i}\t60\t+\n")
    out = {k: tmp_path / f"new.{k}" for k in ("noisy_bw", "track", "prob", "peaks", "macs3_peaks", "stats")}
    stats = denoise_reads(tmp_path / "m", tmp_path / "new.tagAlign.gz", SIM_SIZES, out, chroms=["chrT"],
                          macs3={"gsize": 60_000, "pvalue": 1e-3}, device="cpu")  # fmt: skip
    assert stats["coverage"]["flank"] == SIM_FLANK and stats["coverage"]["cut_sites"] == 30 * 6 + 100
    assert all(p.is_file() for p in out.values())
    assert len(read_narrowpeak(out["macs3_peaks"])) >= 1


def test_denoising_model_is_its_own_family() -> None:
    from cisflow.models import check_model_config

    check_model_config({"name": "denoising_resnet", "params": {"resolution": 5}}, family="denoise")
    with pytest.raises(CisflowError, match="'denoising_resnet' is not a classifier model"):
        check_model_config({"name": "denoising_resnet"})
    with pytest.raises(CisflowError, match="'basset' is not a denoise model"):
        check_model_config({"name": "basset"}, family="denoise")


def test_cli_train_apply_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from cisflow.cli import main

    args = _tiny_training(tmp_path)
    sizes = tmp_path / "sizes.txt"
    sizes.write_text("".join(f"{c}\t{n}\n" for c, n in SIM_SIZES.items()))
    model = json.dumps(TINY_MODEL)
    train = ["denoise", "train", "--noisy", str(args["noisy_bw"]), "--clean", str(args["clean_bw"]), "--peaks",
             str(args["clean_peaks"]), "--genome", str(sizes), "--valid", "chrV", "--test", "chrT",
             "--model-params", model, "--epochs", "1", "--interval", "5000", "--device", "cpu",
             "--out-dir", str(tmp_path / "m")]  # fmt: skip
    assert main(train) == 0
    apply = ["denoise", "apply", "--model", str(tmp_path / "m"), "--noisy", str(args["noisy_bw"]), "--genome",
             str(sizes), "--chrom", "chrT", "--device", "cpu", "--out-dir", str(tmp_path / "a")]  # fmt: skip
    assert main(apply) == 0
    evaluate = ["denoise", "evaluate", "--clean", str(args["clean_bw"]), "--noisy", str(args["noisy_bw"]),
                "--denoised", str(tmp_path / "a" / "denoised.bw"),
                "--prob", str(tmp_path / "a" / "peak_probability.bw"),
                "--clean-peaks", str(args["clean_peaks"]), "--macs3", str(args["clean_peaks"]), "--depth", "0.025",
                "--genome", str(sizes), "--test", "chrT", "--out-dir", str(tmp_path / "e")]  # fmt: skip
    assert main([*evaluate, "--series", "1=" + str(args["clean_peaks"])]) == 0
    rows = (tmp_path / "e" / "metrics.tsv").read_text().splitlines()
    assert rows[0].startswith("sample\tmethod\tdepth") and any("\tmacs3_depth\t1\t" in r for r in rows)
    assert main([*evaluate, "--series", "x.narrowPeak"]) == 2
    assert "cisflow denoise: error: --series takes DEPTH=NARROWPEAK, got 'x.narrowPeak'" in capsys.readouterr().err
    assert main([*train[:-1], str(tmp_path / "m2"), "--model-params", "{bad"]) == 2
    assert "--model-params is not JSON" in capsys.readouterr().err
    assert main([*train[:-1], str(tmp_path / "m2"), "--pad", "wide"]) == 2
    assert "--pad takes a number of bases or null, got 'wide'" in capsys.readouterr().err


def test_macs3_settings_take_the_peaks_stage_meaning(tmp_path: Path) -> None:
    from cisflow.denoise.pairs import macs3_settings

    non_n = tmp_path / "non_n_bases.txt"
    non_n.write_text("12071326\n")
    peaks = {"pvalue": 0.01, "max_peaks": 300_000, "genome_size": None}
    assert macs3_settings(peaks, non_n) == {"pvalue": 0.01, "max_peaks": 300_000, "gsize": 12_071_326}
    assert macs3_settings({**peaks, "genome_size": "hs"}, non_n)["gsize"] == "hs"
    non_n.write_text("twelve\n")
    with pytest.raises(CisflowError, match=r"non_n_bases\.txt: expected the number of non-N bases"):
        macs3_settings(peaks, non_n)


def _read_yaml(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_config_denoise_section_defaults_are_the_training_defaults() -> None:
    from cisflow.config import load_schema, validate_config
    from cisflow.denoise.train import TRAIN_DEFAULTS

    section = load_schema("config")["properties"]["denoise"]["properties"]
    assert {k: section[k]["default"] for k in TRAIN_DEFAULTS} == TRAIN_DEFAULTS
    config = validate_config(_read_yaml(REPO / "config" / "examples" / "simulation.yaml"))
    assert config["denoise"]["enabled"] is False and config["denoise"]["flank"] == 100
    assert config["denoise"]["model"] == {"name": "denoising_resnet", "params": {}}


def test_config_denoise_mistakes_fail_before_jobs() -> None:
    from cisflow.config import check_inputs, load_config, validate_config

    example = REPO / "config" / "examples" / "denoise.yaml"
    check_inputs(load_config(example), "denoise.yaml", base_dir=REPO)
    for change, message in (
        ({"splits": {"valid_chroms": []}}, r"denoise.yaml: denoise needs splits.valid_chroms"),
        ({"denoise": {"model": {"name": "denoising_resnet", "params": {"chanels": 4}}}}, r"denoise.model: .*chanels"),
        ({"denoise": {"model": {"name": "basset"}}}, r"denoise.model.name: 'basset' is not one of"),
    ):
        config = _read_yaml(example)
        for section, values in change.items():
            config[section].update(values)
        with pytest.raises(CisflowError, match=message):
            check_inputs(validate_config(config, "denoise.yaml"), "denoise.yaml", base_dir=REPO)
    simulation = _read_yaml(REPO / "config" / "examples" / "simulation.yaml") | {"denoise": {"enabled": True}}
    with pytest.raises(CisflowError, match=r"s.yaml: denoise.enabled needs track: genome"):
        check_inputs(validate_config(simulation, "s.yaml"), "s.yaml", base_dir=REPO)
