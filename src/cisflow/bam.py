"""Writing BAMs: coordinate-sorted, indexed alignment records (SEQ ``*``, no qualities).

Used by :func:`cisflow.reads.bedpe_to_bam` (BEDPE fragments to a paired-end BAM) and by the synthetic
test data of :mod:`cisflow._testing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pysam

from cisflow.io import atomic_path


def _bam_header(genome_sizes: Mapping[str, int], program: str = "cisflow") -> pysam.AlignmentHeader:
    """A coordinate-sorted BAM header with one ``@SQ`` per chromosome, in order."""
    return pysam.AlignmentHeader.from_dict(
        {
            "HD": {"VN": "1.6", "SO": "coordinate"},
            "SQ": [{"SN": c, "LN": int(n)} for c, n in genome_sizes.items()],
            "PG": [{"ID": program, "PN": program}],
        }
    )


def write_bam_records(out_bam: str | Path, genome_sizes: Mapping[str, int], records: Mapping[str, np.ndarray]) -> int:
    """Write alignment records as a coordinate-sorted, indexed BAM (SEQ ``*``, no qualities), atomically.

    Parameters
    ----------
    out_bam
        Output BAM; its ``.bai`` is written beside it.
    genome_sizes
        ``{chrom: length}`` for the header, in order.
    records
        Equal-length arrays ``(R,)``: ``chrom`` (str), ``start`` (int, 0-based), ``length`` (aligned
        length, CIGAR ``{length}M``), ``flag`` (int), ``mapq`` (int), ``name`` (str); optional
        ``mate_start`` and ``tlen`` (int; mates on the same chromosome).

    Returns
    -------
    int
        The number of records written.
    """
    order_of = {c: i for i, c in enumerate(genome_sizes)}
    tid = np.array([order_of[c] for c in records["chrom"]], dtype=np.int64)
    start = np.asarray(records["start"], dtype=np.int64)
    order = np.lexsort((start, tid))
    n = len(order)
    mate = np.asarray(records.get("mate_start", np.full(n, -1)), dtype=np.int64)
    tlen = np.asarray(records.get("tlen", np.zeros(n)), dtype=np.int64)
    length, flag = np.asarray(records["length"]), np.asarray(records["flag"])
    mapq, name = np.asarray(records["mapq"]), np.asarray(records["name"])
    header = _bam_header(genome_sizes)
    with atomic_path(out_bam) as tmp:
        with pysam.AlignmentFile(str(tmp), "wb", header=header) as out:
            for i in order.tolist():
                seg = pysam.AlignedSegment(header)
                seg.query_name = str(name[i])
                seg.flag = int(flag[i])
                seg.reference_id = int(tid[i])
                seg.reference_start = int(start[i])
                seg.mapping_quality = int(mapq[i])
                seg.cigarstring = f"{int(length[i])}M"
                if mate[i] >= 0:
                    seg.next_reference_id = int(tid[i])
                    seg.next_reference_start = int(mate[i])
                    seg.template_length = int(tlen[i])
                out.write(seg)
        with atomic_path(f"{out_bam}.bai") as tmp_bai:
            pysam.index("-o", str(tmp_bai), str(tmp))
    return n


def fragment_records(
    chrom: np.ndarray, start: np.ndarray, end: np.ndarray, read_length: int, names: np.ndarray, mapq: int = 60
) -> dict[str, np.ndarray]:
    """Proper-pair BAM records for fragments ``(F,)``: read1 on + at the start, read2 on - at the end.

    Returns the ``records`` mapping of :func:`write_bam_records` with ``2 F`` rows (flags 99/147,
    reads ``min(read_length, fragment length)`` long, mate positions and signed TLEN).
    """
    start, end = np.asarray(start, dtype=np.int64), np.asarray(end, dtype=np.int64)
    n, rlen, tlen = len(start), np.minimum(read_length, end - start), end - start
    return {
        "chrom": np.concatenate([chrom, chrom]),
        "start": np.concatenate([start, end - rlen]),
        "length": np.concatenate([rlen, rlen]),
        "flag": np.concatenate([np.full(n, 99), np.full(n, 147)]),
        "mapq": np.full(2 * n, mapq),
        "name": np.concatenate([names, names]),
        "mate_start": np.concatenate([end - rlen, start]),
        "tlen": np.concatenate([tlen, -tlen]),
    }
