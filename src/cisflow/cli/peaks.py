"""``cisflow peaks``: call peaks with MACS3, IDR, naive overlap, and recall against a reference."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``peaks`` and its actions (call, idr, overlap, recall) to the ``cisflow`` command."""
    parser = subparsers.add_parser(
        "peaks",
        help="call and combine peaks (MACS3, IDR, naive overlap)",
        description="Peak calling (MACS3) and reproducible peak sets (IDR, ENCODE naive overlap).",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    _register_call(actions)
    _register_idr(actions)
    _register_overlap(actions)
    _register_recall(actions)


def _register_call(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser(
        "call",
        help="run MACS3 callpeak and write a capped narrowPeak",
        description="Run MACS3 callpeak (ENCODE settings) and write the top --max-peaks peaks by p-value.",
    )
    p.add_argument("--treatment", "-t", required=True, help="reads: tagAlign/BED cut sites, BEDPE fragments or BAM")
    p.add_argument("--control", "-c", help="control reads (ChIP-seq input)")
    p.add_argument("--out", "-o", required=True, help="output narrowPeak (.gz for gzip)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--genome", help="genome FASTA (sizes and effective genome size from non-N bases)")
    where.add_argument("--chrom-sizes", help="two-column chromosome sizes file")
    p.add_argument("--format", "-f", default="BED", help="MACS3 format: BED, BEDPE, BAM, BAMPE (default BED)")
    p.add_argument("--assay", choices=["atac", "chip"], default="atac", help="assay (default atac)")
    p.add_argument("--config", metavar="YAML", help="workflow config whose 'peaks' section sets the defaults")
    p.add_argument("--gsize", help="MACS3 -g (default: from the genome)")
    p.add_argument("--pvalue", type=float, help="MACS3 -p threshold (default 0.01)")
    p.add_argument("--shift", type=int, help="MACS3 --shift (ATAC default -extsize/2)")
    p.add_argument("--extsize", type=int, help="MACS3 --extsize (ATAC default 150; ChIP fallback 200)")
    p.add_argument("--max-peaks", type=int, help="keep the top N peaks by p-value (default 300000)")
    p.add_argument("--call-summits", action=argparse.BooleanOptionalAction, help="MACS3 --call-summits (default no)")
    p.add_argument("--work-dir", help="MACS3 output folder (default <out dir>/<name>_macs3)")
    p.add_argument("--fe-bigwig", help="also write the fold-enrichment bigWig here")
    p.set_defaults(func=_run_call)


def _run_call(args: argparse.Namespace) -> None:
    from cisflow.cli._config import load_yaml_config
    from cisflow.genome import Genome, read_chrom_sizes
    from cisflow.macs3 import call_peaks
    from cisflow.peaksets import PeaksParams

    genome = Genome.from_fasta(args.genome) if args.genome else read_chrom_sizes(args.chrom_sizes)
    gsize = None if args.gsize is None else (int(args.gsize) if args.gsize.isdigit() else args.gsize)
    flags = {"pvalue": args.pvalue, "max_peaks": args.max_peaks, "call_summits": args.call_summits,
             "genome_size": gsize}  # fmt: skip
    opts = PeaksParams.resolve(load_yaml_config(args.config), flags, args.config or "command line")
    call_peaks(
        args.treatment, args.out, genome, control=args.control, fmt=args.format, assay=args.assay,
        gsize=opts.genome_size, pvalue=opts.pvalue, shift=args.shift, extsize=args.extsize, max_peaks=opts.max_peaks,
        call_summits=opts.call_summits, work_dir=args.work_dir, fe_bigwig=args.fe_bigwig,
    )  # fmt: skip


def _register_idr(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser(
        "idr",
        help="peaks reproducible between two replicates by IDR",
        description="IDR (Li et al. 2011, as ENCODE's idr tool) of two replicate narrowPeak files; writes the peaks "
        "at global IDR <= --threshold as narrowPeak (oracle coordinates when --oracle is given).",
    )
    p.add_argument("--rep1", required=True, help="replicate 1 narrowPeak")
    p.add_argument("--rep2", required=True, help="replicate 2 narrowPeak")
    p.add_argument("--oracle", help="pooled peaks whose coordinates are reported")
    p.add_argument("--rank", choices=["pvalue", "signal"], default="pvalue", help="column to rank by (default pvalue)")
    p.add_argument("--threshold", type=float, default=0.05, help="global IDR threshold (default 0.05)")
    p.add_argument("--seed", type=int, default=0, help="seed for breaking rank ties (default 0)")
    p.add_argument("--out", "-o", required=True, help="output narrowPeak")
    p.add_argument("--table", help="also write every matched peak with local/global IDR as TSV here")
    p.set_defaults(func=_run_idr)


def _run_idr(args: argparse.Namespace) -> None:
    from cisflow.idr import idr_to_files

    idr_to_files(args.rep1, args.rep2, args.out, oracle=args.oracle, rank=args.rank, threshold=args.threshold,
                 seed=args.seed, table=args.table)  # fmt: skip


def _register_overlap(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser(
        "overlap",
        help="pooled peaks supported by two replicates (ENCODE naive overlap)",
        description="Keep pooled peaks overlapping a peak of each replicate by >= --min-fraction of either peak.",
    )
    p.add_argument("--pooled", required=True, help="pooled narrowPeak")
    p.add_argument("--rep1", required=True, help="replicate (or pseudo-replicate) 1 narrowPeak")
    p.add_argument("--rep2", required=True, help="replicate (or pseudo-replicate) 2 narrowPeak")
    p.add_argument("--min-fraction", type=float, default=0.5, help="overlap fraction of either peak (0.5)")
    p.add_argument("--out", "-o", required=True, help="output narrowPeak")
    p.set_defaults(func=_run_overlap)


def _run_overlap(args: argparse.Namespace) -> None:
    from cisflow.peaks import naive_overlap_to_file

    naive_overlap_to_file(args.pooled, args.rep1, args.rep2, args.out, min_fraction=args.min_fraction)


def _register_recall(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser(
        "recall",
        help="overlap of a peak set with reference regions",
        description="Print (as JSON) the fraction of reference regions hit by a peak and of peaks hitting one.",
    )
    p.add_argument("--peaks", required=True, help="narrowPeak to assess")
    p.add_argument("--reference", required=True, help="reference regions (narrowPeak)")
    p.add_argument("--out", "-o", help="also write the JSON here")
    p.set_defaults(func=_run_recall)


def _run_recall(args: argparse.Namespace) -> None:
    from cisflow.peaks import reference_overlap_report

    result = reference_overlap_report(args.peaks, args.reference, args.out)
    sys.stdout.write(json.dumps(result) + "\n")
