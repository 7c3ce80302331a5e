"""Tests for cisflow.loader: GenomeBatches against a slow reference, sampling, jitter, RC, bigWig channels."""

from __future__ import annotations

import numpy as np
import pyBigWig
import pytest

from cisflow.errors import CisflowError
from cisflow.genome import Genome, one_hot, reverse_complement_codes
from cisflow.labels import Labels
from cisflow.loader import GenomeBatches

L, BIN, STRIDE = 60, 20, 10


def _genome_labels(seed: int = 0) -> tuple[Genome, Labels]:
    """Two random chromosomes (with some N) and 2-task labels: ~15 % bound, a few ambiguous, some not kept."""
    rng = np.random.default_rng(seed)
    chroms = {"chrA": rng.integers(0, 5, 1000).astype(np.uint8), "chrB": rng.integers(0, 4, 730).astype(np.uint8)}
    labels, keep = {}, {}
    for c, codes in chroms.items():
        nb = (codes.size - BIN) // STRIDE + 1
        mat = np.where(rng.random((nb, 2)) < 0.15, 1, 0).astype(np.int8)
        mat[rng.random((nb, 2)) < 0.05] = -1
        mat[0] = (1, 0)  # a positive at the chromosome start: its window runs off the end
        labels[c], keep[c] = mat, rng.random(nb) > 0.1
        keep[c][0] = True
    sizes = {c: int(v.size) for c, v in chroms.items()}
    return Genome(chroms), Labels(["t1", "t2"], BIN, STRIDE, sizes, labels, keep)


@pytest.fixture(scope="module")
def gl() -> tuple[Genome, Labels]:
    return _genome_labels()


def _reference(genome: Genome, plan: dict, i: int) -> np.ndarray:
    """Slow one-hot of plan row ``i``: Genome.fetch (N-padded) then RC if flipped."""
    codes = genome.fetch(str(plan["chrom"][i]), int(plan["start"][i]), int(plan["start"][i]) + L)
    if plan["flip"][i]:
        codes = reverse_complement_codes(codes)
    return one_hot(codes)


def _label_rows(labels: Labels, plan: dict) -> np.ndarray:
    return np.stack([labels.labels[c][b // STRIDE] for c, b in zip(plan["chrom"], plan["bin_start"], strict=True)])


def test_batches_equal_slow_reference(gl):
    genome, labels = gl
    loader = GenomeBatches(genome, labels, ["chrA", "chrB"], L, batch_size=16, jitter=7, seed=3)
    loader.set_epoch(2)
    plan = loader.epoch_plan()
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in loader], strict=True)
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert len(xs) == len(loader) and x.shape == (loader.n_samples, 4, L) and x.dtype == np.float32
    assert y.dtype == np.int8 and all(b.shape[0] <= 16 for b in xs)
    want = np.stack([_reference(genome, plan, i) for i in range(plan["rows"].size)])
    np.testing.assert_array_equal(x, want)
    np.testing.assert_array_equal(y, _label_rows(labels, plan))
    assert plan["flip"].any() and (~plan["flip"]).any()
    assert (plan["start"] < 0).any()  # the edge window is N-padded like Genome.fetch


def test_positives_all_negatives_fresh_and_reproducible(gl):
    genome, labels = gl
    a = GenomeBatches(genome, labels, ["chrA", "chrB"], L, negative_ratio=1.0, seed=5)
    b = GenomeBatches(genome, labels, ["chrA", "chrB"], L, negative_ratio=1.0, seed=5)
    plans = [a.epoch_plan(e) for e in range(3)]
    pos_keys = set()
    for c in ("chrA", "chrB"):
        for i in np.flatnonzero(labels.keep[c] & (labels.labels[c] == 1).any(axis=1)):
            pos_keys.add((c, i * STRIDE))
    negs = []
    for plan in plans:
        y = _label_rows(labels, plan)
        pos = (y == 1).any(axis=1)
        assert (y[~pos] == 0).all()  # negatives are all-U
        assert {(c, int(s)) for c, s in zip(plan["chrom"][pos], plan["bin_start"][pos], strict=True)} == pos_keys
        assert (~pos).sum() == pos.sum() == a.n_positives
        negs.append({(c, int(s)) for c, s in zip(plan["chrom"][~pos], plan["bin_start"][~pos], strict=True)})
    assert negs[0] != negs[1] and negs[1] != negs[2]  # fresh each epoch
    for e in range(3):
        pa, pb = a.epoch_plan(e), b.epoch_plan(e)
        assert all(np.array_equal(pa[k], pb[k]) for k in pa)
    b.set_epoch(1)
    first_x, first_y = next(iter(b))
    b.set_epoch(1)
    again_x, again_y = next(iter(b))
    assert np.array_equal(first_x.numpy(), again_x.numpy()) and np.array_equal(first_y.numpy(), again_y.numpy())
    assert GenomeBatches(genome, labels, ["chrA"], L, negative_ratio=0.5, seed=0).n_negatives <= a.n_negatives


def test_kept_bins_only_and_ambiguous_kept_as_minus_one(gl):
    genome, labels = gl
    loader = GenomeBatches(genome, labels, ["chrA"], L, negative_ratio=100.0, seed=1)
    plan = loader.epoch_plan(0)
    idx = plan["bin_start"] // STRIDE
    assert labels.keep["chrA"][idx].all()
    y = _label_rows(labels, plan)
    assert (y == -1).any()  # a positive in one task with the other ambiguous keeps -1
    allowed = labels.keep["chrA"] & ((labels.labels["chrA"] == 1).any(1) | (labels.labels["chrA"] == 0).all(1))
    assert plan["rows"].size == allowed.sum()  # ratio 100 caps at every negative


def test_jitter_bounds(gl):
    genome, labels = gl
    loader = GenomeBatches(genome, labels, ["chrA", "chrB"], L, jitter=4, seed=0)
    shifts = np.concatenate([loader.epoch_plan(e)["shift"] for e in range(5)])
    assert shifts.min() == -4 and shifts.max() == 4
    plan = loader.epoch_plan(0)
    assert np.array_equal(plan["start"], plan["bin_start"] + BIN // 2 - L // 2 + plan["shift"])
    assert not GenomeBatches(genome, labels, ["chrA"], L, jitter=0).epoch_plan(0)["shift"].any()


def test_reverse_complement_per_sequence(gl):
    genome, labels = gl
    fwd = GenomeBatches(genome, labels, ["chrB"], L, reverse_complement=False, seed=2)
    rc = GenomeBatches(genome, labels, ["chrB"], L, reverse_complement=True, seed=2)
    plan = rc.epoch_plan(0)
    assert not fwd.epoch_plan(0)["flip"].any()
    x_f, _ = fwd.make_batch(plan["rows"], plan["shift"], np.zeros(plan["rows"].size, bool))
    x_r, _ = rc.make_batch(plan["rows"], plan["shift"], plan["flip"])
    flip = plan["flip"]
    np.testing.assert_array_equal(x_r.numpy()[flip], x_f.numpy()[flip][:, ::-1, ::-1])
    np.testing.assert_array_equal(x_r.numpy()[~flip], x_f.numpy()[~flip])


def _write_bigwig(path, sizes: dict[str, int], rng) -> dict[str, np.ndarray]:
    """A bigWig with random per-base values on part of each chromosome (the rest missing); the dense truth."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()))
    truth = {}
    for c, n in sizes.items():
        vals = rng.random(n).astype(np.float32) * 10
        vals[: n // 3] = np.nan
        truth[c] = vals
        start = n // 3
        bw.addEntries(c, start, values=vals[start:].astype(np.float64).tolist(), span=1, step=1)
    bw.close()
    return truth


def test_bigwig_channels_equal_pybigwig(gl, tmp_path):
    genome, labels = gl
    path = tmp_path / "sig.bw"
    _write_bigwig(path, genome.sizes, np.random.default_rng(0))
    loader = GenomeBatches(genome, labels, ["chrA", "chrB"], L, jitter=3, seed=4, signal_bigwigs=[path, path])
    assert loader.in_channels == 6
    plan = loader.epoch_plan(0)
    x, _ = loader.make_batch(plan["rows"], plan["shift"], plan["flip"])
    bw = pyBigWig.open(str(path))
    for i in range(plan["rows"].size):
        c, s = str(plan["chrom"][i]), int(plan["start"][i])
        lo, hi = max(s, 0), min(s + L, genome.sizes[c])
        want = np.zeros(L, np.float32)
        want[lo - s : hi - s] = np.log1p(np.nan_to_num(np.array(bw.values(c, lo, hi)), nan=0.0))
        if plan["flip"][i]:
            want = want[::-1]
        np.testing.assert_array_equal(x[i, 4].numpy(), want.astype(np.float16).astype(np.float32))
        np.testing.assert_array_equal(x[i, 5].numpy(), x[i, 4].numpy())
    bw.close()
    np.testing.assert_array_equal(x[:, :4].numpy(), np.stack([_reference(genome, plan, i) for i in range(len(x))]))


def test_dataset_signal_equals_loader_signal(gl, tmp_path):
    """build_datasets' signal windows (off-chromosome 0) are the loader's values for the same windows."""
    from cisflow.data import build_datasets

    genome, labels = gl
    path = tmp_path / "sig.bw"
    truth = _write_bigwig(path, genome.sizes, np.random.default_rng(1))
    sets = build_datasets(labels, genome, {"chrA": "train", "chrB": "valid"}, L, signal_bigwigs=[path])
    valid = sets["valid"]
    assert valid["signal"].dtype == np.float16 and valid["signal_names"].tolist() == ["sig.bw"]
    for i in range(valid["codes"].shape[0]):
        s, n = int(valid["start"][i]), genome.sizes["chrB"]
        want = np.zeros(L)
        lo, hi = max(s, 0), min(s + L, n)
        want[lo - s : hi - s] = np.log1p(np.nan_to_num(truth["chrB"][lo:hi], nan=0.0))
        np.testing.assert_allclose(valid["signal"][i, 0].astype(np.float64), want, rtol=1e-3, atol=1e-3)
    loader = GenomeBatches(genome, labels, ["chrB"], L, seed=0, signal_bigwigs=[path])
    sample = loader.eval_sample()
    assert sample["signal_names"].tolist() == ["sig.bw"]
    by_start = {int(s): k for k, s in enumerate(valid["start"])}
    starts = loader.epoch_plan(0)["bin_start"] + BIN // 2 - L // 2
    for k, start in enumerate(np.sort(starts)):
        np.testing.assert_array_equal(sample["signal"][k, 0], valid["signal"][by_start[int(start)], 0])
    with pytest.raises(CisflowError, match="distinct file names"):
        build_datasets(labels, genome, {"chrA": "train"}, L, signal_bigwigs=[path, path])


def test_eval_sample_and_tasks_idx(gl):
    genome, labels = gl
    loader = GenomeBatches(genome, labels, ["chrA", "chrB"], L, tasks_idx=[1], seed=0, jitter=5)
    sample = loader.eval_sample(max_n=25)
    assert sample["codes"].shape == (25, L) and sample["codes"].dtype == np.uint8
    assert sample["labels"].shape == (25, 1) and sample["tasks"].tolist() == ["t2"]
    full = loader.eval_sample()
    assert full["codes"].shape[0] == loader.n_samples
    assert loader.describe()["tasks"] == ["t2"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_length": 0}, "must be positive"),
        ({"negative_ratio": -1}, "must be >= 0"),
        ({"jitter": -2}, "must be >= 0"),
        ({"chroms": ["chrZ"]}, "not in the labels: chrZ"),
        ({"tasks_idx": [2]}, "out of range"),
    ],
)
def test_bad_parameters(gl, kwargs, message):
    genome, labels = gl
    args = {"chroms": ["chrA"], "input_length": L, **kwargs}
    with pytest.raises(CisflowError, match=message):
        GenomeBatches(genome, labels, **args)


def test_prefetch_yields_the_same_batches(gl):
    genome, labels = gl
    plain = GenomeBatches(genome, labels, ["chrA", "chrB"], L, batch_size=8, jitter=2, seed=9)
    ahead = GenomeBatches(genome, labels, ["chrA", "chrB"], L, batch_size=8, jitter=2, seed=9, prefetch=3)
    for loader in (plain, ahead):
        loader.set_epoch(4)
    got = list(ahead)
    assert len(got) == len(plain)
    for (x1, y1), (x2, y2) in zip(plain, got, strict=True):
        assert np.array_equal(x1.numpy(), x2.numpy()) and np.array_equal(y1.numpy(), y2.numpy())
    for i, _ in enumerate(ahead):  # leaving early shuts the worker down
        if i == 1:
            break


@pytest.mark.parametrize("prefetch", [0, 2])
def test_bin_windows_equal_the_dataset_windows(gl, tmp_path, prefetch):
    """BinWindows makes, a batch at a time, exactly the windows (and signal) build_datasets stores."""
    from cisflow.data import build_datasets
    from cisflow.loader import BinWindows

    genome, labels = gl
    path = tmp_path / "sig.bw"
    _write_bigwig(path, genome.sizes, np.random.default_rng(2))
    valid = build_datasets(labels, genome, {"chrA": "valid", "chrB": "valid"}, L, signal_bigwigs=[path])["valid"]
    windows = BinWindows(genome, valid["chrom"], valid["bin_start"], L, BIN, batch_size=7, signal_bigwigs=[path],
                         prefetch=prefetch)  # fmt: skip
    x = np.concatenate([b.numpy() for b in windows])
    assert len(windows) == -(-len(valid["labels"]) // 7) and x.shape == (len(valid["labels"]), 5, L)
    np.testing.assert_array_equal(x[:, :4], one_hot(valid["codes"]))
    np.testing.assert_array_equal(x[:, 4], valid["signal"][:, 0].astype(np.float32))
    np.testing.assert_array_equal(windows.codes(3, 9), valid["codes"][3:9])
    with pytest.raises(CisflowError, match=r"windows: .*chrZ"):
        BinWindows(genome, np.array(["chrZ"]), np.array([0]), L, BIN)


@pytest.mark.parametrize("rc", [False, True])
def test_predictions_on_bin_windows_equal_predictions_on_codes(gl, tmp_path, rc):
    import torch

    from cisflow.data import build_datasets
    from cisflow.loader import BinWindows
    from cisflow.models import build_model
    from cisflow.predict import predict, predict_batches

    genome, labels = gl
    path = tmp_path / "sig.bw"
    _write_bigwig(path, genome.sizes, np.random.default_rng(3))
    test = build_datasets(labels, genome, {"chrB": "test"}, L, signal_bigwigs=[path])["test"]
    torch.manual_seed(0)
    model = build_model("sequence_dnn", 2, L, in_channels=5, num_filters=[4], conv_width=[5], pool_width=8)
    want = predict(model, test["codes"], batch_size=16, device="cpu", reverse_complement_average=rc,
                   signal=test["signal"].astype(np.float32))  # fmt: skip
    windows = BinWindows(genome, test["chrom"], test["bin_start"], L, BIN, batch_size=16, signal_bigwigs=[path])
    got = np.concatenate(list(predict_batches(model, windows, device="cpu", reverse_complement_average=rc)))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_gc_matched_negatives_follow_the_positives_gc() -> None:
    """GC-rich positives: GC-matched negatives come from the GC-rich half, uniform ones from both halves."""
    rng = np.random.default_rng(4)
    codes = np.concatenate([rng.choice([1, 2], 2000), rng.choice([0, 3], 2000)]).astype(np.uint8)
    codes[:2000:9] = 0  # GC ~0.89 in the first half, 0 in the second
    nb = (codes.size - BIN) // STRIDE + 1
    mat = np.zeros((nb, 1), np.int8)
    mat[10:170:5] = 1  # 32 positives, all in the GC-rich half
    labels = Labels(["t"], BIN, STRIDE, {"chrA": codes.size}, {"chrA": mat}, {"chrA": np.ones(nb, bool)})
    genome = Genome({"chrA": codes})

    def negative_gc(loader: GenomeBatches, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        plan = loader.epoch_plan(epoch)
        neg = plan["rows"][loader._cand.labels[plan["rows"], 0] == 0]
        return neg, loader._window_gc(neg)

    matched = GenomeBatches(genome, labels, ["chrA"], L, seed=2, gc_match=True)
    uniform = GenomeBatches(genome, labels, ["chrA"], L, seed=2)
    pos_gc = matched._window_gc(matched._cand.pos)
    neg0, gc0 = negative_gc(matched, 0)
    neg1, gc1 = negative_gc(matched, 1)
    assert neg0.size == neg1.size == matched.n_positives == 32
    assert abs(gc0.mean() - pos_gc.mean()) < 0.03 and gc0.min() > 0.75 and gc1.min() > 0.75
    assert set(neg0.tolist()) != set(neg1.tolist())  # fresh each epoch
    again = GenomeBatches(genome, labels, ["chrA"], L, seed=2, gc_match=True)
    assert np.array_equal(again.epoch_plan(1)["rows"], matched.epoch_plan(1)["rows"])  # reproducible
    assert np.mean([negative_gc(uniform, e)[1].mean() for e in range(4)]) < 0.6
    assert matched.describe()["gc_match"] is True and "gc_match" not in uniform.describe()


def _previous_plan(labels: Labels, chroms: list[str], mask: dict, ratio: float, repeats: int, seed: int, epoch: int):
    """Rows and chromosome of an epoch as drawn from an explicit int64 index of the negatives (the loader
    kept one before its candidates became bin + labels only): the draws must not have changed."""
    ci, bi, lab = [], [], []
    for k, c in enumerate(chroms):
        idx = np.flatnonzero(labels.keep[c] & mask[c])
        mat = labels.labels[c][idx]
        use = (mat == 1).any(axis=1) | (mat == 0).all(axis=1)
        ci.append(np.full(int(use.sum()), k)), bi.append(idx[use]), lab.append(mat[use])
    ci, bi, lab = np.concatenate(ci), np.concatenate(bi), np.concatenate(lab)
    pos, neg = np.flatnonzero((lab == 1).any(axis=1)), np.flatnonzero((lab == 0).all(axis=1))
    rng = np.random.default_rng([seed, epoch])
    drawn = rng.choice(neg, size=min(round(ratio * pos.size * repeats), neg.size), replace=False)
    rows = rng.permutation(np.concatenate([np.tile(pos, repeats), drawn]))
    return rows, np.asarray(chroms)[ci[rows]], bi[rows] * STRIDE, lab[rows]


@pytest.mark.parametrize(("ratio", "repeats", "seed"), [(1.0, 1, 0), (3.0, 2, 7), (100.0, 1, 11), (0.3, 1, 2)])
def test_draws_equal_an_explicit_negative_index(ratio, repeats, seed):
    """Candidates without a negative index draw the same rows, bins and labels as with one, per seed and
    epoch, across a chromosome left empty by the mask and chromosomes given out of genome order."""
    genome, labels = _genome_labels(4)
    mask = {
        "chrA": np.ones(labels.labels["chrA"].shape[0], bool),
        "chrB": np.zeros(labels.labels["chrB"].shape[0], bool),
    }
    mask["chrA"][::3] = False
    for chroms, m in ((["chrB", "chrA"], mask), (["chrA", "chrB"], {c: np.ones_like(v) for c, v in mask.items()})):
        loader = GenomeBatches(genome, labels, chroms, L, negative_ratio=ratio, positive_repeats=repeats, seed=seed,
                               bin_mask=m, jitter=3)  # fmt: skip
        for epoch in (0, 1, 5):
            rows, chrom, bin_start, lab = _previous_plan(labels, chroms, m, ratio, repeats, seed, epoch)
            plan = loader.epoch_plan(epoch)
            np.testing.assert_array_equal(plan["rows"], rows)
            np.testing.assert_array_equal(plan["chrom"], chrom)
            np.testing.assert_array_equal(plan["bin_start"], bin_start)
            loader.set_epoch(epoch)
            np.testing.assert_array_equal(np.concatenate([y.numpy() for _, y in loader]), lab)


def test_first_draws_of_a_seed_are_pinned(gl):
    """The first windows of seed 3, epoch 2 (as drawn since the loader's sampling was written)."""
    genome, labels = gl
    plan = GenomeBatches(genome, labels, ["chrA", "chrB"], L, batch_size=16, jitter=7, seed=3).epoch_plan(2)
    assert plan["chrom"][:8].tolist() == ["chrB", "chrA", "chrB", "chrA", "chrA", "chrB", "chrB", "chrB"]
    assert plan["start"][:8].tolist() == [417, 154, 16, 486, 943, 475, 69, 86]


def _dinucleotides(codes: np.ndarray) -> np.ndarray:
    """Counts ``(25,)`` of the ordered base pairs of codes ``(L,)`` (N as a fifth letter)."""
    return np.bincount(codes[:-1].astype(np.int64) * 5 + codes[1:], minlength=25)


def test_shuffled_negatives_are_dinucleotide_shuffles_of_positives(gl, tmp_path):
    genome, labels = gl
    loader = GenomeBatches(genome, labels, ["chrA", "chrB"], L, batch_size=16, jitter=3, seed=2, shuffled_negatives=1)
    plain = GenomeBatches(genome, labels, ["chrA", "chrB"], L, batch_size=16, jitter=3, seed=2)
    plan = loader.epoch_plan(1)
    shuffled = plan["shuffle_seed"] >= 0
    assert shuffled.sum() == loader.n_shuffled == loader.n_positives
    assert loader.n_samples == plain.n_samples + loader.n_positives == plan["rows"].size
    assert set(plan["rows"][shuffled]) == set(plan["rows"][~shuffled & (_label_rows(labels, plan) == 1).any(1)])
    loader.set_epoch(1)
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in loader], strict=True)
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert (y[shuffled] == 0).all()  # labelled unbound in every task
    np.testing.assert_array_equal(y[~shuffled], _label_rows(labels, plan)[~shuffled])
    for i in np.flatnonzero(shuffled):
        want = genome.fetch(str(plan["chrom"][i]), int(plan["start"][i]), int(plan["start"][i]) + L)
        want = reverse_complement_codes(want) if plan["flip"][i] else want
        got = x[i].argmax(0) + 4 * (x[i].sum(0) == 0)  # codes, N = 4
        assert np.array_equal(_dinucleotides(got), _dinucleotides(want)) and got[0] == want[0]
    changed = [not np.array_equal(x[i], _reference(genome, plan, i)) for i in np.flatnonzero(shuffled)]
    assert np.mean(changed) > 0.9
    genomic = np.stack([_reference(genome, plan, i) for i in np.flatnonzero(~shuffled)])
    np.testing.assert_array_equal(x[~shuffled], genomic)
    assert loader.eval_sample(epoch=1)["codes"].shape[0] == plain.eval_sample(epoch=1)["codes"].shape[0]
    assert loader.describe()["shuffled_negatives"] == 1.0 and "shuffled_negatives" not in plain.describe()
    path = tmp_path / "s.bw"
    _write_bigwig(path, {c: genome.sizes[c] for c in ("chrA", "chrB")}, np.random.default_rng(0))
    with pytest.raises(CisflowError, match="shuffled_negatives needs DNA-only inputs"):
        GenomeBatches(genome, labels, ["chrA"], L, signal_bigwigs=[path], shuffled_negatives=0.5)
    with pytest.raises(CisflowError, match="shuffled_negatives must be a non-negative number"):
        GenomeBatches(genome, labels, ["chrA"], L, shuffled_negatives=-1)
