"""The ``cisflow`` command: one subcommand per stage, each a thin face over the library.

Each stage module in this package has ``register(subparsers)`` that adds its subcommand and
sets ``func`` to a function taking the parsed arguments; every module in :data:`STAGES` must exist
(a missing one is an ImportError, never a silently absent command). Errors in inputs, and paths the system
refuses (an output folder's name taken by a file, no permission, a full disk), exit with status 2 and one line
on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from cisflow import __version__
from cisflow.errors import CisflowError

STAGES = [
    "simulate",
    "reads",
    "peaks",
    "labels",
    "splits",
    "denovo",
    "train",
    "evaluate",
    "baselines",
    "interpret",
    "motifs",
    "variants",
    "denoise",
    "profile",
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every stage's subcommand registered."""
    parser = argparse.ArgumentParser(prog="cisflow", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"cisflow {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for stage in STAGES:
        importlib.import_module(f"cisflow.cli.{stage}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        args.func(args)
    except CisflowError as exc:
        print(f"cisflow {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the system refuses: one line too, not a traceback
        logging.getLogger(__name__).debug("cisflow %s failed", args.command, exc_info=True)
        print(f"cisflow {args.command}: error: {_os_error(exc)}", file=sys.stderr)
        return 2
    return 0


def _os_error(exc: OSError) -> str:
    """One line for an OSError: the path and what the system said (an output path taken by a file named so)."""
    if isinstance(exc, (FileExistsError, NotADirectoryError)) and exc.filename:
        return f"{exc.filename}: a file is in the way of a folder this command writes into ({exc.strerror})"
    where = "".join(f"{f}: " for f in (exc.filename, exc.filename2) if f)
    return f"{where}{exc.strerror or exc}"


if __name__ == "__main__":
    sys.exit(main())
