"""Peak memory of a job that needs sequence for every bin, by how it opens the genome.

Builds the synthetic genome of ``benchmarks/scale.py`` (hg38's chromosome sizes times ``--fraction``, plain
gzip), its bgzip copy with ``.fai`` / ``.gzi`` (:func:`cisflow.genome.prepare_fasta`) and its memory-mapped
code cache (:func:`cisflow.genome.write_code_cache`), as the workflow's ``genome_fasta`` and ``genome_codes``
rules do. Then, each in a fresh process, the profile track's background scan (GC and N of every tiled
2,370 bp window of every chromosome, :func:`cisflow.profile.regions.background_candidates`) over the genome
opened three ways: loaded whole from the FASTA (``Genome.from_fasta``, what the profile rules did), the
indexed FASTA (``Genome.open``, read per chromosome through pysam) and the code cache (``Genome.open``,
memory-mapped one chromosome at a time). Prints ``store  peak_rss_mb  cpu_s  candidates`` per way.

With ``--src DIR`` the scans run another checkout's ``src`` (the "before" of ``docs/scale.md``).

Usage: ``python benchmarks/genome_access.py [--fraction 0.1] [--out DIR] [--src DIR]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: One measurement, run in a fresh process: open the genome, scan it, report resources.
_SCAN = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import pandas as pd
from cisflow.genome import Genome
from cisflow.profile.regions import background_candidates
t = time.process_time()
genome = Genome.from_fasta(sys.argv[3]) if sys.argv[2] == "whole" else Genome.open(sys.argv[3])
cands = background_candidates(genome, pd.DataFrame(columns=["chrom", "start", "end"]), 2114 + 2 * 128, 1000)
print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "cpu_s": time.process_time() - t, "n": len(cands), "gc": float(cands["gc"].sum())}))
"""


def build(out: Path, fraction: float, seed: int = 0) -> dict[str, Path]:
    """The genome (plain gzip), its indexed bgzip copy and its code cache under ``out`` (reused when present)."""
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from scale import place_sites, scaled_sizes, write_genome

    from cisflow.genome import prepare_fasta, write_code_cache

    out.mkdir(parents=True, exist_ok=True)
    paths = {"whole": out / "genome.fa.gz", "indexed": out / "indexed.fa.gz", "codes": out / "codes.npy"}
    if not paths["codes"].is_file():
        sizes = scaled_sizes(fraction)
        write_genome(paths["whole"], sizes, place_sites(sizes, 5, seed), seed)
        prepare_fasta(paths["whole"], paths["indexed"])
        write_code_cache(paths["indexed"], paths["codes"])
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=0.1, help="hg38 chromosome sizes times this")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "genome_access")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the cisflow src/ to measure")
    args = parser.parse_args(argv)
    paths = build(args.out.resolve(), args.fraction)
    size = sum(int(line.split("\t")[1]) for line in Path(f"{paths['indexed']}.fai").read_text().splitlines())
    print(f"# genome {size / 1e6:,.0f} Mb (fraction {args.fraction}), cisflow from {args.src}")
    print("store\tpeak_rss_mb\tcpu_s\tcandidates\tgc_sum")
    for store, path in paths.items():
        cmd = [sys.executable, "-c", _SCAN, str(args.src.resolve()), store, str(path)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{store}\t{r['rss_mb']:.0f}\t{r['cpu_s']:.1f}\t{r['n']}\t{r['gc']:.3f}")


if __name__ == "__main__":
    main()
