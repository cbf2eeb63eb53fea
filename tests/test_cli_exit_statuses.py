"""How `asr` ends when something unexpected happens: one line and a status, the traceback only with --debug."""

import pytest

from asr.app import cli


def raising(exc):
    def run_command(_args):
        raise exc

    return run_command


def test_an_internal_error_is_one_line_and_status_3(monkeypatch, capsys):
    monkeypatch.setattr(cli, "run_command", raising(RuntimeError("boom\nsecond line")))
    assert cli.main(["transcribe", "x.wav", "--model", "m"]) == cli.INTERNAL_ERROR == 3
    assert capsys.readouterr().err == "asr: internal error: RuntimeError: boom (rerun with --debug for the traceback)\n"


def test_debug_lets_the_traceback_through(monkeypatch):
    monkeypatch.setattr(cli, "run_command", raising(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["evaluate", "m.csv", "--debug"])


def test_ctrl_c_is_status_130_without_a_traceback(monkeypatch, capsys):
    monkeypatch.setattr(cli, "run_command", raising(KeyboardInterrupt()))
    assert cli.main(["transcribe", "x.wav", "--model", "m"]) == 130
    assert capsys.readouterr().err == ""
