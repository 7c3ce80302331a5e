"""A small project of one TF bound in two cell types, for cross-cell-type tests (the DREAM setting).

:func:`make_cell_type_project` plants :data:`cisflow._testing.testdata.TEST_MOTIF` at sites of three kinds,
in turn along the genome: bound in both cell types, bound only in the first, bound only in the second.
A sequence model trained on one cell type predicts every motif site bound, so the other cell type's
scores on its own labels differ from the first's in a known way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cisflow._testing.testdata import (
    TEST_CHROMS,
    TEST_MOTIF,
    TEST_N_RUN,
    Site,
    _faidx,
    plant_sites,
    simulate_chip_bam,
    simulate_control_bam,
    synthetic_genome,
    write_genome,
)
from cisflow.io import atomic_open

#: Site kinds, in the order they are dealt along the genome.
KINDS = ("shared", "first", "second")


def make_cell_type_project(
    out_dir: str | Path, cell_types: Sequence[str] = ("HepG2", "K562"), seed: int = 0, n_sites: int = 90
) -> dict[str, Any]:
    """Write a genome, ChIP-seq reads of task ``TF`` in two cell types and a sample sheet (absolute paths).

    Parameters
    ----------
    out_dir
        Output folder (created): ``genome.fa`` (:data:`TEST_CHROMS`, an N run at :data:`TEST_N_RUN`),
        ``reads/{cell}_rep{1,2}.bam`` and ``reads/{cell}_control.bam`` (single-end), ``samples.tsv``.
    cell_types
        The two cell types, in sample-sheet order.
    seed
        Random seed; the same seed gives the same files.
    n_sites
        Motif sites planted; site ``i`` (genome order) is of kind ``KINDS[i % 3]``.

    Returns
    -------
    dict
        ``genome``, ``samples``, ``sites`` ``{kind: [Site, ...]}``, ``bound`` ``{cell type: [Site, ...]}`` and
        ``sizes`` ``{chrom: bp}``.
    """
    out = Path(out_dir)
    (out / "reads").mkdir(parents=True, exist_ok=True)
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(4 + 3 * len(cell_types))]
    codes = synthetic_genome(None, TEST_CHROMS, seeds[0], n_runs=[TEST_N_RUN])
    sites = plant_sites(codes, n_sites, seeds[1], motif=TEST_MOTIF)
    genome = out / "genome.fa"
    write_genome(genome, codes)
    _faidx(genome)
    kinds = {kind: sites[k :: len(KINDS)] for k, kind in enumerate(KINDS)}
    first, second = cell_types
    bound = {first: kinds["shared"] + kinds["first"], second: kinds["shared"] + kinds["second"]}
    sizes = {c: len(v) for c, v in codes.items()}
    strength = np.random.default_rng(seeds[2]).integers(30, 80, len(sites))
    rows = []
    for c, cell in enumerate(cell_types):
        cell_sites = sorted(bound[cell], key=sites.index)
        reads = strength[[sites.index(s) for s in cell_sites]]
        control = out / "reads" / f"{cell}_control.bam"
        simulate_control_bam(control, sizes, 8000, seed=seeds[3 + 3 * c], genome=codes, name_prefix=f"{cell}_control")
        for rep in (1, 2):
            bam = out / "reads" / f"{cell}_rep{rep}.bam"
            simulate_chip_bam(bam, sizes, cell_sites, reads, 6000, seed=seeds[3 + 3 * c + rep], genome=codes,
                              name_prefix=f"{cell}_rep{rep}")  # fmt: skip
            rows.append(("TF", cell, "chip", str(rep), str(bam.resolve()), str(control.resolve())))
    samples = _write_sheet(out / "samples.tsv", rows)
    return {"genome": str(genome), "samples": str(samples), "sites": kinds, "bound": bound, "sizes": sizes}


def write_cell_signal(out_dir: str | Path, project: dict[str, Any], value: float = 20.0, flank: int = 100) -> dict:
    """One accessibility-like bigWig per cell type: ``value`` within ``flank`` bp of its bound sites, 0 elsewhere.

    Returns ``{cell type: [bigWig path]}`` (absolute paths), the shape of ``inputs.signal_bigwigs`` per cell type.
    """
    import pyBigWig

    out, tracks = Path(out_dir), {}
    out.mkdir(parents=True, exist_ok=True)
    for cell, sites in project["bound"].items():
        path = out / f"{cell}.dnase.bw"
        bw = pyBigWig.open(str(path), "w")
        bw.addHeader(list(project["sizes"].items()))
        for chrom, size in project["sizes"].items():
            values = np.zeros(size)
            for site in sites_on(sites, chrom):
                values[max(site.center - flank, 0) : site.center + flank] = value
            bw.addEntries(chrom, 0, values=values.tolist(), span=1, step=1)
        bw.close()
        tracks[cell] = [str(path.resolve())]
    return tracks


def _write_sheet(path: Path, rows: Sequence[tuple[str, ...]]) -> Path:
    """A sample sheet with the columns ``task cell_type assay replicate reads control``."""
    with atomic_open(path) as handle:
        handle.write("task\tcell_type\tassay\treplicate\treads\tcontrol\n")
        handle.writelines("\t".join(row) + "\n" for row in rows)
    return path


def sites_on(sites: Sequence[Site], chrom: str) -> list[Site]:
    """The sites on one chromosome."""
    return [s for s in sites if s.chrom == chrom]
