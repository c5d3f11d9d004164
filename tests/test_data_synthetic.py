"""The synthetic market (SPEC §1.4): realistic statistics, planted signals, and none at signal 0."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.data.calendar import rebalance_dates
from etfrot.errors import ConfigError


def test_stock_volatility_and_fat_tails(small_bundle):
    r = small_bundle.returns("stock_bars")
    r = r.loc[:, r.notna().sum() > 250]
    vol = r.std() * np.sqrt(252)
    assert 0.20 <= vol.median() <= 0.50
    assert r.kurt().median() > 3.0  # excess kurtosis


def test_industry_correlation_exceeds_cross_industry(small_bundle):
    r = small_bundle.returns("stock_bars").iloc[-500:]
    r = r.loc[:, r.notna().sum() > 400]
    ind = small_bundle.industry_panel(r.index[-1:]).iloc[0].reindex(r.columns).to_numpy(dtype=object)
    c = r.corr().to_numpy()
    same = ind[:, None] == ind[None, :]
    off = ~np.eye(len(c), dtype=bool)
    assert np.nanmean(c[same & off]) > np.nanmean(c[~same]) + 0.05


def test_total_return_index_beats_price_index(small_bundle):
    px = small_bundle.panel("index_bars", "close")
    info = small_bundle.table("index_info")
    tr = info[info["total_return_of"].notna()]
    assert len(tr) == 3
    for _, row in tr.iterrows():
        ratio = px[row["code"]] / px[row["total_return_of"]]
        assert (ratio >= ratio.iloc[0] - 1e-12).all() and ratio.iloc[-1] > ratio.iloc[0] * 1.01  # dividends add up


def test_market_has_the_promised_pieces(small_bundle):
    b = small_bundle
    bars = b.table("stock_bars")
    assert bars["is_suspended"].any() and bars["is_st"].any() and bars["limit_up"].any() and bars["limit_down"].any()
    assert b.table("stock_info")["delist_date"].notna().any()
    assert b.table("stock_info")["list_date"].gt(b.calendar[0]).any()  # listings during the sample
    etf = b.table("etf_info")
    assert etf["delist_date"].notna().any() and etf["list_date"].gt(b.calendar[60]).any()
    aum = b.panel("etf_bars", "aum").iloc[-1]
    assert (aum < 1e8).any() and (aum > 1e9).any()
    info = b.table("index_info")
    assert set(info["category"]) == {"broad", "industry_theme", "strategy_style"} and (info["region"] == "overseas").any()
    per_index = etf.groupby("tracked_index").size()
    assert per_index.min() >= 1 and per_index.max() <= 4
    f = b.table("fundamentals")
    lag = (f["announce_date"] - f["report_period"]).dt.days
    assert lag.min() >= 15 and lag.max() <= 120
    m = b.table("macro")
    assert set(m["series"]) == {"industrial_profit_yoy", "tsf_yoy", "cpi_yoy", "ppi_yoy"} and (m["release_date"] > m["period"]).all()
    assert b.is_synthetic and b.label == "SYNTHETIC DATA"


def _monthly_rank_ic(b, factor: pd.DataFrame) -> pd.Series:
    px = b.panel("stock_bars", "close", adjusted=True)
    rd = rebalance_dates(b.calendar, "monthly")[3:-1]
    fwd = (px.shift(-20) / px - 1).loc[rd]
    f = factor.loc[rd]
    return f.rank(axis=1).corrwith(fwd.rank(axis=1), axis=1).dropna()


@pytest.mark.parametrize("name", ["flow", "np_yoy"])
def test_planted_signal_present_and_absent_at_zero(small_bundle, null_bundle, name):
    def factor(b):
        if name == "flow":
            return b.panel("flows", "main_net_inflow").rolling(20).sum() / b.panel("stock_bars", "amount").rolling(20).sum()
        return b.fundamentals_panel("np_yoy")

    ic1, ic0 = _monthly_rank_ic(small_bundle, factor(small_bundle)), _monthly_rank_ic(null_bundle, factor(null_bundle))
    t = lambda ic: ic.mean() / ic.std() * np.sqrt(len(ic))  # noqa: E731
    assert ic1.mean() > 0.02 and t(ic1) > 3
    assert abs(t(ic0)) < 3


def test_bad_arguments_are_clear():
    from etfrot.data.synthetic import synthesize

    with pytest.raises(ConfigError, match="unknown synthetic size"):
        synthesize("huge")
    with pytest.raises(ConfigError, match="signal"):
        synthesize("small", signal=-1)
