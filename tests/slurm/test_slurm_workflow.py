"""The workflow on a real single-node SLURM cluster, through profiles/slurm and snakemake-executor-plugin-slurm.

Needs root (CI runs it so): installs Debian's slurmctld, slurmd, slurm-client and munge when missing, starts
munged + slurmctld + slurmd on this machine with everything in a temp folder (see slurm_cluster.py), runs the
tiny simulation workflow through SLURM and locally, and stops the daemons by PID even when a test fails.

The cluster has no GPUs and no accounting, so the test profile is profiles/slurm with: ``gpu: 0`` (the plugin
sends ``--gpus=N`` for ``gpu: N``, which sbatch rejects on a node without GRES), threads and memory capped to
this machine, ``slurm-status-command: squeue`` (``sacct`` exists but has no slurmdbd behind it), a 2 s first
status check, SLURM logs kept (they are the proof the jobs ran there), no retries, no ``slurm_account`` (the
plugin then tries to guess one and goes on without).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from slurm_cluster import SlurmCluster, ensure_installed

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
CONFIG = REPO / "tests" / "workflow" / "simulation_tiny.yaml"
FINISHED = re.compile(r"Finished jobid: \d+ \(Rule: (\w+)\)")
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: (\S+?)\)\.?$", re.MULTILINE)
RUN_TIMEOUT = 900  # seconds for one snakemake run


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A running single-node cluster (main + gpu partitions on this host); stopped by PID afterwards."""
    if os.geteuid() != 0:
        pytest.skip("needs root to start SLURM daemons")
    try:
        ensure_installed()
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        pytest.skip(f"SLURM not available: {err}")
    cl = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        cl.start()
        yield cl
    finally:
        cl.stop()
    assert not cl.alive(), f"daemons left running: {cl.alive()}"
    assert not cl.step_daemons(), f"job steps left running: {cl.step_daemons()}"


def cpu_cap() -> int:
    """Threads one job may use here: at most 2 (what the rules ask), at most the CPUs of this node."""
    return max(1, min(2, len(os.sched_getaffinity(0))))


def make_test_profile(base: dict, cpus: int, mem_mb: int = 1000) -> dict:
    """profiles/slurm adapted to a small GPU-less cluster without accounting (see the module docstring).

    Partitions (the routing under test) are kept; ``gpu`` becomes 0, ``cpus_per_task`` / threads are capped at
    ``cpus``, ``mem_mb`` at ``mem_mb`` so jobs fit the node together.
    """
    prof = {k: v for k, v in base.items() if k not in ("set-resources", "set-threads", "default-resources")}
    prof["default-resources"] = {k: v for k, v in base.get("default-resources", {}).items() if k != "slurm_account"}
    prof["set-resources"] = {}
    for rule in workflow_rules():  # the rules size their own memory; cap every one so jobs fit together
        res = {k: v for k, v in base.get("set-resources", {}).get(rule, {}).items()}
        res = {k: v for k, v in res.items() if k not in ("cpus_per_task", "slurm_account")}
        res["mem_mb"] = min(res.get("mem_mb", mem_mb), mem_mb)
        if "gpu" in res:
            res["gpu"] = 0
        prof["set-resources"][rule] = res
    prof["set-threads"] = {rule: min(n, cpus) for rule, n in base.get("set-threads", {}).items()}
    prof.update(
        {
            "max-threads": cpus,
            "retries": 0,
            "latency-wait": 5,
            "slurm-status-command": "squeue",
            "slurm-init-seconds-before-status-checks": 2,
            "slurm-keep-successful-logs": True,
        }
    )
    return prof


def workflow_rules() -> list[str]:
    """Names of the workflow's rules (from workflow/rules/*.smk)."""
    smk = [p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk")]
    return sorted({name for text in smk for name in re.findall(r"^rule (\w+):", text, re.M)})


def local_rules() -> set[str]:
    """Rules the workflow runs on the submitting host (its ``localrules:`` declarations)."""
    files = [REPO / "Snakefile", *(REPO / "workflow" / "rules").glob("*.smk")]
    blocks = [m for f in files for m in re.findall(r"^localrules:\s*\n((?:[ \t]+\w+,?[ \t]*\n)+)", f.read_text(), re.M)]
    return {name.strip() for block in blocks for name in block.replace(",", " ").split()}


def expected_partitions(base: dict) -> dict[str, str]:
    """Rule → partition that profiles/slurm routes it to (rules not listed go to the default)."""
    default = base["default-resources"]["slurm_partition"]
    routes = {r: res.get("slurm_partition", default) for r, res in base.get("set-resources", {}).items()}
    return {"__default__": default, **routes}


def run_snakemake(args: list[str], workdir: Path, env: dict[str, str]) -> str:
    """Run snakemake on the repository's Snakefile in ``workdir``; returns its combined output (asserts rc 0)."""
    cmd = [str(VENV_BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    out = done.stdout + done.stderr
    (workdir.parent / f"{workdir.name}.snakemake.out").write_text(out)
    assert done.returncode == 0, f"snakemake failed ({done.returncode}):\n{out[-6000:]}"
    return out


def numbers(obj, prefix: str = "") -> dict[str, float]:
    """Every number in a JSON object, by its path."""
    if isinstance(obj, dict):
        return {k: v for key, val in obj.items() for k, v in numbers(val, f"{prefix}/{key}").items()}
    if isinstance(obj, list):
        return {k: v for i, val in enumerate(obj) for k, v in numbers(val, f"{prefix}[{i}]").items()}
    if isinstance(obj, bool) or not isinstance(obj, int | float):
        return {}
    return {prefix: obj}


def submissions(output: str) -> dict[str, str]:
    """SLURM job id → rule name, from the plugin's 'submitted with SLURM jobid N (log: .../rule_X/N.log)'."""
    found = {}
    for job_id, logfile in SUBMITTED.findall(output):
        rule_dir = next(p for p in Path(logfile).parents if p.name.startswith("rule_"))
        found[job_id] = rule_dir.name.removeprefix("rule_")
    return found


def wait_for_state(cluster: SlurmCluster, job_id: str, timeout: float = 60) -> dict[str, str]:
    """``scontrol show job`` once the job has left PENDING/RUNNING/COMPLETING."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = cluster.show_job(job_id)
        if info.get("JobState") not in (None, "PENDING", "RUNNING", "COMPLETING", "CONFIGURING"):
            return info
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish: {cluster.show_job(job_id)}")


def test_cluster_runs_jobs_on_both_partitions(cluster: SlurmCluster, tmp_path: Path) -> None:
    """sbatch to main and gpu completes; --gpus is refused here (why the test profile sets gpu: 0)."""
    for partition in ("main", "gpu"):
        out = tmp_path / f"{partition}.out"
        cmd = ["sbatch", "--parsable", "-p", partition, "--mem", "100", "-o", str(out)]
        job_id = cluster.run([*cmd, "--wrap", "echo ok $SLURM_JOB_ID"]).stdout.strip().split(";")[0]
        info = wait_for_state(cluster, job_id)
        assert (info["JobState"], info["Partition"]) == ("COMPLETED", partition)
        assert out.read_text().split() == ["ok", job_id]
    refused = cluster.run(["sbatch", "-p", "gpu", "--gpus=1", "--wrap", "true"], check=False)
    assert refused.returncode != 0
    assert "gres" in refused.stderr.lower()


def test_tiny_workflow_through_slurm_matches_local(cluster: SlurmCluster, tmp_path: Path) -> None:
    """Every rule of the tiny simulation run is a SLURM job on its profile's partition; metrics equal a local run.

    The cluster's default partition (``debug``) is none of the profile's, so a job the profile failed to route
    (e.g. its default-resources replaced by the workflow profile's) would land there and fail the check.
    """
    base = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    assert base["executor"] == "slurm"
    cpus = cpu_cap()
    profile_dir = tmp_path / "profile"
    profile_dir.mkdir()
    profile = make_test_profile(base, cpus)
    (profile_dir / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    env = {**cluster.env, "PATH": f"{VENV_BIN}{os.pathsep}{cluster.env['PATH']}", "MPLBACKEND": "Agg"}

    t0 = time.monotonic()
    out = run_snakemake(["--configfile", str(CONFIG), "--profile", str(profile_dir)], tmp_path / "slurm", env)
    slurm_s = time.monotonic() - t0
    jobs = submissions(out)
    routes = expected_partitions(base)
    # checked now: scontrol forgets a job MinJobAge seconds after it ended (no accounting database here)
    for job_id, rule in jobs.items():
        info = wait_for_state(cluster, job_id)
        assert info["JobState"] == "COMPLETED", (rule, info)
        assert info["Partition"] == routes.get(rule, routes["__default__"]), (rule, info)
        assert info["WorkDir"] == str(tmp_path / "slurm")
        assert (tmp_path / "slurm" / ".snakemake" / "slurm_logs" / f"rule_{rule}" / f"{job_id}.log").exists()
    ctld_log = (cluster.root / "log" / "slurmctld.log").read_text()
    for job_id in jobs:
        assert re.search(rf"JobId={job_id} WEXITSTATUS 0", ctld_log), f"job {job_id} not done in slurmctld.log"

    threads = [f"{rule}={n}" for rule, n in profile["set-threads"].items()]
    t0 = time.monotonic()
    local_args = ["--configfile", str(CONFIG), "--cores", str(cpus), "--max-threads", str(cpus)]
    local_out = run_snakemake([*local_args, "--set-threads", *threads], tmp_path / "local", env)
    local_s = time.monotonic() - t0
    rules = sorted(set(FINISHED.findall(local_out)) - {"all"})
    assert {"simulate", "train", "evaluate", "interpret"} <= set(rules), rules
    local = local_rules()
    assert "compare_models" in local and "compare_models" in rules
    # every rule but the tiny local ones ran as one SLURM job
    assert sorted(jobs.values()) == [r for r in rules if r not in local], out[-4000:]

    got = numbers(json.loads((tmp_path / "slurm" / "results" / "evaluate" / "metrics.json").read_text()))
    want = numbers(json.loads((tmp_path / "local" / "results" / "evaluate" / "metrics.json").read_text()))
    assert got and got == want
    log.info("SLURM run %.0f s (%d SLURM jobs), local run %.0f s", slurm_s, len(jobs), local_s)
