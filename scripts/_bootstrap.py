"""Put the repository's src/ on sys.path and route logging to the rule's log file.

Snakemake puts this folder on ``sys.path`` for ``script:`` jobs, so every adapter starts with
``from _bootstrap import setup`` and works in a conda env without cisflow installed.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

_SRC = str(Path(__file__).resolve().parents[1] / "src")
# first on the path even when Snakemake's preamble appended it after an installed cisflow (e.g. an editable
# install of another checkout), so a job always runs the library of the workflow that started it
while _SRC in sys.path:
    sys.path.remove(_SRC)
sys.path.insert(0, _SRC)


def library_mismatch() -> str | None:
    """Why the imported ``cisflow`` is not the workflow's own ``src/cisflow``, or None when it is.

    The path order above decides only for a first import: a ``cisflow`` imported earlier in the job's
    process (by whatever ran before this bootstrap, from an installed copy of another checkout) stays, and
    the job would run that library under this workflow's name.
    """
    import cisflow

    here, own = Path(cisflow.__file__).resolve().parent, (Path(_SRC) / "cisflow").resolve()
    if here == own:
        return None
    return (
        f"this job would run the cisflow library in {here}, not the workflow's own {own} (imported before the "
        "job's bootstrap, from an installed copy of another checkout?); run that checkout's workflow, or make "
        "this checkout the installed one"
    )


if "cisflow" in sys.modules and (_early := library_mismatch()):
    raise SystemExit(f"cisflow: {_early}")


def setup(snakemake) -> logging.Logger:
    """Send logging (INFO) to ``snakemake.log[0]`` when the rule has a log, else to stderr.

    Then stops the job unless it runs the workflow's own library (:func:`library_mismatch`), and logs which.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if len(snakemake.log):
        Path(snakemake.log[0]).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(snakemake.log[0], mode="w"))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", handlers=handlers, force=True
    )
    log = logging.getLogger(f"cisflow.rule.{snakemake.rule}")
    default_hook = sys.excepthook

    def _log_failure(exc_type, exc, tb):
        from cisflow.errors import CisflowError

        if issubclass(exc_type, CisflowError):  # a known condition: its one line, no traceback
            log.error("%s", exc)
            return
        log.error("%s: %s", exc_type.__name__, exc)
        default_hook(exc_type, exc, tb)

    sys.excepthook = _log_failure
    mismatch = library_mismatch()
    if mismatch:
        log.error(mismatch)
        raise SystemExit(f"cisflow: {mismatch}")
    import cisflow

    log.info("cisflow %s from %s", cisflow.__version__, Path(cisflow.__file__).parent)
    return log
