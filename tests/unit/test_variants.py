"""cisflow.variants: alleles, windows, readers, scores against brute-force predictions, nulls, outputs.

Every fixture is made here: a random two-chromosome genome, tiny random models (a two-task
SequenceDNN, a stranded BPNet, a ChromBPNet) and VCF / TSV files written in ``tmp_path``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pysam.bcftools
import pytest
import torch
from scipy.spatial.distance import jensenshannon

from cisflow.errors import CisflowError
from cisflow.genome import Genome, encode, write_fasta
from cisflow.models import build_model, save_model
from cisflow.predict import predict, predict_logits
from cisflow.profile.predict import predict_profile
from cisflow.variants import (
    Allele,
    MotifHits,
    empirical_pvalues,
    open_variants,
    score_variants,
    split_record,
    variant_outputs,
)
from cisflow.variants import alleles as al
from cisflow.variants.explain import window_ism
from cisflow.variants.io import TsvReader
from cisflow.variants.windows import allele_windows, fetch_segments, profile_alignment

SIZES = {"chr1": 3000, "chr2": 2000}
HEADER = ["##fileformat=VCFv4.2", *(f"##contig=<ID={c},length={n}>" for c, n in SIZES.items())]
HEADER.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")


@pytest.fixture(scope="module")
def seqs() -> dict[str, str]:
    rng = np.random.default_rng(11)
    return {c: "".join(rng.choice(list("ACGT"), n)) for c, n in SIZES.items()}


@pytest.fixture(scope="module")
def genome_fa(tmp_path_factory, seqs) -> Path:
    path = tmp_path_factory.mktemp("genome") / "genome.fa"
    write_fasta(path, seqs.items())
    return path


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = build_model("sequence_dnn", 2, 200, num_filters=[6, 6], conv_width=[9, 5], pool_width=20)
    folder = tmp_path_factory.mktemp("classifier")
    save_model(folder, model, {"tasks": ["t0", "t1"]})
    return folder


@pytest.fixture(scope="module")
def bpnet(tmp_path_factory) -> Path:
    torch.manual_seed(1)
    model = build_model("bpnet", 2, 120, output_length=60, n_layers=2, filters=8, conv1_kernel=5, profile_kernel=5)
    folder = tmp_path_factory.mktemp("bpnet")
    save_model(folder, model, {"tasks": ["p0", "p1"]})
    return folder


def _vcf(path: Path, rows: list[tuple], header: list[str] = HEADER) -> Path:
    """A VCF of ``(chrom, pos, id, ref, alt)`` rows (``.gz``: bgzip + tabix index)."""
    text = "\n".join([*header, *("\t".join([str(f) for f in r] + [".", ".", "."]) for r in rows)]) + "\n"
    plain = path.with_suffix("") if path.suffix == ".gz" else path
    plain.write_text(text)
    if path.suffix == ".gz":
        pysam.tabix_index(str(plain), preset="vcf", force=True)
    return path


def _other(base: str) -> str:
    return "C" if base != "C" else "G"


def _variant_rows(seqs: dict[str, str]) -> list[tuple]:
    """A mix: multi-allelic SNV, MNV, deletion, insertion, a variant near each end, chr2 SNV."""
    s1, s2 = seqs["chr1"], seqs["chr2"]
    bases = [b for b in "ACGT" if b != s1[499]]
    return [
        ("chr1", 5, "near_start", s1[4], _other(s1[4])),
        ("chr1", 500, "multi", s1[499], f"{bases[0]},{bases[1]}"),
        ("chr1", 800, "mnv", s1[799:802], "".join(_other(b) for b in s1[799:802])),
        ("chr1", 1200, "del", s1[1199:1205], s1[1199]),
        ("chr1", 1500, "ins", s1[1499], s1[1499] + "GATTACA"),
        ("chr1", 2990, "near_end", s1[2989], _other(s1[2989])),
        ("chr2", 700, "snv2", s2[699], _other(s2[699])),
    ]


def _outputs(folder: Path) -> dict[str, Path]:
    return variant_outputs(folder / "scores.tsv")


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def _core(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """The change without the bases REF and ALT share in front, then behind."""
    while ref and alt and ref[0] == alt[0]:
        pos, ref, alt = pos + 1, ref[1:], alt[1:]
    while ref and alt and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    return pos, ref, alt


def _brute_windows(seq: str, pos: int, ref: str, alt: str, length: int) -> tuple[str, str]:
    """Reference and alternate windows by string slicing (the first changed base centred), N past the ends."""
    pos, ref, alt = _core(pos, ref, alt)
    c = length // 2
    padded = "N" * length + seq + "N" * length
    start = pos - 1 - c + length
    ref_w = padded[start : start + length]
    alt_w = (padded[start : start + c] + alt + padded[start + c + len(ref) :])[:length]
    return ref_w, alt_w


# ---------------------------------------------------------------------------------------------- alleles, windows


def test_classify_each_reason():
    assert al.classify("A", "C", 50) == al.CANDIDATE
    assert al.classify("A", "<DEL>", 50) == al.SYMBOLIC
    assert al.classify("A", "*", 50) == al.SYMBOLIC
    assert al.classify("A", "A[chr2:10[", 50) == al.SYMBOLIC
    assert al.classify("A", ".", 50) == al.SYMBOLIC
    assert al.classify("A", "N", 50) == al.N_ALLELE
    assert al.classify("R", "A", 50) == al.N_ALLELE
    assert al.classify("a", "A", 50) == al.NO_CHANGE
    assert al.classify("A", "A" + "C" * 51, 50) == al.LONG_INDEL
    assert al.classify("A", "A" + "C" * 50, 50) == al.CANDIDATE
    assert al.classify("", "ACG", 50) == al.CANDIDATE


def test_multiallelic_records_split_into_one_allele_per_alt(tmp_path):
    path = _vcf(tmp_path / "m.vcf", [("chr1", 10, "rs1", "a", "C,g,<DEL>")])
    with open_variants(path) as reader:
        (record,) = list(reader)
    alleles = split_record(record)
    assert [(a.ref, a.alt, a.index, a.start) for a in alleles] == [
        ("A", "C", 0, 9),
        ("A", "G", 1, 9),
        ("A", "<DEL>", 2, 9),
    ]


def test_windows_keep_the_length_and_centre_the_variant(seqs):
    genome = Genome({c: encode(s) for c, s in seqs.items()})
    length = 21
    cases = [Allele(*r[:2], r[3], r[4].split(",")[0], r[2], 0, 0) for r in _variant_rows(seqs)]
    cases.append(Allele("chr1", 1, seqs["chr1"][0], "TTT", "at_one", 0, 0))
    ref, alt = allele_windows(fetch_segments(genome, cases, length), cases, length)
    for a, r, x in zip(cases, ref, alt, strict=True):
        want_ref, want_alt = _brute_windows(seqs[a.chrom], a.pos, a.ref, a.alt, length)
        assert r.tolist() == encode(want_ref).tolist(), a.id
        assert x.tolist() == encode(want_alt).tolist(), a.id
        _, _, changed = _core(a.pos, a.ref, a.alt)
        assert len(want_alt) == length and want_alt[length // 2 : length // 2 + len(changed)] == changed


def test_profile_alignment_drops_the_unshared_positions():
    ref, alt = profile_alignment(3, 1, 4, 10)  # a 2-bp deletion at profile position 4
    assert ref.tolist() == [0, 1, 2, 3, 4, 7, 8, 9]
    assert alt.tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    ref, alt = profile_alignment(1, 4, 4, 10)  # a 3-bp insertion
    assert alt.tolist() == [0, 1, 2, 3, 4, 8, 9]
    assert ref.tolist() == list(range(7))
    same = profile_alignment(2, 2, 4, 10)
    assert same[0].tolist() == same[1].tolist() == list(range(10))


# ---------------------------------------------------------------------------------------------- scores = brute force


def _read_scores(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype={"ref": str, "alt": str, "motif_hit": str}, keep_default_na=True)


def _row_windows(table: pd.DataFrame, seqs: dict[str, str], length: int) -> tuple[np.ndarray, np.ndarray]:
    pairs = [
        _brute_windows(seqs[r.chrom], r.pos, r.ref.replace("-", ""), r.alt.replace("-", ""), length)
        for r in table.itertuples()
    ]
    return np.stack([encode(p[0]) for p in pairs]), np.stack([encode(p[1]) for p in pairs])


def _rc(codes: np.ndarray) -> np.ndarray:
    return np.array([3, 2, 1, 0, 4], np.uint8)[codes][:, ::-1]


@pytest.mark.parametrize("rc", [True, False])
def test_classifier_scores_are_differences_of_brute_force_predictions(tmp_path, seqs, genome_fa, classifier, rc):
    from cisflow.models import load_model

    vcf = _vcf(tmp_path / "v.vcf.gz", _variant_rows(seqs))
    score_variants(classifier, genome_fa, vcf, _outputs(tmp_path / "out"), reverse_complement=rc, top=0, batch_size=3)
    table = _read_scores(tmp_path / "out" / "scores.tsv")
    assert len(table) == 2 * 8  # 7 records, one of them with 2 ALTs; 2 tasks
    model, _ = load_model(classifier)
    ref, alt = _row_windows(table.iloc[::2], seqs, 200)

    def logits(codes):
        fwd = predict_logits(model, codes).astype(np.float64)
        return (fwd + predict_logits(model, _rc(codes))) / 2 if rc else fwd

    probs = {
        k: predict(model, c, reverse_complement_average=rc).astype(np.float64) for k, c in (("r", ref), ("a", alt))
    }
    lor = np.log(probs["a"] / (1 - probs["a"])) - np.log(probs["r"] / (1 - probs["r"]))
    want = {"logit_ref": logits(ref), "logit_alt": logits(alt), "prob_ref": probs["r"], "prob_alt": probs["a"]}
    want |= {
        "logit_diff": want["logit_alt"] - want["logit_ref"],
        "prob_diff": probs["a"] - probs["r"],
        "log_odds_ratio": lor,
    }
    for column, expected in want.items():
        got = table[column].to_numpy().reshape(-1, 2)
        assert np.abs(got - expected).max() <= 1e-5, column
    assert table["task"].tolist()[:2] == ["t0", "t1"]
    assert table["logit_diff_pval"].isna().all() and (table["motif_hit"].isna() | (table["motif_hit"] == "")).all()


def _softmax(profile: np.ndarray) -> np.ndarray:
    flat = profile.reshape(*profile.shape[:2], -1).astype(np.float64)
    e = np.exp(flat - flat.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).reshape(profile.shape)


def _peaks(path: Path) -> Path:
    lines = [f"chr1\t{s}\t{s + 100}\t.\t0\t.\t5\t10\t8\t50" for s in range(100, 2800, 150)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_profile_scores_are_brute_force_logfc_jsd_and_quantiles(tmp_path, seqs, genome_fa, bpnet):
    from cisflow.models import load_model

    vcf = _vcf(tmp_path / "v.vcf", _variant_rows(seqs))
    peaks = _peaks(tmp_path / "peaks.narrowPeak")
    score_variants(bpnet, genome_fa, vcf, _outputs(tmp_path / "out"), top=0, peaks=peaks, max_peaks=1000)
    table = _read_scores(tmp_path / "out" / "scores.tsv")
    model, _ = load_model(bpnet)
    ref, alt = _row_windows(table.iloc[::2], seqs, 120)

    def counts_probs(codes):
        (pf, lf), (pr, lr) = predict_profile(model, codes), predict_profile(model, _rc(codes))
        probs = (_softmax(pf) + _softmax(pr)[:, :, ::-1, ::-1]) / 2
        return (np.exp(lf.astype(np.float64)) + np.exp(lr.astype(np.float64))) / 2, probs

    (cr, pr), (ca, pa) = counts_probs(ref), counts_probs(alt)
    assert np.abs(table["logfc"].to_numpy().reshape(-1, 2) - np.log2(ca / cr)).max() <= 1e-5
    assert np.abs(table["log_counts_ref"].to_numpy().reshape(-1, 2) - np.log(cr)).max() <= 1e-5
    jsd = table["jsd"].to_numpy().reshape(-1, 2)
    for i, r in enumerate(table.iloc[::2].itertuples()):
        p, q = pr[i], pa[i]
        _, core_ref, core_alt = _core(r.pos, r.ref, r.alt)
        if len(core_ref) != len(core_alt):  # 5-bp deletion / 7-bp insertion at output position 60 - 30 = 30
            d = len(core_ref) - len(core_alt)
            keep_long = np.r_[0 : 30 + min(len(core_ref), len(core_alt)), 30 + max(len(core_ref), len(core_alt)) : 60]
            p, q = (p[..., keep_long], q[..., : 60 - d]) if d > 0 else (p[..., : 60 + d], q[..., keep_long])
        for t in range(2):
            assert abs(jsd[i, t] - jensenshannon(p[t].ravel(), q[t].ravel())) <= 1e-5, (r.id, t)
    windows = np.stack([encode(seqs["chr1"][s + 50 - 60 : s + 50 + 60]) for s in range(100, 2800, 150)])
    peak_counts = counts_probs(windows)[0]
    for column, allele_counts in (("ref_quantile", cr), ("alt_quantile", ca)):
        # a peak window may be the allele's own window: equal counts up to float noise may fall either side
        below = (peak_counts[None, :, :] < allele_counts[:, None, :] * (1 - 1e-5)).mean(axis=1)
        at_most = (peak_counts[None, :, :] <= allele_counts[:, None, :] * (1 + 1e-5)).mean(axis=1)
        got = table[column].to_numpy().reshape(-1, 2)
        assert (got >= below - 1e-6).all() and (got <= at_most + 1e-6).all()
    assert np.allclose(table["active_allele_quantile"], np.maximum(table["ref_quantile"], table["alt_quantile"]))


def test_chrombpnet_scores_its_bias_corrected_model_by_default(tmp_path, seqs, genome_fa):
    torch.manual_seed(2)
    model = build_model("chrombpnet", 1, 120, output_length=60, filters=8, n_layers=2, bias_filters=4, bias_layers=1,
                        conv1_kernel=5, profile_kernel=5)  # fmt: skip
    save_model(tmp_path / "m", model, {"tasks": ["atac"]})
    rows = [r for r in _variant_rows(seqs) if r[2] in ("snv2", "mnv")]
    vcf = _vcf(tmp_path / "v.vcf", sorted(rows))
    summary = score_variants(
        tmp_path / "m", genome_fa, vcf, _outputs(tmp_path / "out"), top=0, reverse_complement=False
    )
    assert summary["head"] == "corrected"
    table = _read_scores(tmp_path / "out" / "scores.tsv")
    ref, alt = _row_windows(table, seqs, 120)
    model.eval()
    (_, lr), (_, la) = predict_profile(model, ref, head="corrected"), predict_profile(model, alt, head="corrected")
    assert np.abs(table["logfc"].to_numpy() - (la - lr)[:, 0] / np.log(2)).max() <= 1e-5
    assert table["active_allele_quantile"].isna().all()


# ---------------------------------------------------------------------------------------------- outputs, inputs


def test_annotated_vcf_mismatch_report_and_summary(tmp_path, seqs, genome_fa, classifier, caplog):
    s1 = seqs["chr1"]
    rows = [
        *_variant_rows(seqs)[:3],
        ("chr1", 900, "bad_ref", _other(s1[899]), "T" if _other(s1[899]) != "T" else "A"),
        ("chr1", 950, "sym", s1[949], "<DEL>"),
        ("chr1", 960, "n", s1[959], "N"),
        ("chr1", 970, "same", s1[969], s1[969]),
        ("chr1", 980, "long", s1[979], s1[979] + "A" * 60),
    ]
    vcf = _vcf(tmp_path / "v.vcf.gz", rows)
    out = _outputs(tmp_path / "out")
    summary = score_variants(classifier, genome_fa, vcf, out, top=2, flank=8, deepshap_references=3)
    counts = summary["counts"]
    assert counts == {"records": 8, "alleles": 9, "scored": 4, "ref_mismatch": 1, "symbolic": 1, "n_allele": 1,
                      "no_change": 1, "long_indel": 1}  # fmt: skip
    assert "1 REF mismatches" in summary["summary"] and "REF differs" in caplog.text
    report = pd.read_csv(out["mismatches"], sep="\t")
    assert report.to_dict("records") == [{"chrom": "chr1", "pos": 900, "id": "bad_ref", "ref": rows[3][3],
                                          "alt": rows[3][4], "genome_ref": s1[899]}]  # fmt: skip
    scores = _read_scores(out["scores"])
    with pysam.VariantFile(str(out["vcf"])) as annotated:
        records = list(annotated)
        assert "CFV_LOGIT_DIFF_t1" in annotated.header.info
    assert [r.info["CFV_STATUS"] for r in records] == [("scored",), ("scored", "scored"), ("scored",),
        ("ref_mismatch",), ("symbolic",), ("n_allele",), ("no_change",), ("long_indel",)]  # fmt: skip
    multi = scores[(scores["id"] == "multi") & (scores["task"] == "t1")]["logit_diff"].to_numpy()
    assert np.allclose(records[1].info["CFV_LOGIT_DIFF_t1"], multi, atol=1e-5)
    assert records[3].info["CFV_LOGIT_DIFF_t0"] == (None,)
    assert json.loads(out["summary"].read_text())["counts"] == counts
    top = pd.read_csv(out["top"], sep="\t")
    assert len(top) == 2 and top["rank"].tolist() == [1, 2]
    strongest = scores.assign(a=scores["logit_diff"].abs()).sort_values("a", ascending=False).iloc[0]
    assert (top["id"].iloc[0], top["task"].iloc[0]) == (strongest["id"], strongest["task"])
    assert sorted(p.name for p in out["plots"].iterdir()) == sorted(["effects.png", *top["logo"]])
    assert Path(f"{out['vcf']}.tbi").is_file()
    explained = np.load(out["explanations"])
    assert explained["deepshap_ref"].shape == (2, 4, 16) and explained["ism_alt"].shape == (2, 4, 16)


def test_tsv_input_scores_like_the_vcf_and_becomes_a_vcf(tmp_path, seqs, genome_fa, classifier):
    s1 = seqs["chr1"]
    vcf_rows = [("chr1", 300, "d", s1[299:302], s1[299]), ("chr1", 600, "i", s1[599], s1[599] + "TT"),
                ("chr2", 40, "s", seqs["chr2"][39], _other(seqs["chr2"][39]))]  # fmt: skip
    tsv = tmp_path / "v.tsv"
    tsv.write_text("chr1\t301\tCT\t-\td\n" if s1[300:302] == "CT" else f"chr1\t301\t{s1[300:302]}\t-\td\n")
    with tsv.open("a") as handle:
        handle.write(f"chr1\t601\t-\tTT\ti\nchr2\t40\t{seqs['chr2'][39]}\t{_other(seqs['chr2'][39])}\ts\n")
    a = score_variants(classifier, genome_fa, _vcf(tmp_path / "v.vcf", vcf_rows), _outputs(tmp_path / "a"), top=0)
    b = score_variants(classifier, genome_fa, tsv, _outputs(tmp_path / "b"), top=0)
    assert a["counts"] == b["counts"]
    sa, sb = _read_scores(tmp_path / "a" / "scores.tsv"), _read_scores(tmp_path / "b" / "scores.tsv")
    assert np.allclose(sa["logit_diff"], sb["logit_diff"], atol=1e-6)
    assert sb["ref"].tolist()[:2] == [s1[300:302]] * 2 and sb["alt"].tolist()[2:4] == ["TT"] * 2
    with pysam.VariantFile(str(tmp_path / "b" / "scores.annotated.vcf.gz")) as converted:
        got = [(r.pos, r.ref, r.alts[0]) for r in converted]
    assert got == [(300, s1[299:302], s1[299]), (600, s1[599], s1[599] + "TT"), (40, vcf_rows[2][3], vcf_rows[2][4])]


def test_bcf_input_and_indexed_fasta_give_the_same_scores(tmp_path, seqs, genome_fa, classifier):
    vcf = _vcf(tmp_path / "v.vcf", _variant_rows(seqs))
    bcf = tmp_path / "v.bcf"
    with pysam.VariantFile(str(vcf)) as src, pysam.VariantFile(str(bcf), "wb", header=src.header) as dst:
        for rec in src:
            dst.write(rec)
    pysam.bcftools.index(str(bcf))
    indexed = tmp_path / "g.fa"
    indexed.write_text(Path(genome_fa).read_text())
    pysam.faidx(str(indexed))
    score_variants(classifier, genome_fa, vcf, _outputs(tmp_path / "a"), top=0)
    score_variants(classifier, indexed, bcf, _outputs(tmp_path / "b"), top=0)
    sa, sb = _read_scores(tmp_path / "a" / "scores.tsv"), _read_scores(tmp_path / "b" / "scores.tsv")
    pd.testing.assert_frame_equal(sa, sb)


# ---------------------------------------------------------------------------------------------- bad inputs


def _bad(tmp_path, genome_fa, model, variants, *needles, **kwargs):
    """score_variants must raise one line holding every needle and leave nothing in the output folder."""
    out = tmp_path / "out"
    with pytest.raises(CisflowError) as err:
        score_variants(model, genome_fa, variants, _outputs(out), top=1, deepshap_references=2, **kwargs)
    message = str(err.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    assert _files(out) == [], _files(out)
    return message


def test_unknown_chromosome_names_both_namings(tmp_path, seqs, genome_fa, classifier):
    header = [h.replace("ID=chr", "ID=") for h in HEADER]
    vcf = _vcf(tmp_path / "v.vcf.gz", [("1", 10, "x", seqs["chr1"][9], _other(seqs["chr1"][9]))], header)
    _bad(tmp_path, genome_fa, classifier, vcf, "'1'", "'chr1'", "1 vs chr1", str(vcf))
    plain = _vcf(tmp_path / "p.vcf", [("chr1", 10, "x", seqs["chr1"][9], "A"), ("chrZ", 5, "y", "A", "C")])
    _bad(tmp_path, genome_fa, classifier, plain, "'chrZ'", "chr1, chr2")


def test_malformed_lines_name_the_line(tmp_path, seqs, genome_fa, classifier):
    rows = [("chr1", 10, "x", seqs["chr1"][9], "A")]
    text = "\n".join([*HEADER, "chr1\t10\tx\t" + seqs["chr1"][9] + "\tA\t.\t.\t.", "chr1\tx20\ty\tA\tC\t.\t.\t."])
    (tmp_path / "pos.vcf").write_text(text + "\n")
    _bad(tmp_path, genome_fa, classifier, tmp_path / "pos.vcf", "line 6", "malformed", "x20")
    (tmp_path / "alt.vcf").write_text("\n".join([*HEADER, "chr1\t20\ty\tA\tC5\t.\t.\t."]) + "\n")
    _bad(tmp_path, genome_fa, classifier, tmp_path / "alt.vcf", "line 5", "'C5'")
    (tmp_path / "short.tsv").write_text("chr1\t10\tA\tC\n")
    _bad(tmp_path, genome_fa, classifier, tmp_path / "short.tsv", "line 1", "5 tab-separated columns")
    (tmp_path / "pos.tsv").write_text("chr1\t10\tA\tC\tv1\nchr1\t0\tA\tC\tv2\n")
    _bad(tmp_path, genome_fa, classifier, tmp_path / "pos.tsv", "line 2", "pos '0'")
    assert rows  # the good line before each bad one was read first


def test_unsorted_unindexed_and_plain_gzip_vcfs_are_refused(tmp_path, seqs, genome_fa, classifier):
    s1 = seqs["chr1"]
    rows = [("chr1", 50, "a", s1[49], _other(s1[49])), ("chr1", 20, "b", s1[19], _other(s1[19]))]
    _bad(tmp_path, genome_fa, classifier, _vcf(tmp_path / "u.vcf", rows), "not sorted", "chr1:20 comes after chr1:50")
    back = [rows[0], ("chr2", 5, "c", seqs["chr2"][4], "A"), ("chr1", 60, "d", s1[59], _other(s1[59]))]
    _bad(tmp_path, genome_fa, classifier, _vcf(tmp_path / "b.vcf", back), "not sorted", "chr1 appears again")
    _vcf(tmp_path / "n.vcf", sorted(rows, key=lambda r: r[1]))
    pysam.tabix_compress(str(tmp_path / "n.vcf"), str(tmp_path / "n.vcf.gz"))
    _bad(tmp_path, genome_fa, classifier, tmp_path / "n.vcf.gz", "not indexed", "bcftools index")
    with gzip.open(tmp_path / "g.vcf.gz", "wt") as handle:
        handle.write((tmp_path / "n.vcf").read_text())
    _bad(tmp_path, genome_fa, classifier, tmp_path / "g.vcf.gz", "not bgzip-compressed")


def test_alleles_that_do_not_fit_or_lie_past_the_end_are_errors(tmp_path, seqs, genome_fa, classifier):
    s1 = seqs["chr1"]
    long_ref = _vcf(tmp_path / "l.vcf", [("chr1", 1000, "big", s1[999:1100], "".join(_other(b) for b in s1[999:1100]))])
    _bad(
        tmp_path,
        genome_fa,
        classifier,
        long_ref,
        "longer than the model's 200 bp window",
        "(101 bp)",
        "bcftools view",
        str(long_ref),
    )
    deletion = _vcf(tmp_path / "d.vcf", [("chr1", 1000, "big", s1[999:1200], s1[999])])
    _bad(tmp_path, genome_fa, classifier, deletion, "longer than", max_indel_length=500)
    past = _vcf(tmp_path / "p.vcf", [("chr1", 3001, "far", "A", "C")])
    _bad(tmp_path, genome_fa, classifier, past, "past the end of chr1 (3,000 bp)", "another assembly")


def test_bad_options_fail_before_anything_is_written(tmp_path, seqs, genome_fa, classifier):
    vcf = _vcf(tmp_path / "v.vcf", _variant_rows(seqs)[:1])
    _bad(tmp_path, genome_fa, classifier, vcf, "null", "valid nulls", null="bogus")
    _bad(tmp_path, genome_fa, classifier, vcf, "max_indel_length", max_indel_length=-1)
    with pytest.raises(CisflowError, match="outputs must name"):
        score_variants(classifier, genome_fa, vcf, {"scores": tmp_path / "x.tsv"})


# ---------------------------------------------------------------------------------------------- nulls, ISM, hits


def test_empirical_pvalues_known_answer():
    null = np.array([[-3.0, 0.1], [1.0, 0.2], [2.0, 0.3], [np.nan, 0.4]])
    values = np.array([[2.0, 0.25], [-0.5, 0.5], [np.nan, 0.0]])
    two = empirical_pvalues(values, null, one_sided=False)
    assert two[0, 0] == pytest.approx((1 + 2) / 4)  # |null| >= 2: -3, 2 (NaN dropped: m = 3)
    assert two[1, 0] == pytest.approx((1 + 3) / 4) and np.isnan(two[2, 0])
    one = empirical_pvalues(values, null, one_sided=True)
    assert one[0, 1] == pytest.approx((1 + 2) / 5) and one[1, 1] == pytest.approx(1 / 5) and one[2, 1] == 1.0


@pytest.mark.parametrize("kind", ["shuffled", "random"])
def test_null_pvalues_are_seeded_and_in_range(tmp_path, seqs, genome_fa, classifier, kind):
    vcf = _vcf(tmp_path / "v.vcf", _variant_rows(seqs))
    runs = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        summary = score_variants(
            classifier, genome_fa, vcf, _outputs(tmp_path / name), top=0, null=kind, null_size=5, seed=seed
        )
        runs.append(_read_scores(tmp_path / name / "scores.tsv"))
    assert summary["null_size"] == 5
    p = runs[0]["logit_diff_pval"]
    assert p.between(1 / 6, 1).all() and np.allclose(p * 6, np.round(p * 6))
    pd.testing.assert_frame_equal(runs[0], runs[1])
    assert not runs[0]["logit_diff_pval"].equals(runs[2]["logit_diff_pval"])


def test_window_ism_equals_brute_force_differences(classifier, seqs):
    from cisflow.genome import one_hot
    from cisflow.models import load_model

    model, _ = load_model(classifier)
    x = one_hot(encode(seqs["chr1"][:200]))[None]
    ism = window_ism(model, torch.from_numpy(x), 1, 95, 105, torch.device("cpu"))
    base = predict_logits(model, encode(seqs["chr1"][:200])[None])[0, 1]
    for i in (0, 4, 9):
        for b in range(4):
            mutant = seqs["chr1"][:200]
            mutant = mutant[: 95 + i] + "ACGT"[b] + mutant[96 + i :]
            want = (
                0.0 if "ACGT"[b] == seqs["chr1"][95 + i] else predict_logits(model, encode(mutant)[None])[0, 1] - base
            )
            assert ism[0, b, i] == pytest.approx(want, abs=1e-5)


def test_motif_hits_are_reported_for_the_variants_inside_them(tmp_path, seqs, genome_fa, classifier):
    hits = tmp_path / "hits.tsv"
    hits.write_text("chrom\tgenome_start\tgenome_end\tpattern\tjaspar\tstrand\n"
                    "chr1\t495\t505\tpattern_0\tREB1 (MA0363.3)\t+\nchr1\t1490\t1500\tpattern_1\t\t-\n"
                    "chr1\t1499\t1510\tpattern_0\tREB1 (MA0363.3)\t+\n")  # fmt: skip
    table = MotifHits(hits)
    (tmp_path / "sim.tsv").write_text("region\tpattern\tstrand\tstart\tend\nseq_1\tp0\t+\t10\t20\n")
    assert MotifHits(tmp_path / "sim.tsv").overlapping("seq_1", 19, 20) == "p0(+)"
    assert table.overlapping("chr1", 499, 500) == "pattern_0=REB1(+)"
    assert table.overlapping("chr1", 1499, 1500) == "pattern_1(-),pattern_0=REB1(+)"
    assert table.overlapping("chr1", 505, 506) == "" and table.overlapping("chr2", 499, 500) == ""
    vcf = _vcf(tmp_path / "v.vcf", _variant_rows(seqs))
    score_variants(classifier, genome_fa, vcf, _outputs(tmp_path / "out"), top=0, hits=hits)
    scores = _read_scores(tmp_path / "out" / "scores.tsv").fillna({"motif_hit": ""})
    assert dict(zip(scores["id"], scores["motif_hit"], strict=False)) == {
        "near_start": "", "multi": "pattern_0=REB1(+)", "mnv": "", "del": "", "ins": "pattern_1(-),pattern_0=REB1(+)",
        "near_end": "", "snv2": ""}  # fmt: skip
    (tmp_path / "bad.tsv").write_text("name\tfrom\tto\npeak_1\t3\t9\n")
    with pytest.raises(CisflowError, match="genome_start, genome_end"):
        MotifHits(tmp_path / "bad.tsv")


def test_tsv_reader_takes_a_header_and_dashes(tmp_path):
    path = tmp_path / "v.tsv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("chr\tpos\tallele1\tallele2\tvariant_id\n# comment\nchr1\t10\tA\t-\tx\n\nchr1\t11\t-\tGG\ty\n")
    records = list(TsvReader(path))
    assert [(r.index, r.pos, r.ref, r.alts, r.id) for r in records] == [
        (0, 10, "A", ("",), "x"),
        (1, 11, "", ("GG",), "y"),
    ]


# ---------------------------------------------------------------------------------------------- known answer


def test_trained_model_ranks_motif_breaking_variants_above_random_ones(tmp_path):
    """Simulation with one planted TAL1 motif per positive; a SequenceDNN trained for real; variants that
    break an instance's core base in held-out sequences beside random positions of the same sequences."""
    from sklearn.metrics import roc_auc_score

    from cisflow.pwm import load_motif
    from cisflow.simulate import read_embeddings, run_simulation
    from cisflow.train import train_model, train_outputs
    from cisflow.variants.designs import embedded_sites, motif_core_variants, random_variants, write_variant_vcf

    out = {k: tmp_path / f"{k}.npz" for k in ("train", "valid", "test")}
    out |= {"fasta": tmp_path / "seq.fa", "labels": tmp_path / "labels.tsv", "embeddings": tmp_path / "emb.tsv"}
    run_simulation(out, "single_motif_detection", ["TAL1_known4"], valid_fraction=0.15, test_fraction=0.15,
                   input_length=200, num_pos=1500, num_neg=1500, seed=3)  # fmt: skip
    model_cfg = {"name": "sequence_dnn", "params": {"num_filters": [10], "conv_width": [10], "pool_width": 191}}
    train_cfg = {"epochs": 12, "batch_size": 64, "patience": 4, "monitor": "auroc", "learning_rate": 0.01}
    model = train_outputs(tmp_path / "model")
    train_model(out["train"], out["valid"], model, model_cfg, train_cfg, seed=1, progress=False, threads=1)
    genome = Genome.open(out["fasta"])
    test_ids = np.load(out["test"])["ids"].astype(str).tolist()
    sites = embedded_sites(read_embeddings(out["embeddings"]), test_ids)
    motif = motif_core_variants(genome, sites, {"TAL1_known4": load_motif("TAL1_known4")[1]})
    regions = pd.DataFrame({"chrom": sites["chrom"].unique(), "start": 0, "end": 200})
    table = pd.concat([motif, random_variants(genome, regions, 1, sites, seed=5)])
    write_variant_vcf(table, tmp_path / "v.vcf.gz", genome.sizes)
    score_variants(tmp_path / "model", out["fasta"], tmp_path / "v.vcf.gz", _outputs(tmp_path / "out"), top=0)
    scores = _read_scores(tmp_path / "out" / "scores.tsv")
    assert len(motif) > 150 and len(scores) == len(table)
    is_motif = scores["id"].str.startswith("TAL1_known4")
    for column in ("logit_diff", "log_odds_ratio"):
        assert roc_auc_score(is_motif, scores[column].abs()) >= 0.95, column
    assert (scores.loc[is_motif, "logit_diff"] < 0).mean() > 0.9  # breaking the motif lowers binding


def test_designs_break_the_core_base_on_either_strand(tmp_path):
    from cisflow.variants.designs import core_column, motif_core_variants, random_variants, write_variant_vcf

    pwm = np.full((4, 5), 0.25)
    pwm[:, 1] = [0.97, 0.01, 0.01, 0.01]  # a strong A one column left of the centre (1.76 bits)
    pwm[:, 3] = [0.01, 0.01, 0.0, 0.98]  # a stronger T one column right of it (1.84 bits): the core; G worst
    pwm[:, 2] = [0.4, 0.3, 0.2, 0.1]  # the centre itself: weak
    assert core_column(pwm) == 3 and core_column(pwm, min_bits=3.0) == 3
    genome = Genome({"s": encode("GGGGATATAGGGGGGGGGG")})
    sites = pd.DataFrame({"chrom": ["s", "s"], "start": [3, 4], "end": [8, 9], "strand": ["+", "-"], "motif": "m"})
    table = motif_core_variants(genome, sites, {"m": pwm})
    # + at 3: column 3 is base 6 (A) → G; - at 4: column 3 is base 9 - 1 - 3 = 5 (T) → C (complement of G)
    assert table[["pos", "ref", "alt"]].values.tolist() == [[7, "A", "G"], [6, "T", "C"]]
    rand = random_variants(genome, pd.DataFrame({"chrom": ["s"], "start": [0], "end": [19]}), [3], sites, seed=1)
    assert len(rand) == 3 and not rand["pos"].between(4, 9).any() and (rand["ref"] != rand["alt"]).all()
    write_variant_vcf(pd.concat([rand, table]), tmp_path / "d.vcf.gz", genome.sizes)
    with pysam.VariantFile(str(tmp_path / "d.vcf.gz")) as vcf:
        positions = [r.pos for r in vcf.fetch("s")]
    assert positions == sorted(positions) and len(positions) == 5


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_scores_equal_cpu_scores(tmp_path, seqs, genome_fa, classifier, bpnet):
    vcf = _vcf(tmp_path / "v.vcf", _variant_rows(seqs))
    for name, model, columns in (("c", classifier, ["logit_diff", "log_odds_ratio"]), ("p", bpnet, ["logfc", "jsd"])):
        for device in ("cpu", "cuda"):
            score_variants(model, genome_fa, vcf, _outputs(tmp_path / f"{name}{device}"), top=1, device=device,
                           deepshap_references=2, flank=5)  # fmt: skip
        cpu, gpu = (_read_scores(tmp_path / f"{name}{d}" / "scores.tsv") for d in ("cpu", "cuda"))
        for column in columns:
            assert np.abs(cpu[column] - gpu[column]).max() <= 1e-4, (name, column)


def test_a_bad_record_late_in_the_file_fails_before_any_scoring(tmp_path, seqs, genome_fa, classifier, monkeypatch):
    from cisflow.variants.scorers import ClassifierScorer

    def never(*args, **kwargs):
        raise AssertionError("scored before the whole file was checked")

    monkeypatch.setattr(ClassifierScorer, "score", never)
    rows = [*_variant_rows(seqs)[:-1], ("chr2", 700, "late", "A", "<DEL>"), ("chr3", 5, "unknown", "A", "C")]
    _bad(tmp_path, genome_fa, classifier, _vcf(tmp_path / "v.vcf", rows), "'chr3'", "chr1, chr2")


# ---------------------------------------------------------------------------------------------- CLI


def test_cli_scores_a_vcf_and_fails_in_one_line(tmp_path, seqs, genome_fa, classifier, capsys):
    from cisflow.cli import main

    vcf = _vcf(tmp_path / "v.vcf.gz", _variant_rows(seqs))
    out = tmp_path / "out" / "effects.tsv"
    argv = ["variants", "--model", classifier, "--genome", genome_fa, "--vcf", vcf, "--out", out]
    assert main([str(a) for a in [*argv, "--top", "2", "--flank", "6", "--deepshap-references", "2"]]) == 0
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(
        [
            "effects.tsv",
            "effects.annotated.vcf.gz",
            "effects.annotated.vcf.gz.tbi",
            "effects.ref_mismatches.tsv",
            "effects.top.tsv",
            "effects.explanations.npz",
            "effects_plots",
            "effects.summary.json",
        ]
    )
    assert len(_read_scores(out)) == 16
    bad = _vcf(tmp_path / "bad.vcf", [("chr9", 10, "x", "A", "C")])
    argv = ["variants", "--model", classifier, "--genome", genome_fa, "--vcf", bad, "--out", tmp_path / "o2" / "e.tsv"]
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cisflow variants: error: ") and "'chr9'" in err[0]
    assert not (tmp_path / "o2").exists() or _files(tmp_path / "o2") == []
