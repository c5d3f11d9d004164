"""`etfrot universe screen|cluster` end to end on the small synthetic bundle."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
from typer.testing import CliRunner

from etfrot.cli import app
from etfrot.universe.screen import screen_etfs

runner = CliRunner()


def test_screen_cli_prints_counts_and_writes_report(small_bundle, tmp_path):
    d = small_bundle.calendar[-60]
    out = tmp_path / "screen"
    r = runner.invoke(app, ["universe", "screen", "--bundle", str(small_bundle.path), "--date", f"{d:%Y-%m-%d}",
                            "--freq", "monthly", "--out", str(out)], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "SYNTHETIC DATA" in r.output and "duplicate" in r.output and "kept" in r.output
    expected = screen_etfs(small_bundle, [d]).at(d)
    for code in expected["etf"]:
        assert code in r.output
    html = (out / "report.html").read_text()
    assert "SYNTHETIC" in html
    counts = pd.read_csv(next((out / "tables").glob("*counts.csv")), index_col=0)
    assert len(counts) > 10 and (counts["kept_indices"] <= counts["listed_indices"]).all()


def test_cluster_cli_table1_and_report(small_bundle, tmp_path):
    out = tmp_path / "cluster"
    r = runner.invoke(app, ["universe", "cluster", "--bundle", str(small_bundle.path), "--k-max", "6", "--refs", "3",
                            "--n-init", "3", "--out", str(out)], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "Choosing K" in r.output and "seed 001 table 1" in r.output and "SYNTHETIC DATA" in r.output
    t1 = pd.read_csv(next((out / "tables").glob("*table_1_table_1.csv")), index_col=0)
    k = json.loads((out / "manifest.json").read_text())["config"]["k"]
    assert t1["kmeans"].nunique() == k and t1["representative"].sum() == k  # one representative per cluster
    assert t1["etf"].is_unique and t1["index"].is_unique
    assert (out / "report.html").read_text().count("data:image/png") >= 2  # K-scan curves + dendrogram


def test_cluster_cli_bad_input_is_one_readable_error(small_bundle):
    p = subprocess.run([sys.executable, "-m", "etfrot", "universe", "screen", "--bundle", str(small_bundle.path),
                        "--categories", "bonds", "--no-report"], capture_output=True, text=True)
    assert p.returncode == 2 and "unknown index categories" in p.stderr and "Traceback" not in p.stderr
