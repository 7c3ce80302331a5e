"""Test fixtures for cisflow's tests and benchmarks: not part of the library (nothing under ``cisflow`` imports it).

:mod:`cisflow._testing.testdata` builds small synthetic inputs (a genome with planted binding sites,
ChIP-seq and ATAC-seq BAMs, a sample sheet and the truth). The ``cisflow reads testdata`` command
imports it on demand.
"""

from cisflow._testing.testdata import (
    TEST_CHROMS,
    TEST_MOTIF,
    TEST_N_RUN,
    Site,
    make_test_project,
    plant_sites,
    simulate_atac_bam,
    simulate_chip_bam,
    simulate_control_bam,
    synthetic_genome,
    write_genome,
    write_sites_bed,
)

__all__ = [
    "TEST_CHROMS",
    "TEST_MOTIF",
    "TEST_N_RUN",
    "Site",
    "make_test_project",
    "plant_sites",
    "simulate_atac_bam",
    "simulate_chip_bam",
    "simulate_control_bam",
    "synthetic_genome",
    "write_genome",
    "write_sites_bed",
]
