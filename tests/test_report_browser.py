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
    p = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
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
    assert f'data-charts="{n_img}"' in dom and n_img == 4  # NAV / relative / drawdown panels, per year, rolling, activity (the heat map is a table)
    assert "SYNTHETIC DATA — NOT A REAL MARKET" in dom


def test_a_broken_chart_is_detected(tmp_path):
    """Negative control: the report's own check flags a chart that does not decode, on the console."""
    from etfrot.report import Section

    secs = [Section("broken", "a chart that is not a PNG", figures=["data:image/png;base64,AAAA"])]
    path = write_report(tmp_path / "bad", title="bad", synthetic=False, data_label="d", sections=secs)
    dom, console = render(path, tmp_path)
    assert 'data-rendered="broken"' in dom
    assert any("chart failed to render" in c for c in console)


_CHECK = """<script>
window.addEventListener("load", function () {
  var vw = window.innerWidth, wide = 0, bad = 0;
  document.querySelectorAll("table").forEach(function (t) {
    var box = (t.closest(".tblwrap") || t).getBoundingClientRect();
    if (box.right > vw + 1) { wide++; }
  });
  document.querySelectorAll("img").forEach(function (im) { if (!im.complete || im.naturalWidth === 0) { bad++; } });
  var h = document.documentElement;
  h.setAttribute("data-viewport", String(vw));
  h.setAttribute("data-page-width", String(h.scrollWidth));
  h.setAttribute("data-wide-tables", String(wide));
  h.setAttribute("data-broken-images", String(bad));
  h.setAttribute("data-height", String(h.scrollHeight));
});
</script></body>"""


@pytest.mark.parametrize("width", [1280, 700])
def test_full_page_screenshot_no_table_wider_than_viewport(tmp_path, width):
    """A real backtest report (tear sheet included) at a desktop and a narrow width: no table box reaches past
    the viewport (wide tables scroll inside their box), the page does not scroll sideways, every chart decodes,
    the SYNTHETIC banner is there; then a full-page PNG screenshot is taken at the measured height."""
    if CHROMIUM is None:
        pytest.skip("headless Chromium not found (install the Debian package: apt-get install -y chromium)")
    rng = np.random.default_rng(1)
    cal = pd.bdate_range("2019-01-01", periods=400, name="date")
    codes = [f"51{i:04d}.SH" for i in range(12)]
    px = pd.DataFrame(np.exp(np.cumsum(rng.normal(0.0002, 0.012, (400, 12)), axis=0)), index=cal, columns=codes)
    w = pd.DataFrame(0.2, index=cal[::5], columns=codes[:5])
    names = pd.Series({c: f"行业主题ETF{i}号" for i, c in enumerate(codes)})
    res = run_backtest(w, px, benchmark=px.mean(axis=1), names=names)
    secs = backtest_sections(res, title="browser", synthetic=True, n_boot=100)
    path = write_report(tmp_path / "run", title="browser test", synthetic=True, data_label="SYNTHETIC DATA", sections=secs)
    check = path.with_name("check.html")
    check.write_text(path.read_text().replace("</body>", _CHECK), encoding="utf-8")
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--disable-extensions", "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}"]
    p = subprocess.run([*base, f"--window-size={width},900", "--virtual-time-budget=5000", "--dump-dom", check.as_uri()],
                       check=False, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', p.stdout[:3000]))
    assert attrs.get("rendered") == "ok" and attrs["broken-images"] == "0"
    assert attrs["wide-tables"] == "0", f"{attrs['wide-tables']} table boxes wider than the {attrs['viewport']} px viewport"
    assert int(attrs["page-width"]) <= int(attrs["viewport"]), attrs
    assert "SYNTHETIC DATA — NOT A REAL MARKET" in p.stdout
    shot = tmp_path / f"full-{width}.png"
    height = min(int(attrs["height"]), 30000)
    p = subprocess.run([*base, f"--window-size={width},{height}", "--virtual-time-budget=5000", f"--screenshot={shot}",
                        path.as_uri()], check=False, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0 and shot.exists(), p.stderr[-2000:]
    raw = shot.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(raw[16:20], "big") == width and int.from_bytes(raw[20:24], "big") == height
