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


def test_region_list_errors(setup):
    tmp_path, _, _ = setup
    (tmp_path / "bad.bed").write_text("chr5\t0\t200\n")
    with pytest.raises(CisflowError, match="chr5"):
        predict_regions(tmp_path / "model", tmp_path / "g.fa", tmp_path / "bad.bed", tmp_path / "o", device="cpu")
    with pytest.raises(CisflowError, match="round"):
        predict_regions(tmp_path / "model", tmp_path / "g.fa", tmp_path / "bad.bed", tmp_path / "o", round="X")
