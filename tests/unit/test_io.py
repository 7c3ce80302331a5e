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
