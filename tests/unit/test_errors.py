"""Tests for cisflow.errors: one line naming the file, and the existing-file check."""

from __future__ import annotations

from pathlib import Path

import pytest

from cisflow.errors import CisflowError, require_file


def test_message_names_the_file_on_one_line():
    err = CisflowError("line 3: bad value\nsecond line", Path("data/x.tsv"))
    assert str(err) == "data/x.tsv: line 3: bad value second line"
    assert err.path == "data/x.tsv"
    plain = CisflowError("no tasks")
    assert str(plain) == "no tasks" and plain.path is None
    assert isinstance(plain, ValueError)  # callers catching ValueError still see it


def test_require_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("x")
    assert require_file(str(path)) == path
    with pytest.raises(CisflowError, match=r"b\.txt: labels file does not exist$"):
        require_file(tmp_path / "b.txt", "labels file")
    with pytest.raises(CisflowError, match="file does not exist"):
        require_file(tmp_path)  # a folder is not a file
