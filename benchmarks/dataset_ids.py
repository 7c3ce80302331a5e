"""Memory of a coordinate test set's ids: building them (``bin_ids``) and reading the dataset back.

Bins of chr1, chr8 and chr21 (one per 50 bp, 200 bp wide), ``--bins`` of them (default 2 M; the DREAM test
chromosomes of hg38 have 8.8 M). Peak traced memory (``tracemalloc``) and CPU time of each step.

Usage: ``python benchmarks/dataset_ids.py [--bins 2000000]``
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, default=2_000_000)
    n = parser.parse_args(argv).bins
    sys.path.insert(0, str(ROOT / "src"))
    from cisflow.artifacts import DATASET, read, write
    from cisflow.data.sampling import bin_ids

    chrom = np.repeat(np.array(["chr1", "chr8", "chr21"]), [n // 2, n // 4, n - n // 2 - n // 4])
    bin_start = (np.arange(n) % 1_000_000) * 50
    tracemalloc.start()
    t = time.process_time()
    ids = bin_ids(chrom, bin_start, 200)
    built, peak = time.process_time() - t, tracemalloc.get_traced_memory()[1]
    print(f"bin_ids, {n:,} bins: peak {peak / 2**20:,.0f} MB, {built:.1f} CPU s (result {ids.nbytes / 2**20:,.0f} MB)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "test.npz"
        write(path, DATASET, {"labels": np.zeros((n, 2), np.int8), "tasks": np.array(["a", "b"]), "ids": ids,
                              "chrom": chrom, "start": bin_start - 400, "bin_start": bin_start, "bin_size": 200,
                              "stride": 50, "input_length": 1000})  # fmt: skip
        del ids
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        data = read(path, DATASET)
        held, peak = tracemalloc.get_traced_memory()
    print(f"read the test set: held {(held - before) / 2**20:,.0f} MB, peak {(peak - before) / 2**20:,.0f} MB "
          f"({len(data['labels']):,} rows)")  # fmt: skip


if __name__ == "__main__":
    main()
