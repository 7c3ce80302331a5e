"""Tests for cisflow.dream_predict: scoring a challenge region list into submissions named as the challenge did."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from cisflow.dream import read_submission
from cisflow.dream_predict import predict_regions
from cisflow.errors import CisflowError
from cisflow.genome import N_CODE, Genome, write_fasta
from cisflow.models import build_model, save_model
from cisflow.predict import predict


@pytest.fixture
def setup(tmp_path):
    rng = np.random.default_rng(0)
    seqs = {"chr1": "".join(rng.choice(list("ACGT"), 3000)), "chr8": "".join(rng.choice(list("ACGT"), 2000))}
    write_fasta(tmp_path / "g.fa", seqs.items())
    torch.manual_seed(0)
    model = build_model("sequence_dnn", 2, 200, num_filters=[4], conv_width=[9], pool_width=10)
    save_model(tmp_path / "model", model, {"tasks": ["CTCF.K562", "CTCF.liver"]})
    regions = [("chr8", 150, 350), ("chr1", 0, 200), ("chr1", 2850, 3050)]  # file order, not sorted
    with gzip.open(tmp_path / "test_regions.bed.gz", "wt") as handle:
        handle.writelines(f"{c}\t{s}\t{e}\n" for c, s, e in regions)
    return tmp_path, model, regions


def test_region_list_scored_in_order_under_challenge_names(setup):
    tmp_path, model, regions = setup
    paths = predict_regions(tmp_path / "model", tmp_path / "g.fa", tmp_path / "test_regions.bed.gz",
                            tmp_path / "sub", chunk=2, reverse_complement_average=False, device="cpu")  # fmt: skip
    assert {p.name for p in paths.values()} == {"F.CTCF.K562.tab.gz", "F.CTCF.liver.tab.gz"}
    genome = Genome.from_fasta(tmp_path / "g.fa")
    # brute force: the 200 bp window centred on each region (past the chromosome ends: N)
    codes = np.stack([genome.fetch(c, (s + e) // 2 - 100, (s + e) // 2 + 100) for c, s, e in regions])
    assert (codes[2] == N_CODE).sum() == 50  # the last region reaches 50 bp past the end of chr1
    expected = predict(model.eval(), codes, batch_size=8, device="cpu")
    for j, task in enumerate(["CTCF.K562", "CTCF.liver"]):
        bins, probs = read_submission(paths[task])
        assert list(zip(bins["chr"], bins["start"], bins["stop"], strict=True)) == regions
        np.testing.assert_allclose(probs, expected[:, j], rtol=1e-5, atol=1e-6)


def test_held_out_cell_type_written_from_its_tf_outputs(setup, capsys):
    from cisflow.cli import main

    tmp_path, _, _ = setup
    args = ["dream-predict", "--model", str(tmp_path / "model"), "--fasta", str(tmp_path / "g.fa"), "--regions",
            str(tmp_path / "test_regions.bed.gz"), "--device", "cpu"]  # fmt: skip
    assert main([*args, "--out-dir", str(tmp_path / "all")]) == 0
    assert main([*args, "--out-dir", str(tmp_path / "held"), "--task", "CTCF.HepG2", "--task", "CTCF.K562"]) == 0
    assert sorted(p.name for p in (tmp_path / "held").iterdir()) == ["F.CTCF.HepG2.tab.gz", "F.CTCF.K562.tab.gz"]
    k562, liver = (read_submission(tmp_path / "all" / f"F.CTCF.{c}.tab.gz")[1] for c in ("K562", "liver"))
    held = read_submission(tmp_path / "held/F.CTCF.HepG2.tab.gz")[1]
    np.testing.assert_allclose(held, (k562 + liver) / 2, rtol=1e-5, atol=1e-6)  # both trained cell types' mean
    np.testing.assert_allclose(read_submission(tmp_path / "held/F.CTCF.K562.tab.gz")[1], k562, rtol=1e-6)
    capsys.readouterr()
    assert main([*args, "--out-dir", str(tmp_path / "x"), "--task", "REST.HepG2"]) == 2
    assert "model: task REST.HepG2 is neither a model task nor of a factor" in capsys.readouterr().err


def test_region_list_errors(setup):
    tmp_path, _, _ = setup
    (tmp_path / "bad.bed").write_text("chr5\t0\t200\n")
    with pytest.raises(CisflowError, match="chr5"):
        predict_regions(tmp_path / "model", tmp_path / "g.fa", tmp_path / "bad.bed", tmp_path / "o", device="cpu")
    with pytest.raises(CisflowError, match="round"):
        predict_regions(tmp_path / "model", tmp_path / "g.fa", tmp_path / "bad.bed", tmp_path / "o", round="X")
