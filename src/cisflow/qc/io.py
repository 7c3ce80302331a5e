"""QC files: the per-sample ``qc.tsv``, MultiQC custom-content files, and reading the read-stage QC.

MultiQC (``multiqc results/``) picks up files whose names end in ``_mqc.tsv``, ``_mqc.json`` and
``_mqc.png`` ("custom content"): here a general-statistics table (key metrics and every FRiP), the
full QC table, line graphs (fragment lengths, TSS profile, strand cross-correlation) and the
images that have no line-graph form (reads at each filter step, IDR scatter plots).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cisflow.errors import CisflowError, require_file
from cisflow.io import atomic_open, write_json

GENERAL_STATS = ("nrf", "pbc1", "pbc2", "mito_fraction", "nfr_fraction", "tss_enrichment", "nsc", "rsc")


def read_stats_qc(path: str | Path) -> dict[str, Any]:
    """The ``qc`` section of a read-stage statistics JSON (``results/reads/{sample}.stats.json``)."""
    path = require_file(path, "read statistics JSON")
    try:
        stats = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CisflowError(f"not valid JSON ({exc})", path) from exc
    if "qc" not in stats:
        raise CisflowError("no 'qc' section (made by an older cisflow? rerun the read filter)", path)
    return stats


def _cell(value: Any) -> str:
    """A TSV cell: floats with 6 significant digits, ``inf`` / ``nan`` spelled out."""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return "inf" if math.isinf(value) else f"{value:.6g}"
    return "" if value is None else str(value)


def write_table(rows: Sequence[Mapping[str, Any]], path: str | Path, header: Sequence[str] = ()) -> None:
    """Write rows as TSV (columns in first-seen order), with optional ``# …`` header lines, atomically."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with atomic_open(path) as handle:
        for line in header:
            handle.write(f"# {line}\n")
        handle.write("\t".join(columns) + "\n")
        for row in rows:
            handle.write("\t".join(_cell(row.get(c)) for c in columns) + "\n")


def read_qc_table(path: str | Path) -> pd.DataFrame:
    """Read ``qc.tsv`` (one row per sample) as a DataFrame indexed by sample."""
    return pd.read_csv(require_file(path, "QC table"), sep="\t", comment="#").set_index("sample")


def _general_stat(column: str) -> bool:
    """A key metric for MultiQC's General Statistics (numbers only: flags stay in the full table)."""
    return column in GENERAL_STATS or (column.startswith("frip_") and not column.endswith("_flag"))


def write_multiqc_tables(rows: Sequence[Mapping[str, Any]], general: str | Path, full: str | Path) -> None:
    """MultiQC custom content: the key metrics (numeric) for General Statistics in ``general``, every column
    (flags too) as the 'cisflow QC' table in ``full``; both names must end in ``_mqc.tsv`` for MultiQC."""
    key = [{"Sample": r["sample"], **{k: v for k, v in r.items() if _general_stat(k)}} for r in rows]
    everything = [{"Sample": r["sample"], **{k: v for k, v in r.items() if k != "sample"}} for r in rows]
    write_table(key, general, ["id: 'cisflow_general'", "plot_type: 'generalstats'"])
    description = "ENCODE QC metrics and their flags (ideal / acceptable / concerning); see docs/qc.md"
    header = ["id: 'cisflow_qc'", "section_name: 'cisflow QC'", f"description: '{description}'", "plot_type: 'table'"]
    write_table(everything, full, header)


def write_multiqc_linegraph(
    data: Mapping[str, Mapping[float, float]], path: str | Path, section: str, xlab: str, ylab: str
) -> None:
    """A MultiQC custom-content line graph (``*_mqc.json``): ``{sample: {x: y}}``."""
    plot_id = Path(path).name.removesuffix("_mqc.json")
    payload = {
        "id": plot_id,
        "section_name": section,
        "plot_type": "linegraph",
        "pconfig": {"id": f"{plot_id}_plot", "title": section, "xlab": xlab, "ylab": ylab},
        "data": {s: {str(x): y for x, y in series.items()} for s, series in data.items()},
    }
    write_json(path, payload)
