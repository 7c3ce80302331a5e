"""benchmarks/rule_times.py: per-rule sums of Snakemake benchmark files (known totals, the latest row, NA)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _rule_times():
    spec = importlib.util.spec_from_file_location("bench_rule_times", REPO / "benchmarks" / "rule_times.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bench(path: Path, *rows: tuple[float, str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{s}\t0:00:00\t{rss}\t0\t0\t0\t0\t0\t0\t{cpu}\n" for s, rss, cpu in rows]
    path.write_text(HEADER + "".join(lines))


def test_rule_times_sums_jobs_keeps_latest_row_and_reads_na_as_zero(tmp_path, capsys):
    bench = tmp_path / "results" / "benchmarks"
    _bench(bench / "train" / "a.tsv", (100.0, "500", "150.5"))
    _bench(bench / "train" / "b.tsv", (999.0, "9", "999"), (20.0, "700", "30"))  # a rerun: the last row counts
    _bench(bench / "motifs" / "a.tsv", (5.0, "NA", "NA"))  # a job too short to be sampled
    module = _rule_times()
    table = module.rule_times(tmp_path).set_index("rule")
    assert table.loc["train"].tolist() == [2, 120.0, 180.5, 700.0]
    assert table.loc["motifs"].tolist() == [1, 5.0, 0.0, 0.0]
    assert module.rule_times(tmp_path, "mot").index.size == 1
    assert module.rule_times(tmp_path / "none").empty
    module.main([str(tmp_path)])
    assert "3 jobs: wall 125 s summed over jobs, CPU 180 s (3.0 min; / 2 cores = 1.5 min)" in capsys.readouterr().out
