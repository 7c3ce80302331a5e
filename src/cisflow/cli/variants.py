"""``cisflow variants``: effects of the alleles of a VCF (or variant-scorer TSV) under a trained model."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``variants`` subcommand."""
    parser = subparsers.add_parser(
        "variants",
        help="variant effects from a VCF with a trained model",
        description="Score every allele of a VCF / VCF.gz / BCF (or variant-scorer chrombpnet TSV) with a saved "
        "model: OUT (one row per allele x task), beside it <name>.annotated.vcf.gz (INFO fields), "
        "<name>.ref_mismatches.tsv, <name>.top.tsv, <name>.explanations.npz, <name>_plots/ (effects and ref/alt "
        "logos of the top variants) and <name>.summary.json. See docs/variants.md.",
    )
    parser.add_argument("--model", required=True, metavar="PATH", help="model directory or its model.json")
    parser.add_argument("--genome", required=True, metavar="FASTA", help="genome FASTA (or code cache .npy)")
    parser.add_argument("--vcf", required=True, metavar="FILE", help="VCF / VCF.gz / BCF, or a chrombpnet TSV")
    parser.add_argument("--out", required=True, metavar="TSV", help="scores TSV; the other outputs go beside it")
    parser.add_argument("--format", choices=("vcf", "tsv"), default=None, help="input format (default: from the file)")
    parser.add_argument("--max-indel-length", type=int, default=50, help="longest indel scored, bp (default: 50)")
    parser.add_argument(
        "--forward-only", action="store_true", help="do not average with the reverse complement (default: average)"
    )
    parser.add_argument("--batch-size", type=int, default=128, help="windows per forward pass (default: 128)")
    parser.add_argument(
        "--head", choices=("full", "corrected", "bias"), default=None, help="profile models: the head scored"
    )
    parser.add_argument("--peaks", metavar="NARROWPEAK", help="profile models: peaks for the active-allele quantile")
    parser.add_argument("--max-peaks", type=int, default=2000, help="peak windows predicted at most (default: 2000)")
    parser.add_argument("--null", choices=("shuffled", "random"), default=None, help="null for empirical p-values")
    parser.add_argument("--null-size", type=int, default=1000, help="null variants (default: 1000)")
    parser.add_argument("--hits", metavar="TSV", help="the motif stage's hits TSV (hits each variant falls in)")
    parser.add_argument("--top", type=int, default=10, help="top variants explained with logos (default: 10)")
    parser.add_argument("--flank", type=int, default=30, help="bases each side of the variant explained (default: 30)")
    parser.add_argument("--deepshap-references", type=int, default=20, help="DeepSHAP references (default: 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the null, peak sample and references (default: 0)")
    parser.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: cuda if available)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Call :func:`cisflow.variants.score_variants` with the parsed arguments."""
    from cisflow.variants import score_variants, variant_outputs

    score_variants(
        args.model,
        args.genome,
        args.vcf,
        variant_outputs(args.out),
        fmt=args.format,
        max_indel_length=args.max_indel_length,
        reverse_complement=not args.forward_only,
        batch_size=args.batch_size,
        head=args.head,
        peaks=args.peaks,
        max_peaks=args.max_peaks,
        null=args.null,
        null_size=args.null_size,
        hits=args.hits,
        top=args.top,
        flank=args.flank,
        deepshap_references=args.deepshap_references,
        seed=args.seed,
        device=args.device,
    )
