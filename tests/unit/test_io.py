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


def test_file_digest_streams_the_bytes(tmp_path):
    import hashlib

    from cisflow.io import file_digest

    data = np.random.default_rng(0).integers(0, 256, 3 * 1000 + 7, dtype=np.uint8).tobytes()
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    want = hashlib.blake2b(data, digest_size=16).hexdigest()
    assert file_digest(path, chunk=1000) == file_digest(path) == want
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert file_digest(path) != want


def test_array_digest_is_the_content_not_the_storage(tmp_path):
    from cisflow.io import array_digest, save_npz

    rng = np.random.default_rng(0)
    arrays = {"codes": rng.integers(0, 4, (5, 8)).astype(np.uint8), "tasks": np.array(["A", "BB"])}
    save_npz(tmp_path / "a.npz", **arrays)
    np.savez(tmp_path / "b.npz", tasks=arrays["tasks"], codes=np.asfortranarray(arrays["codes"]))
    loaded = [dict(np.load(tmp_path / f"{n}.npz")) for n in "ab"]
    assert array_digest(arrays) == array_digest(loaded[0]) == array_digest(loaded[1])
    changed = {**arrays, "codes": arrays["codes"].copy()}
    changed["codes"][2, 3] = (changed["codes"][2, 3] + 1) % 4
    assert array_digest(changed) != array_digest(arrays)
    assert array_digest({**arrays, "codes": arrays["codes"].astype(np.int8)}) != array_digest(arrays)
    assert array_digest({**arrays, "codes": arrays["codes"].reshape(8, 5)}) != array_digest(arrays)
