"""Per-rule wall time, CPU time and memory of a finished Snakemake run, from its benchmark files.

Every rule writes ``results/benchmarks/<rule>/<wildcards>.tsv`` (Snakemake's ``benchmark:``); this sums them
per rule (the last row of each file: the latest run of that job) and over the run. On a shared machine the
wall time depends on the load; the CPU time (user + system of the job's process tree) is what the run costs,
and the CPU total over the cores estimates the run's wall time on otherwise idle cores. Snakemake samples
the CPU time every 0.5 s for a job's first 15 s and every 30 s after, so the last stretch of a long job (up
to 30 s of wall time) is not counted: the CPU figures are lower bounds (``/usr/bin/time`` around the
whole ``snakemake`` gives the exact total).

    python benchmarks/rule_times.py RUN_DIR [--rules profile_]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

COLUMNS = ["rule", "jobs", "wall_s", "cpu_s", "max_rss_mb"]


def rule_times(run: Path, prefix: str = "") -> pd.DataFrame:
    """One row per rule: ``jobs``, ``wall_s`` and ``cpu_s`` summed over its jobs, ``max_rss_mb`` of its largest.

    Parameters
    ----------
    run
        The run's working directory (it holds ``results/benchmarks``).
    prefix
        Only rules whose name starts with it.
    """
    rows = []
    for tsv in sorted((Path(run) / "results" / "benchmarks").rglob("*.tsv")):
        rule = tsv.relative_to(Path(run) / "results" / "benchmarks").parts[0]
        if not rule.startswith(prefix):
            continue
        last = pd.to_numeric(pd.read_csv(tsv, sep="\t").iloc[-1], errors="coerce").fillna(0.0)  # "NA" when unmeasured
        rows.append({"rule": rule, "jobs": 1, "wall_s": last["s"], "cpu_s": last["cpu_time"],
                     "max_rss_mb": last["max_rss"]})  # fmt: skip
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.DataFrame(rows).groupby("rule", sort=False)
    return table.agg(jobs=("jobs", "sum"), wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"),
                     max_rss_mb=("max_rss_mb", "max")).reset_index()  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the run's working directory")
    parser.add_argument("--rules", default="", help="only rules starting with this (e.g. profile_)")
    parser.add_argument("--cores", type=int, default=2, help="cores for the idle-machine estimate (default 2)")
    args = parser.parse_args(argv)
    table = rule_times(args.run, args.rules)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    wall, cpu = table["wall_s"].sum(), table["cpu_s"].sum()
    print(f"# {int(table['jobs'].sum())} jobs: wall {wall:.0f} s summed over jobs, CPU {cpu:.0f} s "
          f"({cpu / 60:.1f} min; / {args.cores} cores = {cpu / 60 / args.cores:.1f} min)")  # fmt: skip


if __name__ == "__main__":
    main()
