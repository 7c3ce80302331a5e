"""Start and stop a throwaway single-node SLURM cluster (munge + slurmctld + slurmd) in one directory.

Made for CI machines where the tests run as root without systemd (Debian 12): the daemons run in the
foreground as children of this process, all their state, sockets, logs and the munge key live under one
directory, ports are picked free, and they are stopped by their recorded PIDs. No cgroups are needed
(``proctrack/linuxproc``, ``task/none``, ``jobacct_gather/none``) and there is no accounting daemon, so job
states come from ``squeue`` (kept for ``MinJobAge`` seconds after a job ends).

Also a command line, for poking at the cluster by hand::

    python tests/slurm/slurm_cluster.py start /tmp/cl   # prints `export SLURM_CONF=...`
    python tests/slurm/slurm_cluster.py stop /tmp/cl    # stops the daemons listed in /tmp/cl/pids.json
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo")
PARTITIONS = ("main", "gpu")
MIN_JOB_AGE = 600  # seconds a finished job stays visible to squeue / scontrol (no slurmdbd here)
_SBIN = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")


def which(name: str) -> str | None:
    """Path of an executable on PATH or in the system sbin/bin folders (root's PATH may lack /usr/sbin)."""
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SBIN))


def missing_binaries() -> list[str]:
    """Names of the SLURM / munge executables not installed here."""
    return [b for b in BINARIES if which(b) is None]


def ensure_installed(timeout: float = 900) -> None:
    """Install Debian's SLURM and munge packages with apt-get when any executable is missing.

    Raises
    ------
    RuntimeError
        When something is missing and this is not root on an apt system, or apt-get fails.
    """
    if not missing_binaries():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(f"missing {missing_binaries()} and cannot apt-get install {' '.join(PACKAGES)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]):
        log.info("running %s", " ".join(cmd))
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    if missing_binaries():
        raise RuntimeError(f"still missing after apt-get install: {missing_binaries()}")


def free_port() -> int:
    """A TCP port that is free now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def node_definition(host: str, margin_mb: int = 1024) -> str:
    """``NodeName=...`` line for this machine: slurmd's own hardware view, memory less a margin.

    ``slurmd -C`` reports CPUs / sockets / cores / threads exactly as slurmd will check them, so the node
    is not drained for a configuration mismatch. RealMemory is reduced by ``margin_mb`` (MB).
    """
    out = subprocess.run([which("slurmd"), "-C"], capture_output=True, text=True, check=True).stdout
    fields = dict(f.split("=", 1) for f in out.splitlines()[0].split() if "=" in f)
    fields["NodeName"] = host
    memory = int(fields.get("RealMemory", "0"))
    fields["RealMemory"] = str(max(512, memory - margin_mb))
    fields.setdefault("CPUs", str(os.cpu_count() or 1))
    return " ".join(f"{k}={v}" for k, v in fields.items()) + " State=UNKNOWN"


def slurm_conf(root: Path, host: str, ports: tuple[int, int], node: str) -> str:
    """Text of slurm.conf for a one-node cluster whose state, logs and sockets all live under ``root``."""
    nodes = node.split()[0].split("=", 1)[1]
    lines = [
        "ClusterName=cisflowtest",
        f"SlurmctldHost={host}",
        "SlurmUser=root",
        "SlurmdUser=root",
        f"SlurmctldPort={ports[0]}",
        f"SlurmdPort={ports[1]}",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={root / 'munge' / 'munge.socket'}",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'run' / 'slurmctld.pid'}",
        f"SlurmdPidFile={root / 'run' / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
        f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
        "SlurmctldDebug=info",
        "SlurmdDebug=info",
        "MailProg=/bin/true",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "MpiDefault=none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "SchedulerType=sched/backfill",
        "ReturnToService=2",
        f"MinJobAge={MIN_JOB_AGE}",
        "KillWait=5",
        node,
        # the cluster's default partition is none of the profile's, so a job the profile does not route is seen
        f"PartitionName=debug Nodes={nodes} Default=YES MaxTime=INFINITE State=UP",
        f"PartitionName=main Nodes={nodes} Default=NO MaxTime=INFINITE State=UP",
        f"PartitionName=gpu Nodes={nodes} Default=NO MaxTime=INFINITE State=UP",
    ]
    return "\n".join(lines) + "\n"


class SlurmCluster:
    """A single-node SLURM cluster whose files all live under ``root``.

    Parameters
    ----------
    root
        An empty (or absent) directory; keep its path short (unix socket paths must stay under 108 bytes).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.host = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.pid_file = self.root / "pids.json"
        self._procs: dict[str, subprocess.Popen] = {}

    @property
    def env(self) -> dict[str, str]:
        """``os.environ`` plus ``SLURM_CONF``, and on PATH ``root/bin`` (the srun wrapper) first, system sbin last."""
        path = os.environ.get("PATH", "")
        extra = [d for d in _SBIN if d not in path.split(os.pathsep)]
        path = os.pathsep.join([str(self.root / "bin"), path, *extra])
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": path}

    @property
    def pids(self) -> dict[str, int]:
        """PIDs of the daemons this object started, by name."""
        return {name: p.pid for name, p in self._procs.items()}

    def start(self, timeout: float = 60) -> SlurmCluster:
        """Write the config and munge key, start munged, slurmctld and slurmd, wait until the node is idle."""
        for sub in ("munge", "key", "state", "spool", "log", "run"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "key").chmod(0o700)
        (self.root / "munge").chmod(0o755)
        socket_path = self.root / "munge" / "munge.socket"
        if len(str(socket_path)) > 100:
            raise RuntimeError(f"cluster directory path too long for a unix socket: {self.root}")
        key = self.root / "key" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        node = node_definition(self.host)
        self._write_srun_wrapper()
        self.conf.write_text(slurm_conf(self.root, self.host, (free_port(), free_port()), node))
        try:
            self._spawn("munged", [which("munged"), "--foreground", "--force", f"--key-file={key}",
                                   f"--socket={socket_path}", f"--pid-file={self.root / 'run' / 'munged.pid'}",
                                   f"--seed-file={self.root / 'run' / 'munged.seed'}",
                                   f"--log-file={self.root / 'log' / 'munged.log'}"])  # fmt: skip
            self._wait(lambda: socket_path.exists(), timeout, "munged socket")
            self._spawn("slurmctld", [which("slurmctld"), "-D", "-f", str(self.conf)])
            self._wait(lambda: "UP" in self.run(["scontrol", "ping"], check=False).stdout, timeout, "slurmctld ping")
            self._spawn("slurmd", [which("slurmd"), "-D", "-f", str(self.conf), "-N", self.host])
            self._wait(self._node_idle, timeout, "node idle")
        except BaseException:
            self.stop()
            raise
        log.info("SLURM cluster up in %s: %s", self.root, self.pids)
        return self

    def run(self, cmd: list[str], check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run a SLURM client command against this cluster; returns the completed process (text output)."""
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, check=check, timeout=timeout)

    def show_job(self, job_id: str) -> dict[str, str]:
        """``scontrol show job -o`` as a dict (``JobState``, ``Partition``, ``Command``...); {} once forgotten."""
        done = self.run(["scontrol", "show", "job", "-o", str(job_id)], check=False)
        if done.returncode != 0:
            return {}
        return dict(f.split("=", 1) for f in done.stdout.split() if "=" in f)

    def stop(self, timeout: float = 30) -> None:
        """Cancel every job, then stop slurmd, slurmctld and munged (SIGTERM, then SIGKILL) by their PIDs."""
        if "slurmctld" in self._procs and self._procs["slurmctld"].poll() is None:
            self.run(["scancel", "--full", "--user", "root"], check=False)
            self._wait(self._no_active_jobs, timeout, "jobs to end", raise_=False)
        self._wait(lambda: not self.step_daemons(), timeout, "slurmstepd to exit", raise_=False)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self._procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s (pid %d) ignored SIGTERM; killing it", name, proc.pid)
                proc.kill()
                proc.wait(timeout)
        self._write_pids()

    def step_daemons(self) -> list[str]:
        """Sockets of running job steps (``HOST_JOBID.STEP`` in the spool folder): one per live slurmstepd."""
        spool = self.root / "spool"
        return sorted(p.name for p in spool.glob(f"{self.host}_*")) if spool.exists() else []

    def alive(self) -> dict[str, int]:
        """Daemons started here that are still running, by name → PID."""
        return {name: p.pid for name, p in self._procs.items() if p.poll() is None}

    def _write_srun_wrapper(self) -> None:
        """``root/bin/srun``: the real srun with SLURM_CONF pointing here.

        snakemake-executor-plugin-slurm-jobstep runs each job as ``srun -n1 ...`` inside the allocation and drops
        every ``SLURM_*`` variable (SLURM_CONF too) from srun's environment, so srun looks for the system's
        /etc/slurm/slurm.conf, which a real cluster has and this throwaway one must not write.
        """
        (self.root / "bin").mkdir(exist_ok=True)
        wrapper = self.root / "bin" / "srun"
        wrapper.write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec "{which("srun")}" "$@"\n')
        wrapper.chmod(0o755)

    def _spawn(self, name: str, cmd: list[str]) -> None:
        out = open(self.root / "log" / f"{name}.out", "ab")
        self._procs[name] = subprocess.Popen(
            cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        out.close()
        self._write_pids()

    def _write_pids(self) -> None:
        self.pid_file.write_text(json.dumps(self.alive(), indent=1) + "\n")

    def _node_idle(self) -> bool:
        state = self.run(["sinfo", "-h", "-n", self.host, "-o", "%T"], check=False).stdout.split()
        return bool(state) and all(s == "idle" for s in state)

    def _no_active_jobs(self) -> bool:
        done = self.run(["squeue", "-h", "-t", "PD,R,CG,CF,S", "-o", "%i"], check=False)
        return done.returncode == 0 and not done.stdout.strip()

    def _wait(self, ready, timeout: float, what: str, raise_: bool = True) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n, p in self._procs.items() if p.poll() is not None]
            if dead and raise_:
                raise RuntimeError(f"{dead} exited while waiting for {what}; see {self.root / 'log'}")
            if ready():
                return True
            time.sleep(0.5)
        if raise_:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}; see {self.root / 'log'}")
        return False


def stop_by_pid_file(root: Path, timeout: float = 30) -> None:
    """Stop daemons listed in ``root/pids.json`` (for a cluster left by a killed test process)."""
    pid_file = Path(root) / "pids.json"
    pids = json.loads(pid_file.read_text()) if pid_file.exists() else {}
    for name in ("slurmd", "slurmctld", "munged"):
        pid = pids.get(name)
        if pid is None:
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.2)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
    pid_file.write_text("{}\n")


def main(argv: list[str] | None = None) -> int:
    """``start DIR`` (stays in the foreground until Ctrl-C or a daemon exits, then stops all) or ``stop DIR``."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        sys.stderr.write("usage: slurm_cluster.py start|stop DIR\n")
        return 2
    logging.basicConfig(level=logging.INFO)
    if argv[0] == "stop":
        stop_by_pid_file(Path(argv[1]))
        return 0
    ensure_installed()
    cluster = SlurmCluster(Path(argv[1]).resolve()).start()
    sys.stdout.write(f"export SLURM_CONF={cluster.conf}\n# daemons {cluster.pids}; Ctrl-C stops them\n")
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill PID` stops the cluster like Ctrl-C
    try:
        while len(cluster.alive()) == 3:  # until Ctrl-C or `stop DIR` from elsewhere
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
