"""`etfrot backtest CONFIG` and `etfrot report RUN_DIR` end to end on the small synthetic bundle; the
config-driven runner is deterministic and point-in-time."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from etfrot.cli import app
from etfrot.errors import ConfigError
from etfrot.strategies import runner


def _config(bundle, **over) -> dict:
    cfg = {"name": "mom20_top5", "bundle": str(bundle.path),
           "universe": {"kind": "etf", "min_aum": None}, "scores": {"source": "factor", "factors": ["mom20"]},
           "selection": {"method": "top_n", "n": 5}, "frequency": "weekly",
           "benchmark": {"kind": "total_return", "code": "000300.SH"}, "report": {"bootstrap": 100}}
    cfg.update(over)
    return cfg


def test_cli_backtest_then_report(small_bundle, tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(_config(small_bundle)))
    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["backtest", str(p), "--out", str(out)])
    assert r.exit_code == 0, r.output + repr(r.exception)
    assert "annual excess" in r.output and "SYNTHETIC" in r.output
    for f in ("report.html", "manifest.json", "config.json", "result/nav.parquet", "tables/mom20_top5_summary_metrics.csv"):
        assert (out / f).exists(), f
    man = json.loads((out / "manifest.json").read_text())
    assert man["data_hash"] == small_bundle.content_hash and man["synthetic"] is True
    assert man["config"]["selection"]["n"] == 5 and "seeds" in man
    before = pd.read_csv(out / "tables" / "mom20_top5_summary_metrics.csv", index_col=0)
    cap_csv = out / "tables" / "mom20_top5_capacity_trade_participation.csv"
    cap_before = pd.read_csv(cap_csv)
    cap_csv.unlink()
    exp_csv = out / "tables" / "mom20_top5_sw_level_1_industry_exposure_industry_exposure.csv"
    exp_before = pd.read_csv(exp_csv)
    exp_csv.unlink()
    (out / "report.html").unlink()
    r = CliRunner().invoke(app, ["report", str(out)])
    assert r.exit_code == 0, r.output + repr(r.exception)
    assert "SYNTHETIC DATA" in (out / "report.html").read_text()
    after = pd.read_csv(out / "tables" / "mom20_top5_summary_metrics.csv", index_col=0)
    pd.testing.assert_frame_equal(before, after)
    pd.testing.assert_frame_equal(cap_before, pd.read_csv(cap_csv))  # the capacity section is rebuilt from the bundle
    pd.testing.assert_frame_equal(exp_before, pd.read_csv(exp_csv))  # and so is the industry exposure
    man["bundle"] = str(tmp_path / "gone")  # the bundle moved away: the report says so instead of omitting
    (out / "manifest.json").write_text(json.dumps(man))
    r = CliRunner().invoke(app, ["report", str(out)])
    assert r.exit_code == 0 and "bundle cannot be opened" in r.output
    assert "No data bundle was given to the report" in (out / "report.html").read_text()


def test_cli_rejects_unknown_keys(small_bundle, tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(_config(small_bundle, selection={"method": "top_n", "top": 5})))
    r = CliRunner().invoke(app, ["backtest", str(p), "--out", str(tmp_path / "x")])
    assert isinstance(r.exception, ConfigError)
    assert "unknown key 'selection.top'" in str(r.exception) and "'n'" in str(r.exception)


def test_runner_is_deterministic_point_in_time_and_costed(small_bundle):
    cfg = _config(small_bundle)
    a, _ = runner.run(small_bundle, cfg)
    b, _ = runner.run(small_bundle, cfg)
    pd.testing.assert_series_equal(a.nav, b.nav)
    # every executed pick was inside the universe and ranked top-5 by score on its signal date
    w, scores, mask, _inst = runner.build_weights(small_bundle, runner.validate_config(cfg))
    held = w.stack()
    held = held[held > 0]
    assert mask.stack().reindex(held.index).all()
    top = scores.rank(axis=1, ascending=False, method="first").stack().reindex(held.index)
    assert (top <= 5).all()
    # costs: doubling the fee roughly doubles the cost drag
    c2, _ = runner.run(small_bundle, _config(small_bundle, costs={"fee_per_side": 0.001}))
    d1 = a.metrics(ci=False)["cost_drag"]
    assert c2.metrics(ci=False)["cost_drag"] == pytest.approx(2 * d1, rel=0.05) and d1 > 0


def test_runner_variants_index_universe_next_open_random_scores(small_bundle):
    cfg = _config(small_bundle, universe={"kind": "index", "categories": ["industry_theme"]},
                  scores={"source": "random", "seed": 1}, execution="next_open",
                  benchmark={"kind": "industry_equal_weight"}, frequency="monthly")
    r1, secs = runner.run(small_bundle, cfg)
    r2, _ = runner.run(small_bundle, {**cfg, "scores": {"source": "random", "seed": 2}})
    assert r1.execution == "next_open" and not np.allclose(r1.nav.iloc[-1], r2.nav.iloc[-1])
    info = small_bundle.info("index")
    assert (info.loc[r1.trades["code"], "category"] == "industry_theme").all()
    assert secs[0].title.endswith("summary")
