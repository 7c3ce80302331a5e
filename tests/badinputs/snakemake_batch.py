"""Dry-run the workflow on several folders in one Python process, as ``snakemake -n --configfile C``.

Start-up checks fail while the Snakefile is read, before any job; dry-running many bad configs in
one process (instead of one ``snakemake`` process each) keeps those tests to about a second a case.

Usage: ``python snakemake_batch.py SNAKEFILE WORKDIR=CONFIGFILE ...``; prints one JSON line per
case: ``{"workdir": ..., "ok": bool, "error": "<exception text>"}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def dry_run(snakefile: Path, workdir: Path, configfile: Path) -> dict:
    """Plan the workflow in ``workdir`` (a dry run); ``ok`` False with the error text when it fails."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    try:
        with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
            workflow = api.workflow(
                resource_settings=ResourceSettings(cores=1),
                config_settings=ConfigSettings(configfiles=[configfile]),
                snakefile=snakefile,
                workdir=workdir,
            )
            workflow.dag().execute_workflow(executor="dryrun")
    except BaseException as exc:  # reported to the test, which asserts on it
        return {"workdir": str(workdir), "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"workdir": str(workdir), "ok": True, "error": ""}


def main(argv: list[str]) -> int:
    snakefile = Path(argv[0]).resolve()
    for case in argv[1:]:
        workdir, configfile = case.split("=", 1)
        print(json.dumps(dry_run(snakefile, Path(workdir).resolve(), Path(configfile).resolve())), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
