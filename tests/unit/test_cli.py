"""Tests for the ``cisflow`` command itself: every stage registers, a missing stage module is an error."""

from __future__ import annotations

import pytest

from cisflow import __version__, cli


def test_every_stage_registers_its_commands(capsys):
    parser = cli.build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)
    assert set(cli.STAGES) <= commands
    assert {"compare-models", "dream-score"} <= commands  # registered by the baselines module
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"cisflow {__version__}"


def test_a_missing_stage_module_is_not_silently_dropped(monkeypatch):
    monkeypatch.setattr(cli, "STAGES", [*cli.STAGES, "no_such_stage"])
    with pytest.raises(ModuleNotFoundError, match=r"cisflow\.cli\.no_such_stage"):
        cli.build_parser()


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert cli.main(["evaluate", "--model", str(tmp_path / "m"), "--test", str(tmp_path / "t.npz"), "--out-dir",
                     str(tmp_path / "o")]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cisflow evaluate: error: ") and "t.npz" in err[0]
