"""Incremental trailing correlation equals pandas' pairwise-complete corr; point-in-time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.data.calendar import rebalance_dates
from etfrot.errors import ConfigError
from etfrot.portfolio.correlation import TrailingCorrelation, trailing_corr


def _returns(T=700, N=12, seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2015-01-01", periods=T, name="date")
    x = 0.01 * (rng.standard_normal((T, 2)) @ rng.standard_normal((2, N)) + rng.standard_normal((T, N)))
    r = pd.DataFrame(x, index=idx, columns=[f"C{i}" for i in range(N)])
    r.iloc[:400, 0] = np.nan  # a young index
    r.iloc[rng.random((T, N)) < 0.03] = np.nan  # scattered missing days
    r.iloc[:, 1] = np.where(np.arange(T) > 650, np.nan, r.iloc[:, 1])  # stops trading
    return r


def test_incremental_matches_pandas_over_weekly_steps():
    r = _returns()
    window, mo = 250, 120
    tc = TrailingCorrelation(r, window=window, min_overlap=mo, refresh_every=1000)
    dates = rebalance_dates(r.index, "weekly")[10:]
    for d in dates:
        got = tc.at(d)
        ref = r.loc[:d].iloc[-window:].corr(min_periods=mo)
        np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), atol=1e-10, equal_nan=True)
    assert tc.rebuilds == 1  # one full pass, then only incremental updates
    sub = tc.at(dates[-1], ["C5", "C0", "C3"])
    ref = r.loc[: dates[-1]].iloc[-window:][["C5", "C0", "C3"]].corr(min_periods=mo)
    np.testing.assert_allclose(sub.to_numpy(), ref.to_numpy(), atol=1e-10, equal_nan=True)


def test_min_overlap_gives_nan_and_backward_jump_rebuilds():
    r = _returns()
    d = r.index[450]  # C0 has ~50 days of data
    c = trailing_corr(r, d, window=250, min_overlap=120)
    assert np.isnan(c.loc["C0", "C2"]) and np.isfinite(c.loc["C2", "C3"])
    tc = TrailingCorrelation(r, window=250, min_overlap=120)
    a = tc.at(r.index[600])
    b = tc.at(r.index[500])  # backward: rebuilt, still exact
    np.testing.assert_allclose(b.to_numpy(), trailing_corr(r, r.index[500], window=250, min_overlap=120).to_numpy(),
                               atol=1e-12, equal_nan=True)
    assert a.shape == b.shape
    with pytest.raises(ConfigError):
        TrailingCorrelation(r, window=100, min_overlap=200)


def test_future_returns_do_not_change_past_correlation():
    r = _returns()
    d = r.index[500]
    base = trailing_corr(r, d, window=250, min_overlap=120)
    r2 = r.copy()
    r2.loc[r2.index > d] = 0.5  # anything after d
    np.testing.assert_array_equal(trailing_corr(r2, d, window=250, min_overlap=120).to_numpy(), base.to_numpy())
