"""``cisflow reads``: filter reads, pool, pseudo-replicates, signal bigWig, BEDPE → BAM, synthetic test data."""

from __future__ import annotations

import argparse
import logging

from cisflow import reads
from cisflow.cli._config import load_yaml_config

READS = reads.ReadsParams()

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cisflow reads`` and its subcommands."""
    parser = subparsers.add_parser(
        "reads",
        help="filter reads to tagAlign/fragments, pseudo-replicates, bigWig, test data",
        description="Read processing: filter reads to tagAlign/fragments, pool, pseudo-replicates, signal, "
        "BEDPE to BAM, and the synthetic test project.",
    )
    sub = parser.add_subparsers(dest="reads_command", required=True, metavar="SUBCOMMAND")
    _add_filter(sub)
    _add_pool(sub)
    _add_pseudoreps(sub)
    _add_bigwig(sub)
    _add_bedpe_to_bam(sub)
    _add_testdata(sub)


def _add_filter(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "filter",
        help="filter reads (BAM/BED/BEDPE/fragments) into a tagAlign (+ fragments for paired-end)",
        description="Drop unmapped, secondary, supplementary, QC-fail, low-MAPQ and duplicate reads and reads on "
        "dropped chromosomes; write a tagAlign (Tn5-shifted for ATAC) and, for paired-end input, a fragments BED.",
    )
    p.add_argument("reads", help="coordinate-sorted BAM or CRAM (no index needed), BED, BEDPE or fragments file")
    p.add_argument("--genome-sizes", required=True, help="chrom.sizes, .fai or FASTA of the genome")
    p.add_argument("--out", required=True, help="output tagAlign (.gz to compress)")
    p.add_argument("--assay", required=True, choices=["chip", "atac"])
    p.add_argument("--format", choices=list(reads.FORMATS), help="input format (default: from the file name)")
    p.add_argument("--config", metavar="YAML", help="workflow config whose 'reads' section sets the filters")
    p.add_argument("--min-mapq", type=int, help=f"minimum MAPQ (default {READS.min_mapq})")
    p.add_argument("--dedup", choices=list(reads.DEDUP_MODES), help=f"duplicate removal (default {READS.dedup})")
    p.add_argument("--drop-chroms", nargs="*", help=f"chromosomes to drop (default {' '.join(READS.drop_chroms)})")
    p.add_argument(
        "--tn5-shift", action=argparse.BooleanOptionalAction, help="shift ATAC reads (+4/-5; default: shift)"
    )
    p.add_argument("--fragments", help="also write fragments BED (paired-end input)")
    p.add_argument("--stats", help="write the filter statistics as JSON")
    p.add_argument("--reference", metavar="FASTA", help="the FASTA a CRAM was made against (CRAM input)")
    p.set_defaults(func=_run_filter)


def _reads_params(args: argparse.Namespace, flags: dict) -> reads.ReadsParams:
    """The ``reads`` parameters: defaults, then the --config YAML's section, then the ``flags`` given."""
    return reads.ReadsParams.resolve(load_yaml_config(args.config), flags, args.config or "command line")


def _run_filter(args: argparse.Namespace) -> None:
    flags = {"min_mapq": args.min_mapq, "dedup": args.dedup, "drop_chroms": args.drop_chroms}
    opts = _reads_params(args, flags | {"tn5_shift": args.tn5_shift})
    reads.filter_reads(
        args.reads, args.genome_sizes, args.out, fmt=args.format, assay=args.assay, min_mapq=opts.min_mapq,
        dedup=opts.dedup, drop_chroms=opts.drop_chroms, tn5_shift=opts.tn5_shift,
        out_fragments=args.fragments, out_stats=args.stats, reference=args.reference,
    )  # fmt: skip


def _add_pool(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pool", help="concatenate tagAlign/fragment files", description="Pool tagAlign files.")
    p.add_argument("inputs", nargs="+", help="tagAlign or fragment files")
    p.add_argument("--out", required=True, help="pooled output (.gz to compress)")
    p.set_defaults(func=lambda a: reads.pool_reads(a.inputs, a.out))


def _add_pseudoreps(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pseudoreps",
        help="split a tagAlign into two random pseudo-replicates",
        description="Split a tagAlign into two random halves of its fragments (lines sharing a name stay together).",
    )
    p.add_argument("tagalign", help="input tagAlign")
    p.add_argument("--out1", required=True, help="first half")
    p.add_argument("--out2", required=True, help="second half")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=lambda a: reads.pseudo_replicates(a.tagalign, a.out1, a.out2, a.seed))


def _add_bigwig(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bigwig",
        help="binned signal bigWig from a tagAlign (cut sites) or fragments BED",
        description="Count cut sites (tagAlign) or overlapping fragments (fragments BED) per bin; write a bigWig.",
    )
    p.add_argument("input", help="tagAlign or fragments BED")
    p.add_argument("--genome-sizes", required=True, help="chrom.sizes, .fai or FASTA of the genome")
    p.add_argument("--out", required=True, help="output bigWig")
    p.add_argument("--config", metavar="YAML", help="workflow config whose reads.signal_bin_size sets the bin")
    p.add_argument("--bin-size", type=int, help=f"bin size in bp (default {READS.signal_bin_size})")
    p.add_argument("--normalize", choices=["cpm", "none"], default="cpm", help="scaling (default cpm)")
    p.set_defaults(func=_run_bigwig)


def _run_bigwig(args: argparse.Namespace) -> None:
    bin_size = _reads_params(args, {"signal_bin_size": args.bin_size}).signal_bin_size
    reads.signal_bigwig(args.input, args.genome_sizes, args.out, bin_size, args.normalize)


def _add_bedpe_to_bam(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bedpe-to-bam",
        help="make a sorted, indexed paired-end BAM from BEDPE fragments",
        description="Make a coordinate-sorted, indexed paired-end BAM (SEQ *, MAPQ 60) from BEDPE fragments.",
    )
    p.add_argument("bedpe", help="BEDPE fragments (chrom start end)")
    p.add_argument("--genome-sizes", required=True, help="chrom.sizes for the BAM header")
    p.add_argument("--out", required=True, help="output BAM")
    p.add_argument("--read-length", type=int, default=50, help="read length (default 50)")
    p.add_argument("--name-prefix", help="read-name prefix (default: the BEDPE's name)")
    p.set_defaults(func=lambda a: reads.bedpe_to_bam(a.bedpe, a.genome_sizes, a.out, a.read_length, a.name_prefix))


def _add_testdata(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "testdata",
        help="write the small synthetic test project (genome, ChIP/ATAC BAMs, samples.tsv, truth)",
        description="Write a small synthetic genome, ChIP rep1/rep2 + control and ATAC BAMs, samples.tsv and the "
        "true binding sites.",
    )
    p.add_argument("--out-dir", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--absolute-paths", action="store_true", help="absolute paths in samples.tsv")
    p.set_defaults(func=_run_testdata)


def _run_testdata(args: argparse.Namespace) -> None:
    """Write the synthetic test project (:func:`cisflow._testing.make_test_project`, imported on demand)."""
    from cisflow._testing import make_test_project

    make_test_project(args.out_dir, args.seed, absolute_paths=args.absolute_paths)
