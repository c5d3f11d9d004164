"""Smoke test of the shipped ``agru_stock_real`` pipeline on the real qlib dump (skips where ../shared/data/real
is absent): 60 stocks (30 CSI 300 + 30 CSI 500 members), one epoch, small net — the split, the per-pool seed 000
tables beside the published figures and the data caveats in the report."""

from __future__ import annotations

import pandas as pd
import pytest

from etfrot.config import read_yaml
from etfrot.data.qlib_import import import_qlib
from etfrot.model.config import load_train_config, set_keys
from etfrot.model.pipeline import train_from_config
from etfrot.model.seed000 import METRICS

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def small_real(real_data, tmp_path_factory):
    dump, members = real_data / "qlib_cn_2014_2022", real_data / "index_membership_qlib"
    if not dump.is_dir() or not (members / "csi500.txt").exists():
        pytest.skip(f"{dump} or {members}/csi500.txt absent")
    cut = pd.Timestamp("2015-01-01")
    codes = []
    for f in (dump / "instruments" / "csi300.txt", members / "csi500.txt"):
        iv = pd.read_csv(f, sep="\t", header=None, names=["code", "start", "end"], parse_dates=["start", "end"])
        long = iv[(iv["start"] <= cut) & (iv["end"] >= pd.Timestamp("2020-12-31"))]["code"].drop_duplicates()
        codes += [c for c in sorted(long) if c not in codes][:30]
    tmp = tmp_path_factory.mktemp("stock_real")
    (tmp / "codes.txt").write_text("\n".join(codes))
    return import_qlib(dump, tmp / "bundle", instruments=str(tmp / "codes.txt"), members=members).bundle, tmp


def test_agru_stock_real_pipeline_on_60_real_stocks(small_real):
    """Scores only in the test years (≥ 2019), a seed-000 row for every model × pool × metric, caveats reported."""
    bundle, tmp = small_real
    raw = set_keys(read_yaml("agru_stock_real"), [
        f"out={tmp / 'run'}", "model.seeds=1", "model.epochs=1", "model.hidden_size=8", "model.train_date_stride=10",
        "model.valid_date_stride=5", "model.device=cpu", "model.num_threads=1", "evaluate.bootstrap=100",
        "checkpoints=false"])
    cfg = load_train_config(raw)
    assert (cfg.split.train_end.isoformat(), cfg.split.valid_end.isoformat()) == ("2017-12-31", "2018-12-31")
    assert cfg.evaluate.pools == ["all", "csi300", "csi500"] and cfg.evaluate.compare == ["gru", "mse"]
    res = train_from_config(bundle, cfg, progress=False)
    for v, sc in res.scores.items():
        scored = sc.index[sc.notna().any(axis=1)]
        assert scored.min() >= pd.Timestamp("2019-01-01") and scored.max() <= pd.Timestamp("2022-12-31"), v
    inf = pd.read_csv(tmp / "run" / "seed000_tables.csv")
    assert len(inf) == 3 * 3 * len(METRICS)
    assert set(inf["pool"]) == {"all", "csi300", "csi500"} and set(inf["model"]) == {"agru", "gru", "mse"}
    pub = inf.set_index(["model", "pool", "metric"])["seed000"]
    assert pub[("agru", "all", "ic_mean")] == 0.1331 and pub[("agru", "csi500", "long_excess_annual")] == 0.1146
    html = res.report.read_text()
    assert "Seed 000 tables" in html and "VWAP absent" in html and "survivorship" in html
    assert "No ST flags" in html


def test_walk_forward_variant_folds_on_the_real_calendar(small_real):
    """agru_stock_real_walk_forward: one fold per test year 2019–2022, each validated on the year before it and
    trained on everything earlier (train ≤ 2017 / valid 2018 for the first, as the fixed split)."""
    from etfrot.model.train import walk_forward_folds

    bundle, _ = small_real
    sp = load_train_config(read_yaml("agru_stock_real_walk_forward")).split
    folds = walk_forward_folds(bundle.calendar, test_start=sp.test_start, valid_years=sp.valid_years,
                               retrain=sp.retrain)
    assert [f[0] for f in folds] == ["2019-01-01", "2020-01-01", "2021-01-01", "2022-01-01"]
    _, train, valid, test = folds[0]
    assert train == (None, pd.Timestamp("2017-12-31")) and valid == (pd.Timestamp("2018-01-01"), pd.Timestamp("2018-12-31"))
    assert folds[-1][2] == (pd.Timestamp("2021-01-01"), pd.Timestamp("2021-12-31"))
    assert test[0] == pd.Timestamp("2019-01-01") and folds[-1][3][1] == bundle.calendar[-1]
