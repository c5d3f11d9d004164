"""`etfrot data …` commands end to end, and readable errors instead of tracebacks."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from etfrot.cli import app

runner = CliRunner()


def test_synth_info_validate(tmp_path):
    out = tmp_path / "b"
    r = runner.invoke(app, ["data", "synth", "--out", str(out), "--size", "small", "--seed", "1"])
    assert r.exit_code == 0, r.output
    assert "SYNTHETIC" in r.output and "stock_bars" in r.output
    r = runner.invoke(app, ["data", "info", str(out)])
    assert r.exit_code == 0 and "SYNTHETIC DATA" in r.output and "trading days" in r.output
    r = runner.invoke(app, ["data", "validate", str(out)])
    assert r.exit_code == 0 and "valid" in r.output


def test_error_is_one_readable_line(tmp_path):
    p = subprocess.run([sys.executable, "-m", "etfrot", "data", "info", str(tmp_path)], capture_output=True, text=True)
    assert p.returncode == 2
    assert "not a bundle" in p.stderr and "Traceback" not in p.stderr
