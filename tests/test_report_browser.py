"""The HTML report opens in a real browser (headless Chromium) offline, with no console messages,
and every embedded chart decodes (SPEC §9). Skipped with a clear message where Chromium is absent
(Debian: ``apt-get install -y chromium``)."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from etfrot.backtest import run_backtest
from etfrot.report import backtest_sections, write_report

pytestmark = pytest.mark.browser

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome", "chrome")) if p), None)


def render(path, tmp_path) -> tuple[str, list[str]]:
    """(DOM after load, console lines) of a local HTML file in headless Chromium, no network."""
    if CHROMIUM is None:
        pytest.skip("headless Chromium not found (install the Debian package: apt-get install -y chromium)")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={tmp_path / 'chrome-profile'}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=5000", "--dump-dom", path.resolve().as_uri()]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    console = [ln for ln in p.stderr.splitlines() if ":CONSOLE" in ln]
    return p.stdout, console


def test_backtest_report_renders_without_console_messages(tmp_path):
    rng = np.random.default_rng(0)
    cal = pd.bdate_range("2020-01-01", periods=300, name="date")
    px = pd.DataFrame(np.exp(np.cumsum(rng.normal(0, 0.01, (300, 8)), axis=0)), index=cal, columns=[f"E{i}" for i in range(8)])
    w = pd.DataFrame(0.25, index=cal[::10], columns=px.columns[:4])
    res = run_backtest(w, px, benchmark=px.mean(axis=1))
    secs = backtest_sections(res, title="browser", synthetic=True, n_boot=100)
    path = write_report(tmp_path / "run", title="browser test", synthetic=True, data_label="SYNTHETIC DATA", sections=secs)
    dom, console = render(path, tmp_path)
    assert console == [], f"console messages: {console}"
    assert 'data-rendered="ok"' in dom  # the page's own check: every chart decoded
    n_img = len(re.findall(r"<img ", path.read_text()))
    assert f'data-charts="{n_img}"' in dom and n_img == 9
    assert "SYNTHETIC DATA — NOT A REAL MARKET" in dom


def test_a_broken_chart_is_detected(tmp_path):
    """Negative control: the report's own check flags a chart that does not decode, on the console."""
    from etfrot.report import Section

    secs = [Section("broken", "a chart that is not a PNG", figures=["data:image/png;base64,AAAA"])]
    path = write_report(tmp_path / "bad", title="bad", synthetic=False, data_label="d", sections=secs)
    dom, console = render(path, tmp_path)
    assert 'data-rendered="broken"' in dom
    assert any("chart failed to render" in c for c in console)
