"""Profiles do not override each other: the SLURM profile's partition and account reach every job."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
JOB = re.compile(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", re.M)


def test_workflow_profile_holds_only_executor_neutral_settings():
    # Snakemake loads profiles/default as the workflow profile beside any --profile, and its keys win
    default = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    slurm = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    assert not {"default-resources", "set-resources", "set-threads", "executor", "jobs", "resources"} & set(default)
    assert not set(default) & set(slurm), set(default) & set(slurm)


@pytest.mark.parametrize("configfile", ["config/config.yaml", "tests/workflow/simulation_tiny.yaml"])
def test_slurm_dry_run_routes_every_job(tmp_path, configfile):
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    profile["default-resources"]["slurm_account"] = "lab_account"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(profile))
    # --forceall: every job is planned (and routed) even in a checkout that holds a finished run
    cmd = [*SNAKEMAKE, "--directory", str(REPO), "--configfile", str(REPO / configfile), "-n", "--forceall"]
    cmd += ["--profile", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = JOB.findall(done.stdout)
    assert len(jobs) > 5
    gpu = {r for r, res in profile["set-resources"].items() if res.get("slurm_partition") == "gpu"}
    for rule, resources in jobs:
        assert "slurm_account=lab_account" in resources, (rule, resources)
        want = "gpu" if rule in gpu else "main"
        assert f"slurm_partition={want}" in resources, (rule, resources)
        # sized from the inputs: a number, or <TBD> until the inputs exist
        assert re.search(r"\bmem_mb=(\d+|<TBD>)", resources), (rule, resources)
    assert {"train", "evaluate"} <= {r for r, _ in jobs}


def test_device_setting_reaches_the_gpu_jobs_and_fails_loudly_without_a_gpu():
    import torch

    from cisflow.errors import CisflowError
    from cisflow.predict import resolve_device

    for rule in ("train", "evaluate", "interpret"):
        smk = next(p for p in (REPO / "workflow" / "rules").glob("*.smk") if f"rule {rule}:" in p.read_text())
        block = smk.read_text().split(f"rule {rule}:")[1].split("\nrule ")[0]
        assert 'device=config["device"]' in block and "torch_env()" in block and "gpu=1" in block, rule
        assert "device=snakemake.params.device" in (REPO / "scripts" / f"{rule}.py").read_text(), rule
    if not torch.cuda.is_available():
        with pytest.raises(CisflowError, match="device 'cuda' requested but this machine has 0 CUDA device"):
            resolve_device("cuda")


def test_config_values_alone_extend_the_bundled_config(tmp_path):
    # `--config seed=2` without --configfile runs the demo with that one value changed (it used to replace the
    # whole config and fail the schema: "'track' is a required property")
    cmd = [*SNAKEMAKE, "--directory", str(REPO), "--config", "seed=2", "-n", "--cores", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "config/config.yaml is extended by additional config specified via the command line" in out, out[-3000:]
    assert "rule train:" in out
