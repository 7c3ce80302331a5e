import numpy as np
import pytest

from cisflow.io import atomic_open, atomic_path, read_text_lines, save_npz, write_json


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out" / "x.npz"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("interrupted")
    assert not target.exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_atomic_writers_round_trip(tmp_path):
    with atomic_open(tmp_path / "a.txt.gz") as handle:
        handle.write("hello\nworld\n")
    assert read_text_lines(tmp_path / "a.txt.gz") == ["hello", "world"]
    write_json(tmp_path / "m.json", {"a": 1})
    assert (tmp_path / "m.json").read_text().strip().startswith("{")
    save_npz(tmp_path / "d.npz", x=np.arange(3))
    np.testing.assert_array_equal(np.load(tmp_path / "d.npz")["x"], np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt.gz", "d.npz", "m.json"]


def test_chunked_npz_equals_a_whole_write_and_leaves_nothing_on_error(tmp_path):
    from cisflow.io import ChunkedNpz

    rng = np.random.default_rng(0)
    probs = rng.random((1003, 3)).astype(np.float32)
    with ChunkedNpz(tmp_path / "p.npz", 1003, {"probs": (np.float32, (3,)), "rows": (np.int64, ())}) as out:
        for lo in range(0, 1003, 100):
            out.write(lo, probs=probs[lo : lo + 100], rows=np.arange(lo, min(lo + 100, 1003)))
        out.close(tasks=np.array(["a", "b", "c"]))
    with np.load(tmp_path / "p.npz") as npz:
        np.testing.assert_array_equal(npz["probs"], probs)
        np.testing.assert_array_equal(npz["rows"], np.arange(1003))
        assert npz["tasks"].tolist() == ["a", "b", "c"]
    with pytest.raises(RuntimeError), ChunkedNpz(tmp_path / "q.npz", 10, {"x": (np.float32, ())}) as out:
        out.write(0, x=np.ones(5))
        raise RuntimeError("stopped")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npz"]
