"""Labels against an independent per-bin brute force, known answers, files and the CLI."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from cisflow.cli import main
from cisflow.errors import CisflowError
from cisflow.genome import Genome, encode, write_fasta
from cisflow.labels import (
    Labels,
    export_dream_tsv,
    label_summary,
    load_labels,
    make_labels,
    merge_intervals,
    n_bins,
    n_counts_per_bin,
    save_labels,
)
from cisflow.narrowpeak import make_peaks, write_narrowpeak

# ---------------------------------------------------------------------------------------------
# brute force: loop over every bin, hand overlap rules, no shared code with cisflow.labels
# ---------------------------------------------------------------------------------------------


def _merge(intervals):
    out = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:  # overlapping or book-ended
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


def _ov(a0, a1, b0, b1):
    return max(0, min(a1, b1) - max(a0, b0))


def _brute_task(mode, cons, relx, size, w, st, min_fraction, flank):
    """cons/relx: lists of (start, end, summit_offset) on one chromosome."""
    nb = (size - w) // st + 1 if size >= w else 0
    out = []
    mc = _merge([(s, e) for s, e, _ in cons])
    mr = _merge([(s, e) for s, e, _ in cons + relx])
    for i in range(nb):
        b0, b1 = i * st, i * st + w
        touched = any(_ov(b0, b1, s, e) > 0 for s, e, _ in cons + relx)
        if mode == "dream":
            c = sum(1 for s, e in mc if _ov(b0, b1, s, e) / w >= 0.5 or _ov(b0, b1, s, e) / (e - s) >= 0.5)
            r = sum(1 for s, e in mr if _ov(b0, b1, s, e) > 0)
            out.append(c if (c == r and c <= 1) else -1)
            continue
        if mode == "summit":
            summits = [s + (o if o >= 0 else (e - s) // 2) for s, e, o in cons]
            bound = any(b0 <= x - flank and x + flank <= b1 - 1 for x in summits)
        else:
            covered = set()
            for s, e, _ in cons:
                covered.update(range(max(s, b0), min(e, b1)))
            bound = len(covered) >= min_fraction * w
        out.append(1 if bound else (-1 if touched else 0))
    return np.array(out, dtype=np.int8).reshape(-1)


def _brute_keep(size, w, st, blacklist, codes, max_n):
    nb = (size - w) // st + 1 if size >= w else 0
    keep = []
    for i in range(nb):
        b0, b1 = i * st, i * st + w
        ok = not any(_ov(b0, b1, s, e) > 0 for s, e in blacklist)
        if codes is not None:
            ok &= int((codes[b0:b1] == 4).sum()) <= max_n * w
        keep.append(ok)
    return np.array(keep, dtype=bool)


def _random_peaks(rng, chrom, size, n, grid=25):
    """Peaks whose ends often fall on bin edges (multiples of ``grid``); some summits missing (-1)."""
    starts = rng.integers(0, size // grid, n) * grid + rng.choice([0, 0, 1, -1], n)
    starts = np.clip(starts, 0, size - 2)
    widths = rng.choice([1, 10, 49, 50, 51, 99, 100, 101, 150, 199, 200, 201, 300, 420], n)
    ends = np.minimum(starts + widths, size)
    summits = np.where(rng.random(n) < 0.2, -1, rng.integers(0, 1 << 30, n) % (ends - starts))
    return [(int(s), int(e), int(o)) for s, e, o in zip(starts, ends, summits, strict=True)]


def _frame(chrom_peaks):
    rows = [(c, s, e, o) for c, peaks in chrom_peaks.items() for s, e, o in peaks]
    return pd.DataFrame(rows, columns=["chrom", "start", "end", "summit"])


SIZES = {"c1": 1037, "c2": 150, "c3": 600, "c4": 200}


@pytest.fixture
def case():
    """Two tasks of random peaks on chromosomes with ragged ends, one shorter than a bin."""
    rng = np.random.default_rng(7)
    cons, relx = {}, {}
    for t in ("T1", "T2"):
        cons[t] = {c: _random_peaks(rng, c, s, 6) for c, s in SIZES.items()}
        relx[t] = {c: _random_peaks(rng, c, s, 8) for c, s in SIZES.items()}
    codes = {c: rng.integers(0, 4, s).astype(np.uint8) for c, s in SIZES.items()}
    codes["c1"][300:330] = 4  # an N run: bins holding > 10% N (20 bp of 200) are excluded
    codes["c3"][0:15] = 4
    blacklist = {"c1": [(700, 720)], "c3": [(400, 401)]}
    return cons, relx, Genome(codes), blacklist


@pytest.mark.parametrize("mode", ["dream", "summit", "fraction"])
@pytest.mark.parametrize(("w", "st"), [(200, 50), (100, 30)])
def test_labels_match_brute_force(case, mode, w, st):
    cons, relx, genome, blacklist = case
    bl = pd.DataFrame([(c, s, e) for c, v in blacklist.items() for s, e in v], columns=["chrom", "start", "end"])
    labels = make_labels(
        {t: _frame(v) for t, v in cons.items()},
        {t: _frame(v) for t, v in relx.items()},
        SIZES,
        bin_size=w,
        stride=st,
        mode=mode,
        min_fraction=0.4,
        summit_flank=3,
        blacklist=bl,
        genome=genome,
        max_n_fraction=0.1,
    )
    assert labels.tasks == ["T1", "T2"]
    for chrom, size in SIZES.items():
        expected = np.stack(
            [_brute_task(mode, cons[t][chrom], relx[t][chrom], size, w, st, 0.4, 3) for t in ("T1", "T2")], axis=1
        ).reshape(-1, 2)
        assert labels.labels[chrom].dtype == np.int8
        np.testing.assert_array_equal(labels.labels[chrom], expected, err_msg=f"{mode} {chrom}")
        keep = _brute_keep(size, w, st, blacklist.get(chrom, []), genome.chroms[chrom], 0.1)
        np.testing.assert_array_equal(labels.keep[chrom], keep)
    if w == 200:
        assert labels.labels["c2"].shape == (0, 2)  # shorter than one bin: no bins
        assert labels.labels["c4"].shape == (1, 2)  # exactly one bin


def test_n_bins_formula():
    assert n_bins(1037, 200, 50) == 17  # last bin [800, 1000); 37 bp tail in no later bin
    assert n_bins(200, 200, 50) == 1
    assert n_bins(199, 200, 50) == 0
    assert n_bins(0, 200, 50) == 0


def test_dream_known_answer_half_open_edges():
    # peak [200, 300): bins touching it only at 200 or 300 do not overlap (half-open)
    peaks = pd.DataFrame({"chrom": ["c"], "start": [200], "end": [300], "summit": [50]})
    labels = make_labels({"T": peaks}, None, {"c": 600}, mode="dream")
    # bins start 0, 50, ..., 400; overlap >= half the peak (50 bp) for starts 50..250
    np.testing.assert_array_equal(labels.labels["c"][:, 0], [0, 1, 1, 1, 1, 1, 0, 0, 0])


def test_dream_relaxed_only_is_ambiguous_and_two_peaks_ambiguous():
    cons = pd.DataFrame({"chrom": ["c", "c"], "start": [0, 120], "end": [60, 200], "summit": [-1, -1]})
    relx = pd.DataFrame({"chrom": ["c"], "start": [400], "end": [410], "summit": [-1]})
    labels = make_labels({"T": cons}, {"T": relx}, {"c": 600}, mode="dream")
    lab = labels.labels["c"][:, 0]
    assert lab[0] == -1  # two separate conservative peaks each qualify in bin [0, 200): "UBA"[2] = A
    assert lab[labels.bin_starts("c") == 250][0] == -1  # [250, 450) touches only the relaxed peak
    assert lab[labels.bin_starts("c") == 200][0] == 0


def test_merge_intervals_bookended():
    s, e = merge_intervals(np.array([10, 0, 30, 31]), np.array([20, 10, 31, 40]))
    np.testing.assert_array_equal(s, [0, 30])
    np.testing.assert_array_equal(e, [20, 40])


def test_n_counts_per_bin_matches_direct():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 5, 997).astype(np.uint8)
    got = n_counts_per_bin(codes, 100, 30)
    want = [(codes[i * 30 : i * 30 + 100] == 4).sum() for i in range(n_bins(997, 100, 30))]
    np.testing.assert_array_equal(got, want)


def _tiny_labels() -> Labels:
    cons = pd.DataFrame({"chrom": ["c"], "start": [0], "end": [150], "summit": [-1]})
    relx = pd.DataFrame({"chrom": ["c"], "start": [140], "end": [160], "summit": [-1]})
    cons2 = pd.DataFrame({"chrom": ["c"], "start": [250], "end": [300], "summit": [-1]})
    bl = pd.DataFrame({"chrom": ["d"], "start": [0], "end": [1]})
    return make_labels({"T1": cons, "T2": cons2}, {"T1": relx}, {"c": 300, "d": 200}, blacklist=bl)


@pytest.mark.parametrize("block", [1 << 20, 2, 1])
def test_dream_tsv_exact(tmp_path, monkeypatch, block):
    monkeypatch.setattr("cisflow.labels.io._TSV_BLOCK", block)  # written a block of bins at a time: same text
    labels = _tiny_labels()
    export_dream_tsv(labels, tmp_path / "l.tsv.gz")
    text = gzip.open(tmp_path / "l.tsv.gz", "rt").read()
    # bins [0,200) [50,250) [100,300) on c; d's only bin is blacklisted
    assert text == "chr\tstart\tstop\tT1\tT2\nc\t0\t200\tB\tU\nc\t50\t250\tB\tU\nc\t100\t300\tA\tB\n"


def test_label_summary_counts():
    frame = label_summary(_tiny_labels())
    assert list(frame.columns) == ["task", "bound", "ambiguous", "unbound", "excluded", "bound_fraction"]
    assert frame.loc[0, ["bound", "ambiguous", "unbound", "excluded"]].tolist() == [2, 1, 0, 1]
    assert frame.loc[1, ["bound", "ambiguous", "unbound"]].tolist() == [1, 0, 2]


def test_save_load_round_trip(tmp_path):
    labels = _tiny_labels()
    save_labels(labels, tmp_path / "labels.npz")
    back = load_labels(tmp_path / "labels.npz")
    assert back.tasks == labels.tasks and back.chrom_sizes == labels.chrom_sizes
    assert (back.bin_size, back.stride, back.mode) == (200, 50, "dream")
    for c in labels.chroms:
        np.testing.assert_array_equal(back.labels[c], labels.labels[c])
        np.testing.assert_array_equal(back.keep[c], labels.keep[c])


def test_load_rejects_other_files(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.zeros(3))
    with pytest.raises(CisflowError, match=r"x\.npz: labels file has no format version .*rerun the labels stage"):
        load_labels(tmp_path / "x.npz")
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(CisflowError, match="cannot read labels file"):
        load_labels(tmp_path / "bad.npz")
    with pytest.raises(CisflowError, match="does not exist"):
        load_labels(tmp_path / "missing.npz")


def test_bad_inputs():
    peaks = pd.DataFrame({"chrom": ["1"], "start": [0], "end": [10], "summit": [-1]})
    with pytest.raises(CisflowError, match=r"1 \(genome has chr1"):
        make_labels({"T": peaks}, None, {"chr1": 1000})
    with pytest.raises(CisflowError, match="unknown label mode"):
        make_labels({"T": peaks}, None, {"1": 1000}, mode="bogus")
    with pytest.raises(CisflowError, match="without conservative"):
        make_labels({"T": peaks}, {"U": peaks}, {"1": 1000})
    with pytest.raises(CisflowError, match="summit_flank"):
        make_labels({"T": peaks}, None, {"1": 1000}, mode="summit", summit_flank=100)
    with pytest.raises(CisflowError, match="no tasks"):
        make_labels({}, None, {"1": 1000})


def _write_inputs(tmp_path):
    write_narrowpeak(make_peaks(["c", "c"], [100, 1000], [400, 1050]), tmp_path / "t1.cons.narrowPeak")
    write_narrowpeak(make_peaks(["c"], [50], [450]), tmp_path / "t1.relx.narrowPeak")
    write_narrowpeak(make_peaks(["d"], [0], [200]), tmp_path / "t2.cons.narrowPeak")
    (tmp_path / "sizes").write_text("c\t1200\nd\t300\n")
    write_fasta(tmp_path / "g.fa", [("c", "ACGT" * 300), ("d", "N" * 50 + "ACG" * 83 + "A")])
    (tmp_path / "bl.bed").write_text("c\t600\t610\n")


def test_cli_labels(tmp_path, capsys):
    _write_inputs(tmp_path)
    argv = ["labels", "--conservative", f"T1={tmp_path / 't1.cons.narrowPeak'}"]
    argv += [
        "--conservative",
        f"T2={tmp_path / 't2.cons.narrowPeak'}",
        "--relaxed",
        f"T1={tmp_path / 't1.relx.narrowPeak'}",
    ]
    argv += ["--genome", str(tmp_path / "g.fa"), "--blacklist", str(tmp_path / "bl.bed"), "--max-n-fraction", "0.1"]
    argv += ["--out", str(tmp_path / "o" / "labels.npz"), "--dream-tsv", str(tmp_path / "o" / "l.tsv.gz")]
    assert main(argv) == 0
    labels = load_labels(tmp_path / "o" / "labels.npz")
    assert labels.tasks == ["T1", "T2"] and labels.chrom_sizes == {"c": 1200, "d": 300}
    assert labels.labels["c"][0, 0] == 1 and labels.labels["d"][0, 1] == 1
    assert not labels.keep["d"][0] and labels.keep["d"][2]  # first bin of d is 25% N
    assert not labels.keep["c"][(labels.bin_starts("c") <= 600) & (labels.bin_starts("c") > 400)].any()
    lines = gzip.open(tmp_path / "o" / "l.tsv.gz", "rt").read().splitlines()
    assert lines[0] == "chr\tstart\tstop\tT1\tT2" and len(lines) == 1 + int(sum(k.sum() for k in labels.keep.values()))
    assert main([*argv[:5], "--chrom-sizes", str(tmp_path / "sizes"), "--out", str(tmp_path / "p.npz")]) == 0


def test_cli_labels_errors(tmp_path, capsys):
    _write_inputs(tmp_path)
    code = main(
        ["labels", "--conservative", f"T={tmp_path / 'nope'}", "--chrom-sizes", str(tmp_path / "sizes"), "--out", "x"]
    )
    assert code == 2 and "narrowPeak file does not exist" in capsys.readouterr().err
    (tmp_path / "sizes2").write_text("chr1\t1000\n")
    code = main(
        [
            "labels",
            "--conservative",
            f"T={tmp_path / 't1.cons.narrowPeak'}",
            "--chrom-sizes",
            str(tmp_path / "sizes2"),
            "--out",
            str(tmp_path / "x.npz"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "c" in err and "chr1" in err
    code = main(
        [
            "labels",
            "--conservative",
            f"T={tmp_path / 't1.cons.narrowPeak'}",
            "--conservative",
            f"T={tmp_path / 't1.cons.narrowPeak'}",
            "--chrom-sizes",
            str(tmp_path / "sizes"),
            "--out",
            str(tmp_path / "x.npz"),
        ]
    )
    assert code == 2 and "given twice" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()
    assert encode("N")[0] == 4


def test_bundled_hg38_sizes():
    from pathlib import Path

    from cisflow.genome import read_chrom_sizes

    sizes = read_chrom_sizes(Path(__file__).resolve().parents[2] / "resources" / "genome" / "hg38.chrom.sizes")
    assert list(sizes)[:2] == ["chr1", "chr2"] and len(sizes) == 25
    assert sizes["chr1"] == 248_956_422 and sizes["chrM"] == 16_569
    assert sum(sizes.values()) == 3_088_286_401
    assert sum(n_bins(s, 200, 50) for s in sizes.values()) == 61_765_641


def test_cli_exclude_chrom(tmp_path):
    _write_inputs(tmp_path)
    argv = [
        "labels",
        "--conservative",
        f"T2={tmp_path / 't2.cons.narrowPeak'}",
        "--chrom-sizes",
        str(tmp_path / "sizes"),
    ]
    assert main([*argv, "--exclude-chrom", "d", "--mode", "summit", "--out", str(tmp_path / "x.npz")]) == 0
    labels = load_labels(tmp_path / "x.npz")
    assert labels.chroms == ["c"] and labels.mode == "summit" and not (labels.labels["c"] == 1).any()


def test_chromosome_rule_drops_contigs_their_peaks_and_blacklist(tmp_path, caplog):
    import logging

    from cisflow.genome import prepare_fasta, write_code_cache
    from cisflow.labels import labels_from_files

    rng = np.random.default_rng(0)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in (("chr1", 1000), ("chr1_KI270706v1_random", 400),
                                                                   ("chrM", 300), ("chrEBV", 300))}  # fmt: skip
    write_fasta(tmp_path / "g.fa", seqs.items())
    prepare_fasta(tmp_path / "g.fa", tmp_path / "genome.fa")
    write_code_cache(tmp_path / "genome.fa", tmp_path / "codes.npy")
    peaks = make_peaks(["chr1", "chr1_KI270706v1_random", "chrM", "chrM"], [100, 50, 10, 200], [300, 250, 60, 290])
    write_narrowpeak(peaks, tmp_path / "p.narrowPeak")
    (tmp_path / "bl.bed").write_text("chr1\t800\t900\nchrM\t0\t10\n")
    args = ({"T": tmp_path / "p.narrowPeak"}, None)
    codes = tmp_path / "codes.npy"
    with caplog.at_level(logging.INFO):
        labels = labels_from_files(*args, tmp_path / "a.npz", genome=codes, blacklist=tmp_path / "bl.bed")
    assert labels.chroms == ["chr1"] and labels.labels["chr1"][2, 0] == 1  # bin [100, 300) bound
    assert "dropped 3 of 4 sequences: chr1_KI270706v1_random, chrM, chrEBV" in caplog.text
    assert "p.narrowPeak: left out 3 regions on dropped chromosomes" in caplog.text
    assert "bl.bed: left out 1 regions on dropped chromosomes" in caplog.text
    kept = labels_from_files(*args, tmp_path / "b.npz", genome=codes, chroms=r"chr1.*|chrM")
    assert kept.chroms == ["chr1", "chr1_KI270706v1_random", "chrM"] and kept.labels["chrM"][0, 0] == 1
    sizes = tmp_path / "sizes"
    sizes.write_text("".join(f"{c}\t{len(s)}\n" for c, s in seqs.items()))
    with pytest.raises(CisflowError, match=r"sizes: no chromosome left after genome.chroms \(chr9\)"):
        labels_from_files(*args, tmp_path / "c.npz", chrom_sizes=sizes, chroms="chr9")
    assert main(["labels", "--conservative", f"T={tmp_path / 'p.narrowPeak'}", "--chrom-sizes", str(sizes),
                 "--chroms", "chr1|chrM", "--out", str(tmp_path / "d.npz")]) == 0  # fmt: skip
    assert load_labels(tmp_path / "d.npz").chroms == ["chr1", "chrM"]
