"""One error type for bad inputs: a one-line message that names the file and the problem."""

from __future__ import annotations

from pathlib import Path


class CisflowError(ValueError):
    """A bad input or configuration, reported as one line naming the file and what is wrong.

    Parameters
    ----------
    message
        What is wrong, in one line.
    path
        The offending file, if any; prefixed to the message.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        text = message if path is None else f"{path}: {message}"
        super().__init__(" ".join(text.split("\n")))


def require_file(path: str | Path, what: str = "file") -> Path:
    """Return ``path`` as a Path, or raise CisflowError if it is not an existing file."""
    p = Path(path)
    if not p.is_file():
        raise CisflowError(f"{what} does not exist", p)
    return p
