"""Model configs, the test-IC table, stock factor tests per pool, `etfrot model train` / `predict`."""

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from etfrot.errors import ConfigError
from etfrot.model.config import ModelConfig, SplitConfig, load_train_config
from etfrot.model.dataset import WindowDataset
from etfrot.model.pipeline import default_test_start, test_ic_table, variant


def test_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(ConfigError, match="unknown key 'model.hiden_size'"):
        load_train_config({"model": {"hiden_size": 8}})
    with pytest.raises(ConfigError, match="device"):
        load_train_config({"model": {"device": "tpu"}})
    with pytest.raises(ConfigError, match="train_end"):
        load_train_config({"split": {"scheme": "fixed", "train_end": "2015-01-01"}})
    cfg = load_train_config({"model": {"seeds": [3, 4]}, "split": {"scheme": "fixed"}})
    assert cfg.model.seeds == [3, 4] and cfg.window.lookback == 40 and cfg.window.horizon == 20


def test_variants_change_only_what_they_name():
    m = ModelConfig(hidden_size=8)
    g, mse = variant(m, "gru"), variant(m, "mse")
    assert g.model == "gru" and g.extreme_weight == 2.0 and g.hidden_size == 8
    assert mse.model == "agru" and (mse.extreme_weight, mse.base_weight) == (1.0, 1.0)
    with pytest.raises(ConfigError, match="unknown model variant"):
        variant(m, "lstm")


def test_default_test_start_leaves_train_and_valid_years():
    dates = pd.bdate_range("2013-01-04", "2022-12-30")
    assert default_test_start(dates, SplitConfig(min_train_years=2, valid_years=1)) == pd.Timestamp("2017-01-01")
    with pytest.raises(ConfigError, match="too short"):
        default_test_start(dates[:300], SplitConfig())


def test_test_ic_table_known_answers():
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2020-01-01", periods=60, name="date")
    cols = [f"S{i}" for i in range(30)]
    close = pd.DataFrame(10 * np.exp(np.cumsum(rng.normal(0, 0.02, (60, 30)), axis=0)), index=dates, columns=cols)
    panels = {k: close for k in ("open", "high", "low", "close", "vwap")}
    panels["volume"] = close * 0 + 1e6
    ds = WindowDataset.from_panels(panels, lookback=5, horizon=3)
    label = pd.DataFrame(ds.label, index=dates, columns=cols)
    t = test_ic_table({"perfect": label, "inverse": -label, "cubed": label**3}, ds)
    assert t.loc["perfect", "ic_mean"] == pytest.approx(1.0) and t.loc["perfect", "rank_ic_mean"] == pytest.approx(1.0)
    assert t.loc["inverse", "rank_ic_mean"] == pytest.approx(-1.0)
    assert t.loc["cubed", "rank_ic_mean"] == pytest.approx(1.0) and t.loc["cubed", "ic_mean"] < 0.99
    assert t.loc["perfect", "dates"] == int(np.isfinite(ds.label).any(axis=1).sum())


@pytest.mark.slow
def test_cli_train_then_predict_reproduces_scores(small_bundle, tmp_path):
    from etfrot.cli import app

    cfg = {"name": "tiny", "bundle": str(small_bundle.path), "out": str(tmp_path / "run"),
           "model": {"hidden_size": 4, "num_layers": 1, "seeds": 1, "epochs": 1, "train_date_stride": 10,
                     "valid_date_stride": 5, "num_threads": 1, "device": "cpu"},
           "split": {"scheme": "fixed", "train_end": "2014-12-31", "valid_end": "2015-06-30"},
           "evaluate": {"pools": ["all", "csi300", "nosuchpool"], "freq": "monthly", "quantiles": 5, "compare": ["mse"]}}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(app, ["model", "train", str(path)])
    assert r.exit_code == 0, r.output
    out = tmp_path / "run"
    for f in ("report.html", "history.csv", "scores/agru.parquet", "scores/mse.parquet", "models/agru/fixed/model.pt"):
        assert (out / f).exists(), f
    html = (out / "report.html").read_text()
    assert "SYNTHETIC" in html
    assert "time and memory per seed" in html and "time per epoch (s)" in html  # issue 12 item 5
    h = pd.read_csv(out / "history.csv")
    assert (h["seconds"] > 0).all() and (h["peak_rss_mib"] > 0).all()
    scores = pd.read_parquet(out / "scores" / "agru.parquet")
    assert scores.index[0] >= pd.Timestamp("2015-07-01")
    r = CliRunner().invoke(app, ["model", "predict", str(out / "models" / "agru"), "--bundle", str(small_bundle.path),
                                 "--out", str(tmp_path / "p.parquet"), "--start", "2015-07-01", "--freq", "weekly"])
    assert r.exit_code == 0, r.output
    p = pd.read_parquet(tmp_path / "p.parquet")
    common = p.index.intersection(scores.index)
    assert len(common) > 50
    pd.testing.assert_frame_equal(p.loc[common], scores.loc[common], check_freq=False, rtol=1e-6)


def test_stock_factor_table_per_pool(small_bundle):
    from etfrot.data.calendar import rebalance_dates
    from etfrot.model.evaluate import stock_factor_table

    px = small_bundle.panel("stock_bars", "close", adjusted=True)
    d = rebalance_dates(small_bundle.calendar, "monthly", "2014-01-01", "2016-06-30")
    fwd = (px.shift(-20) / px - 1).reindex(d)  # a look-ahead "oracle" score: must test strongly positive
    noise = pd.DataFrame(np.random.default_rng(0).normal(size=fwd.shape), index=d, columns=px.columns)
    table, results, notes = stock_factor_table(small_bundle, {"oracle": fwd, "noise": noise},
                                               pools=("all", "csi300", "bogus"), freq="monthly", quantiles=5)
    assert set(table["pool"]) == {"all", "csi300"} and any("bogus" in n for n in notes)
    t = table.set_index(["model", "pool"])
    assert t.loc[("oracle", "all"), "ic_mean"] > 0.3 and t.loc[("oracle", "all"), "long_excess_annual"] > 0.2
    assert abs(t.loc[("noise", "all"), "ic_mean"]) < 0.05
    assert t.loc[("oracle", "csi300"), "stocks_per_date"] < t.loc[("oracle", "all"), "stocks_per_date"]
