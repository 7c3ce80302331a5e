"""Memory of a genome-wide test set's row names, from the dataset to the matched predictions.

Bins of chr1, chr8 and chr21 (one per 50 bp, 200 bp wide, two tasks), ``--bins`` of them (default 2 M; the
DREAM test chromosomes of hg38 have 8.8 M), through the steps that carry the rows' names: the test set as
the ``datasets`` rule writes it, ``read_dataset`` (as ``evaluate`` and ``baselines`` read it), the predictions
npz ``evaluate`` writes, and ``load_predictions`` matching it back to the test set (as the DREAM comparison and
the submissions do). Peak traced memory (``tracemalloc``, numpy's arrays included) above what the step
started with, what it leaves held, CPU time, and the files' sizes.

With ``--src DIR`` it runs another checkout's ``src`` (e.g. an older cisflow that stored every bin's id,
``chrom:start-end``, as a string: the "before" of ``docs/scale.md``).

Usage: ``python benchmarks/dataset_ids.py [--bins 2000000] [--src DIR]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_rows(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``chrom`` and ``bin_start`` ``(n,)`` of ``n`` bins split 1/2, 1/4, 1/4 over chr1, chr8 and chr21."""
    counts = [n // 2, n // 4, n - n // 2 - n // 4]
    chrom = np.repeat(np.array(["chr1", "chr8", "chr21"]), counts)
    bin_start = np.concatenate([np.arange(c, dtype=np.int64) * 50 for c in counts])
    return chrom, bin_start


def _measure(step):
    """``(result, peak MB above the start, held MB after, CPU s)`` of ``step()``."""
    tracemalloc.reset_peak()
    before, t = tracemalloc.get_traced_memory()[0], time.process_time()
    result = step()
    cpu = time.process_time() - t
    held, peak = tracemalloc.get_traced_memory()
    return result, (peak - before) / 2**20, (held - before) / 2**20, cpu


def run(n: int, tmp: Path) -> list[tuple[str, float, float, float, str]]:
    """Each step's ``(name, peak MB, held MB, CPU s, note)``."""
    from cisflow import artifacts

    stores_ids = not hasattr(artifacts, "row_keys")  # a cisflow before dataset format version 2
    chrom, bin_start = test_rows(n)
    geometry = {"bin_size": 200, "stride": 50, "input_length": 1000}
    labels = np.zeros((n, 2), np.int8)
    labels[::100] = 1
    rows = []

    def build() -> dict:
        data = {"labels": labels, "tasks": np.array(["a", "b"]), "chrom": chrom, "start": bin_start - 400,
                "bin_start": bin_start, "seed": 0, **geometry}  # fmt: skip
        if stores_ids:
            from cisflow.data.sampling import bin_ids

            data["ids"] = bin_ids(chrom, bin_start, 200)
        artifacts.write_datasets({"test": data}, {"test": tmp / "test.npz"})
        return data

    data, peak, held, cpu = _measure(build)
    rows.append(("write the test set", peak, held, cpu, f"{(tmp / 'test.npz').stat().st_size / 2**20:.1f} MB file"))
    del data
    test, peak, held, cpu = _measure(lambda: artifacts.read_dataset(tmp / "test.npz", "test dataset"))
    rows.append(("read_dataset", peak, held, cpu, f"{len(test)} arrays"))
    probs = np.random.default_rng(0).random((n, 2)).astype(np.float32)
    names = test["ids"] if stores_ids else artifacts.row_keys(test)

    def predictions() -> None:
        artifacts.write_predictions(tmp / "pred.npz", names, test["labels"], probs, ["a", "b"], geometry)

    _, peak, held, cpu = _measure(predictions)
    rows.append(("write_predictions", peak, held, cpu, f"{(tmp / 'pred.npz').stat().st_size / 2**20:.1f} MB file"))
    (matched, _), peak, held, cpu = _measure(lambda: artifacts.load_predictions(tmp / "pred.npz", test))
    ok = np.array_equal(matched, probs.astype(np.float64))
    rows.append(("load_predictions (match rows)", peak, held, cpu, "rows match" if ok else "ROWS DIFFER"))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, default=2_000_000)
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the cisflow src/ to measure")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.src.resolve()))
    tracemalloc.start()
    with tempfile.TemporaryDirectory() as tmp:
        rows = run(args.bins, Path(tmp))
    print(f"# {args.bins:,} test bins (chr1, chr8, chr21), cisflow from {args.src}")
    print("step\tpeak_mb\theld_mb\tcpu_s\tnote")
    for name, peak, held, cpu, note in rows:
        print(f"{name}\t{peak:.0f}\t{held:.0f}\t{cpu:.1f}\t{note}")


if __name__ == "__main__":
    main()
