"""Benchmarks (SPEC §7): index / total-return index, equal weight of a universe, industry equal weight."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.backtest.benchmarks import (
    benchmark_nav,
    equal_weight_nav,
    index_nav,
    industry_equal_weight_nav,
    total_return_code,
)
from etfrot.errors import DataMissingError


def test_equal_weight_daily_by_hand_with_a_gap_and_eligibility():
    idx = pd.bdate_range("2024-01-01", periods=4, name="date")
    px = pd.DataFrame({"A": [10, 11, 11, 12.1], "B": [10, 10, 9, 9.9], "C": [5, 50, 500, 5000.0]}, index=idx)
    elig = pd.DataFrame({"A": True, "B": True, "C": False}, index=idx)
    nav = equal_weight_nav(px, elig)
    # day returns: (.1 + 0)/2, (0 − .1)/2, (.1 + .1)/2
    np.testing.assert_allclose(nav.to_numpy(), np.cumprod([1, 1.05, 0.95, 1.1]))
    px.loc[idx[2], "B"] = np.nan  # B without a price on day 2: day 3 counts its move since day 1
    nav = equal_weight_nav(px, elig)
    np.testing.assert_allclose(nav.to_numpy(), np.cumprod([1, 1.05, 1.0, 1 + (0.1 + (9.9 / 10 - 1)) / 2]))


def test_equal_weight_weekly_drifts_between_rebalances():
    idx = pd.bdate_range("2024-01-01", periods=10, name="date")  # Mon 1 Jan … Fri 12 Jan
    a = np.array([10, 11, 12, 13, 14, 14, 15, 16, 17, 18.0])
    b = np.array([10, 10, 10, 10, 10, 12, 12, 12, 12, 12.0])
    nav = equal_weight_nav(pd.DataFrame({"A": a, "B": b}, index=idx), rebalance="weekly")
    first = 0.5 * a[:5] / a[0] + 0.5 * b[:5] / b[0]  # set on day 0, drifts to Friday 5 Jan, reset there
    second = first[-1] * (0.5 * a[5:] / a[4] + 0.5 * b[5:] / b[4])
    np.testing.assert_allclose(nav.to_numpy(), np.concatenate([first, second]), atol=1e-14)


def test_total_return_index_is_found_by_total_return_of(small_bundle):
    code = total_return_code(small_bundle, "000300.SH")
    info = small_bundle.info("index")
    assert info.loc[code, "total_return_of"] == "000300.SH"
    nav = benchmark_nav(small_bundle, "total_return", "000300.SH")
    px = small_bundle.panel("index_bars", "close")[code]
    pd.testing.assert_series_equal(nav, px.rename(code))
    # the total-return index beats its price index (dividends)
    price = index_nav(small_bundle, "000300.SH").dropna()
    assert nav.dropna().iloc[-1] / nav.dropna().iloc[0] > price.iloc[-1] / price.iloc[0]
    with pytest.raises(DataMissingError, match="no total-return index of '801010.SI'"):
        total_return_code(small_bundle, "801010.SI")
    with pytest.raises(DataMissingError, match="neither in 'index_info' nor in 'etf_info'"):
        index_nav(small_bundle, "999999.SH")


def test_etf_benchmark_is_its_adjusted_close(small_bundle):
    code = small_bundle.table("etf_info")["code"].iloc[0]
    pd.testing.assert_series_equal(index_nav(small_bundle, code),
                                   small_bundle.panel("etf_bars", "close", adjusted=True)[code].rename(code))


def test_industry_equal_weight_from_indices_matches_pandas(small_bundle):
    info = small_bundle.table("index_info")
    codes = info.loc[(info["category"] == "industry_theme") & (info["region"] == "cn"), "code"]
    px = small_bundle.panel("index_bars", "close")[list(codes)]
    expect = (1 + px.pct_change(fill_method=None).mean(axis=1).fillna(0)).cumprod()
    nav = industry_equal_weight_nav(small_bundle, "index")
    np.testing.assert_allclose(nav.to_numpy(), (expect / expect.iloc[0]).to_numpy(), rtol=1e-12)


def test_industry_equal_weight_from_sw_stocks_matches_groupby(small_bundle):
    nav = industry_equal_weight_nav(small_bundle, "sw")
    r = small_bundle.returns("stock_bars")
    ind = small_bundle.industry_panel(r.index).reindex(columns=r.columns).shift(1)
    long = pd.DataFrame({"r": r.stack(future_stack=True), "ind": ind.stack(future_stack=True)}).dropna()
    daily = long.groupby([long.index.get_level_values(0), "ind"])["r"].mean().groupby(level=0).mean()
    expect = (1 + daily.reindex(r.index).fillna(0)).cumprod()
    np.testing.assert_allclose(nav.to_numpy(), (expect / expect.iloc[0]).to_numpy(), rtol=1e-10)
