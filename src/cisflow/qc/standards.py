"""ENCODE's published QC thresholds, and the ideal / acceptable / concerning flag of each metric.

Each :class:`Standard` says where a metric turns ideal and where it stops being acceptable, for
one assay, and which ENCODE statement the numbers come from (``docs/qc.md`` quotes them). A metric
with no ENCODE threshold is reported unflagged (``n/a``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cisflow.errors import CisflowError

FLAGS = ("ideal", "acceptable", "concerning", "n/a")

ATAC_STANDARDS = "ENCODE ATAC-seq data standards (encodeproject.org/atac-seq)"
TF_CHIP_STANDARDS = "ENCODE TF ChIP-seq data standards (encodeproject.org/chip-seq/transcription_factor)"
LIBRARY_COMPLEXITY = (
    "ENCODE library complexity classes (PBC1: <0.5 severe, 0.5-0.8 moderate, 0.8-0.9 mild bottlenecking)"
)
ATAC_PIPELINE = "ENCODE ATAC-seq pipeline fragment-length checks (encode_lib_frag_len.py)"
LANDT_2012 = "Landt et al. 2012, ENCODE ChIP-seq guidelines (Genome Res 22:1813)"


@dataclass(frozen=True)
class Standard:
    """Thresholds of one metric: ``ideal`` at or beyond ``ideal``, ``acceptable`` at or beyond ``acceptable``.

    ``higher_is_better`` False flips the comparisons; ``acceptable == ideal`` means a single
    pass / fail threshold (ideal or concerning).
    """

    ideal: float
    acceptable: float
    source: str
    higher_is_better: bool = True

    def flag(self, value: float | None) -> str:
        """``ideal``, ``acceptable``, ``concerning``, or ``n/a`` for a missing / NaN value."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        sign = 1.0 if self.higher_is_better else -1.0
        if sign * value >= sign * self.ideal:
            return "ideal"
        return "acceptable" if sign * value >= sign * self.acceptable else "concerning"


# TSS enrichment thresholds by annotation (ENCODE ATAC-seq standards: concerning below the first
# number, acceptable up to the second, ideal above it)
TSS_THRESHOLDS = {"GRCh38": (5.0, 7.0), "hg19": (6.0, 10.0), "mm10": (10.0, 15.0)}


def standards(assay: str, tss_annotation: str = "GRCh38") -> dict[str, Standard]:
    """The thresholds that apply to ``assay`` (``chip`` or ``atac``); TSS thresholds of ``tss_annotation``."""
    if assay not in ("chip", "atac"):
        raise CisflowError(f"unknown assay {assay!r} (expected chip or atac)")
    if tss_annotation not in TSS_THRESHOLDS:
        raise CisflowError(
            f"no ENCODE TSS-enrichment standard for {tss_annotation!r}; use one of {list(TSS_THRESHOLDS)}"
        )
    standard = ATAC_STANDARDS if assay == "atac" else TF_CHIP_STANDARDS
    common = {
        "nrf": Standard(0.9, 0.8, f"{standard}: NRF > 0.9; ENCODE pipelines: NRF should be > 0.8"),
        "pbc1": Standard(0.9, 0.8, LIBRARY_COMPLEXITY),
        "reproducibility": Standard(2.0, 1.0, "ENCODE IDR: pass (2) / borderline (1) / fail (0)"),
    }
    if assay == "atac":
        low, high = TSS_THRESHOLDS[tss_annotation]
        return common | {
            "pbc2": Standard(3.0, 1.0, f"{ATAC_STANDARDS}: PBC2 > 3; <1 severe bottlenecking"),
            "frip": Standard(0.3, 0.2, f"{ATAC_STANDARDS}: FRiP > 0.3, > 0.2 acceptable"),
            "tss_enrichment": Standard(high, low, f"{ATAC_STANDARDS}: TSS enrichment ({tss_annotation})"),
            "nfr_fraction": Standard(0.4, 0.4, f"{ATAC_PIPELINE}: NFR fraction ≥ 0.4"),
            "nfr_mono_ratio": Standard(2.5, 2.5, f"{ATAC_PIPELINE}: NFR / mono-nucleosome ≥ 2.5"),
            "usable_fragments": Standard(25e6, 25e6, f"{ATAC_STANDARDS}: ≥ 25 M non-duplicate non-mito fragments"),
        }
    return common | {
        "pbc2": Standard(10.0, 3.0, f"{TF_CHIP_STANDARDS}: PBC2 > 10; 3-10 mild bottlenecking"),
        "frip": Standard(0.01, 0.01, f"{LANDT_2012}: FRiP ≥ 1 %"),
        "nsc": Standard(1.1, 1.05, f"{LANDT_2012}: NSC ≥ 1.05 (values below 1.1 weak)"),
        "rsc": Standard(1.0, 0.8, f"{LANDT_2012}: RSC ≥ 0.8; phantompeakqualtools quality tag ≥ 1 at RSC ≥ 1"),
        "usable_fragments": Standard(20e6, 10e6, f"{TF_CHIP_STANDARDS}: 20 M usable fragments, 10-20 M low depth"),
    }


def reproducibility_score(flag: str) -> float:
    """2 for ``pass``, 1 for ``borderline``, 0 for ``fail``, NaN otherwise (so it can be flagged)."""
    return {"pass": 2.0, "borderline": 1.0, "fail": 0.0}.get(flag, math.nan)


def flag_metrics(values: dict[str, object], assay: str, tss_annotation: str = "GRCh38") -> dict[str, str]:
    """``{metric}_flag`` for every metric of ``values`` with a standard for ``assay`` (``frip_*`` share FRiP's)."""
    table = standards(assay, tss_annotation)
    out = {}
    for name, value in values.items():
        standard = table.get("frip" if name.startswith("frip_") else name)
        if standard is None:
            continue
        if name == "reproducibility":
            value = reproducibility_score(str(value))
        out[f"{name}_flag"] = standard.flag(None if value is None else float(value))
    return out
