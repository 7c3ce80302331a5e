"""Variant effects: score the alleles of a VCF (or variant-scorer TSV) with any model cisflow trained.

- :mod:`~cisflow.variants.alleles`: one REF → ALT change per row, and why one is not scored;
- :mod:`~cisflow.variants.io`: VCF / VCF.gz / BCF and ``chrombpnet`` TSV readers (checked as they stream),
  the streaming writers, motif hits;
- :mod:`~cisflow.variants.windows`: reference / alternate windows with the variant centred;
- :mod:`~cisflow.variants.scorers`: the score of each model family (bin classifiers, profile models);
- :mod:`~cisflow.variants.null`: shuffled-context and matched-random nulls, empirical p-values;
- :mod:`~cisflow.variants.explain`, :mod:`~cisflow.variants.plots`: ISM / DeepSHAP of the top variants, logos;
- :mod:`~cisflow.variants.designs`: variant sets with a known answer (motif cores vs random positions);
- :mod:`~cisflow.variants.pipeline`: the stage entry :func:`score_variants`.
"""

from cisflow.variants.alleles import Allele, classify
from cisflow.variants.io import MotifHits, open_variants
from cisflow.variants.null import empirical_pvalues
from cisflow.variants.pipeline import OUTPUTS, score_variants, split_record, variant_outputs
from cisflow.variants.scorers import SCORERS, ClassifierScorer, ProfileScorer, VariantScorer, load_scorer

__all__ = [
    "OUTPUTS",
    "SCORERS",
    "Allele",
    "ClassifierScorer",
    "MotifHits",
    "ProfileScorer",
    "VariantScorer",
    "classify",
    "empirical_pvalues",
    "load_scorer",
    "open_variants",
    "score_variants",
    "split_record",
    "variant_outputs",
]
