"""Selected indices held as an investor can hold them (``universe.hold_etf``, issue 12 item 4): through their ETF
where one passes the screen, else their total-return index, else the price index — with the price share stated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.errors import ConfigError
from etfrot.strategies import agru_index_rotation as air
from etfrot.strategies import index_holdings as ih


def test_holders_fill_gaps_with_the_total_return_index_then_the_index(small_bundle):
    """000300.SH without an ETF → its total-return index H00300.CSI (index_info.total_return_of); 801010.SI (no
    total-return series) → itself; a listed ETF stays."""
    d = pd.DatetimeIndex(["2016-01-04"])
    e = pd.DataFrame({"000300.SH": [None], "801010.SI": [None], "801020.SI": ["512000.SH"]}, index=d, dtype=object)
    h = ih.holders(small_bundle, e)
    assert h.iloc[0].tolist() == ["H00300.CSI", "801010.SI", "512000.SH"]


def test_held_instruments_price_each_code_from_its_own_table(small_bundle):
    """ETFs at their adjusted closes with their listed flags, indices at their levels."""
    etf = small_bundle.table("etf_info")["code"].iloc[0]
    inst = ih.held_instruments(small_bundle, [etf, "H00300.CSI", "801010.SI"])
    pd.testing.assert_series_equal(inst.prices[etf], small_bundle.panel("etf_bars", "close", adjusted=True)[etf])
    pd.testing.assert_series_equal(inst.prices["801010.SI"], small_bundle.panel("index_bars", "close")["801010.SI"])
    assert inst.tradable[etf].equals(small_bundle.listed("etf", inst.prices.index)[etf])
    with pytest.raises(Exception, match="neither in etf_info nor in index_info"):
        ih.held_instruments(small_bundle, ["NOPE.XX"])


def test_price_index_share_on_a_hand_case(small_bundle):
    etf = small_bundle.table("etf_info")["code"].iloc[0]
    w = pd.DataFrame({etf: [0.5, 1.0], "801010.SI": [0.25, 0.0], "H00300.CSI": [0.25, 0.0]},
                     index=pd.DatetimeIndex(["2016-01-04", "2016-01-11"]))
    assert ih.price_index_share(small_bundle, w) == pytest.approx(0.125)  # mean of 0.25 and 0
    assert "ETFs 75%, total-return indices 12%, price indices 12%" in ih.held_mix(small_bundle, w)


def test_hold_etf_needs_kind_index():
    with pytest.raises(ConfigError, match="hold_etf"):
        air.validate_config({"strategy": "agru_index_rotation", "universe": {"kind": "etf", "hold_etf": True}})


def test_a_hold_etf_run_holds_the_etf_exactly_where_the_screen_has_one(small_bundle, tmp_path):
    """End to end on the small synthetic market with a scores file: every held code on every signal date is the
    screen's ETF of a selected index when the screen has one that day, else its total-return index or the index
    itself; the summary states the mix and, when price indices were held, their dividend gap."""
    from etfrot.universe.screen import screen_etfs

    px = small_bundle.panel("stock_bars", "close", adjusted=True)
    scores = pd.DataFrame(np.random.default_rng(1).normal(size=px.shape), index=px.index, columns=px.columns)
    scores.loc["2015-01-01":].to_parquet(tmp_path / "s.parquet")
    cats = ["broad", "industry_theme"]
    cfg = {"strategy": "agru_index_rotation", "name": "tiny",
           "stock_model": {"scores_path": str(tmp_path / "s.parquet"), "cache_dir": None, "evaluate": None},
           "universe": {"kind": "index", "hold_etf": True, "categories": cats, "min_aum": None,
                        "min_listed_months": None},
           "selection": {"method": "top_quantile", "quantile": 0.3}, "report": {"bootstrap": 50}}
    res, sections = air.run(small_bundle, cfg)
    t = res.targets
    scr = screen_etfs(small_bundle, t.index, categories=tuple(cats), min_aum=None, min_listed_months=None,
                      one_per_index=True).etf_for_index
    tracked = small_bundle.table("etf_info").set_index("code")["tracked_index"].astype(str)
    tr_of = small_bundle.table("index_info").dropna(subset=["total_return_of"]).set_index("code")["total_return_of"]
    kinds = set()
    for day, row in t.iterrows():
        for code in row.index[row.to_numpy() > 0]:
            if code in tracked.index:  # an ETF: the screen's choice for its index on that day
                assert scr.loc[day, tracked[code]] == code
                kinds.add("etf")
            else:  # an index (or its total-return series): the screen had no ETF for it that day
                index = tr_of.get(code, code)
                assert pd.isna(scr.loc[day, index]) if index in scr.columns else True
                kinds.add("price" if code not in tr_of.index else "total_return")
    assert "etf" in kinds and "price" in kinds  # the case exercises both branches
    text = sections[0].text
    assert "universe.hold_etf; mean weight in ETFs" in text
    assert text.startswith("PRICE INDICES vs a TOTAL-RETURN benchmark") and "of the strategy's weight" in text


def test_weight_set_table_on_a_hand_case(small_bundle):
    """First / last date with a coverage, their count and the median coverage per index; indices never covered
    are left out."""
    d = pd.date_range("2020-01-03", periods=4, freq="W-FRI")
    cov = pd.DataFrame({"000300.SH": [np.nan, 0.9, 0.95, np.nan], "000905.SH": [0.8, 0.85, np.nan, np.nan],
                        "801010.SI": [np.nan] * 4}, index=d)
    t = ih.weight_set_table(small_bundle, cov)
    assert t["index"].tolist() == ["000300.SH", "000905.SH"]
    assert t["first"].tolist() == [d[1], d[0]] and t["last"].tolist() == [d[2], d[1]]
    assert t["dates"].tolist() == [2, 2] and t["coverage"].tolist() == pytest.approx([0.925, 0.825])
    assert ih.weight_sets(t).startswith("broad (2, median coverage 88%): 000300.SH 2020-01-10 → 2020-01-17")


def test_min_indices_counts_thin_rebalances_as_unscored(small_bundle, tmp_path):
    """The synthetic market's three broad indices with weights: min_indices 3 runs, and its summary names no thin
    rebalance; min_indices 4 leaves every rebalance unscored, so nothing is ever selected (a clear error)."""
    from etfrot.errors import DataMissingError

    px = small_bundle.panel("stock_bars", "close", adjusted=True)
    scores = pd.DataFrame(np.random.default_rng(2).normal(size=px.shape), index=px.index, columns=px.columns)
    scores.loc["2015-01-01":].to_parquet(tmp_path / "s.parquet")

    def cfg(k):
        return {"strategy": "agru_index_rotation", "name": "tiny",
                "stock_model": {"scores_path": str(tmp_path / "s.parquet"), "cache_dir": None, "evaluate": None},
                "universe": {"kind": "index", "hold_etf": True, "categories": ["broad"], "min_aum": None,
                             "min_listed_months": None},
                "selection": {"method": "top_n", "n": 1}, "index_factor": {"min_indices": k, "quantiles": 3,
                                                                          "test_universes": ["all"]},
                "report": {"bootstrap": 50}}

    res, sections = air.run(small_bundle, cfg(3))
    assert "min_indices" not in sections[0].text and len(res.targets) > 50
    with pytest.raises(DataMissingError, match="no index was selected"):
        air.run(small_bundle, cfg(4))
