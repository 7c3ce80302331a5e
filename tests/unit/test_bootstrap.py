"""The Snakefile and its jobs run the workflow's own library (scripts/_bootstrap.py and the Snakefile's guard).

A shared environment may hold another checkout's cisflow (an editable install): whatever imported it
first would make a job, or the planning of the jobs, run that library under this workflow's name.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OWN = REPO / "src" / "cisflow"


def _other_checkout(tmp_path: Path) -> Path:
    """A folder holding another ``cisflow`` package (another checkout's library)."""
    pkg = tmp_path / "other" / "src" / "cisflow"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('__version__ = "0.0.1-other"\n')
    return pkg.parent


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_a_job_stops_when_another_cisflow_was_imported_first(tmp_path):
    other = _other_checkout(tmp_path)
    code = (
        f"import sys; sys.path.insert(0, {str(other)!r}); import cisflow; sys.path.append('scripts'); import _bootstrap"
    )
    proc = _python(code, REPO)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cisflow: this job would run the cisflow library in "), proc.stderr
    assert f"{other / 'cisflow'}, not the workflow's own {OWN}" in lines[0]


def test_a_job_logs_the_library_it_runs(tmp_path):
    """Before the bootstrap the other checkout comes first on the path (as an editable install's .pth puts it)."""
    other = _other_checkout(tmp_path)
    log = tmp_path / "job.log"
    code = (
        f"import sys, types; sys.path.insert(0, {str(other)!r}); sys.path.append('scripts'); import _bootstrap; "
        f"job = types.SimpleNamespace(log=[{str(log)!r}], rule='demo'); _bootstrap.setup(job); "
        "import cisflow; print(cisflow.__file__)"
    )
    proc = _python(code, REPO)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).parent == OWN
    assert f"cisflow.rule.demo INFO cisflow 0.1.0 from {OWN}" in log.read_text()


def test_the_snakefile_refuses_another_cisflow_imported_first(tmp_path):
    other = _other_checkout(tmp_path)
    config = REPO / "tests" / "workflow" / "simulation_tiny.yaml"
    code = (
        f"import sys; sys.path.insert(0, {str(other)!r}); import cisflow; from snakemake.cli import main; "
        f"main(['--snakefile', {str(REPO / 'Snakefile')!r}, '--directory', {str(tmp_path)!r}, "
        f"'--configfile', {str(config)!r}, '-n'])"
    )
    proc = _python(code, tmp_path)
    assert proc.returncode != 0
    assert (
        f"this process imported the cisflow library in {other / 'cisflow'} before the workflow"
        in proc.stdout + proc.stderr
    )
    assert not (tmp_path / "results").exists()


def test_a_job_that_raises_cisflow_error_shows_one_line(tmp_path):
    """A known condition (CisflowError) in a job: its one line on stderr and in the job log, no traceback;
    any other exception keeps its traceback."""
    log = tmp_path / "job.log"
    for raise_, traceback in (("CisflowError('nothing to do', 'in.npz')", False), ("ValueError('bug')", True)):
        code = (
            "import sys, types; sys.path.append('scripts'); import _bootstrap; "
            f"job = types.SimpleNamespace(log=[{str(log)!r}], rule='demo'); _bootstrap.setup(job); "
            f"from cisflow.errors import CisflowError; raise {raise_}"
        )
        proc = _python(code, REPO)
        assert proc.returncode == 1
        assert ("Traceback" in proc.stderr) is traceback, proc.stderr
        logged = log.read_text().splitlines()[-1]
        if not traceback:
            assert logged.endswith("cisflow.rule.demo ERROR in.npz: nothing to do"), logged
            assert [line for line in proc.stderr.splitlines() if "ERROR" in line] == [logged.strip()]
        else:
            assert logged.endswith("ERROR ValueError: bug"), logged
