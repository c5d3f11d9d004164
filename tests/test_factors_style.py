"""Style factors of seed 002 by hand: valuation bubble, crowding, reversal, inflation beta (SPEC §2.4)."""

import numpy as np
import pandas as pd
import pytest
from _factor_helpers import IDX_OWN, calendar, make_bundle, tables

from etfrot.data.calendar import rebalance_dates
from etfrot.errors import DataMissingError
from etfrot.factors import compute_factor, list_factors
from etfrot.factors.style import bubble, crowding, reversal, rolling_beta


class Fake:
    """Duck-typed inputs of one code (what a factor function reads)."""

    kind = "index"

    def __init__(self, close, amount=None, pe=None, pb=None):
        self._c, self._a, self._pe, self._pb = close, amount, pe, pb

    def close(self):
        return self._c

    def bars(self, field):
        return self._a

    def returns(self):
        return self._c / self._c.shift(1) - 1

    def valuation(self, field):
        v = self._pe if field == "pe_ttm" else self._pb
        if v is None:
            raise DataMissingError("no valuation")
        return v


def _p(values, name="A"):
    return pd.DataFrame({name: values}, index=pd.bdate_range("2020-01-01", periods=len(values), name="date"))


def test_bubble_is_the_percentile_of_minus_earnings_yield():
    pe = _p([10.0, 12, 8, 15, 9, -5, 11])
    out = bubble(Fake(None, pe=pe), window=5, min_periods=3)["A"]
    assert out.iloc[:2].isna().all()
    assert out.iloc[2] == pytest.approx(1 / 3)  # 8 is the cheapest of 10, 12, 8
    assert out.iloc[3] == pytest.approx(1.0)  # 15 the dearest of 10, 12, 8, 15
    assert out.iloc[5] == pytest.approx(1.0)  # a loss (PE < 0) counts as the most expensive
    assert out.iloc[6] == pytest.approx(3 / 5)  # 11 within 8, 15, 9, −5, 11
    pb = _p([1.0, 2, 3, 4, 5, 6, 1])
    both = bubble(Fake(None, pe=pe, pb=pb), window=5, min_periods=3)["A"]
    assert both.iloc[6] == pytest.approx((3 / 5 + 1 / 5) / 2)  # mean of the two percentiles


def test_crowding_by_hand():
    n = 300
    close = _p(100 * np.cumprod(np.where(np.arange(n) % 2, 1.01, 1 / 1.01)))
    amt = _p(np.where(np.arange(n) >= n - 20, 2.0, 1.0))
    out = crowding(Fake(close, amount=amt), short=20, long=250)["A"]
    r = close["A"].pct_change()
    v = r.iloc[-20:].std() / r.iloc[-250:].std()
    expected = 0.5 * np.log(2.0 / ((230 + 40) / 250)) + 0.5 * np.log(v)
    assert out.iloc[-1] == pytest.approx(expected)
    assert out.iloc[-21] == pytest.approx(0.5 * np.log(r.iloc[-40:-20].std() / r.iloc[-270:-20].std()))


def test_reversal_is_minus_mom20():
    close = _p(np.linspace(10, 20, 30))
    assert reversal(Fake(close))["A"].iloc[-1] == pytest.approx(-(20 / close["A"].iloc[-21] - 1))


def test_rolling_beta_equals_ols_slope():
    rng = np.random.default_rng(1)
    s = pd.Series(rng.normal(size=40))
    r = pd.DataFrame({"A": 0.3 + 2 * s + rng.normal(0, 0.1, 40), "B": -s})
    r.iloc[5, 0] = np.nan
    b = rolling_beta(r, s, window=12, min_periods=8)
    lo, hi = 20, 32
    x, y = s.iloc[lo:hi].to_numpy(), r["A"].iloc[lo:hi].to_numpy()
    assert b["A"].iloc[hi - 1] == pytest.approx(np.polyfit(x, y, 1)[0])
    assert b["B"].iloc[-1] == pytest.approx(-1.0)
    assert b["A"].iloc[:7].isna().all()


def test_inflation_beta_recovers_a_planted_beta_with_release_lags(tmp_path):
    t = tables(420)
    cal = calendar(420)
    me = rebalance_dates(cal, "monthly")
    months = pd.period_range(cal[0].to_period("M") - 3, cal[-1].to_period("M"), freq="M")
    rng = np.random.default_rng(3)
    vals = {s: rng.normal(2, 1, len(months)) for s in ("cpi_yoy", "ppi_yoy")}
    macro = pd.concat([pd.DataFrame({"period": months.to_timestamp(), "series": s, "value": v,
                                     "release_date": (months + 1).to_timestamp() + pd.Timedelta(days=9)})
                       for s, v in vals.items()], ignore_index=True)
    # month-end m knows period m−1 (released on the 10th of m): surprise s_m = mean of Δ(v_{m−1})
    known = {s: pd.Series(v, index=months) for s, v in vals.items()}
    surprise = {}
    for m in me:
        p = m.to_period("M") - 1
        surprise[m] = np.mean([known[s][p] - known[s][p - 1] for s in known])
    # index level jumps only on month ends: r_m = 0.01 + 2·s_m exactly
    level = np.ones(len(cal))
    lv = 1000.0
    for i, d in enumerate(cal):
        if d in surprise and i > 0:
            lv *= 1.01 + 2 * surprise[d] * 0.01
        level[i] = lv
    ib = t["index_bars"].copy()
    sel = ib["code"] == IDX_OWN
    ib.loc[sel, "close"] = level
    ib.loc[sel, ["open", "high", "low"]] = np.column_stack([level, level * 1.01, level * 0.99])
    b = make_bundle(tmp_path / "b", n=420, macro=macro, index_bars=ib)
    beta = compute_factor("inflation_beta", b, "index", codes=[IDX_OWN], window=12, min_periods=8)[IDX_OWN]
    assert beta.dropna().iloc[-1] == pytest.approx(0.02, rel=1e-9)
    assert beta.loc[: me[8]].iloc[:-1].isna().all()  # needs 8 monthly pairs first


def test_every_spec_factor_is_registered_with_a_formula():
    names = {s.name for s in list_factors()}
    spec = {"mom5", "mom20", "mom250", "rsi", "bias", "roe_ttm", "roe_q", "np_yoy", "np_growth_qoq", "roe_growth_qoq",
            "eps_growth_qoq", "net_buy", "net_active_buy", "main_inflow", "dde10", "northbound", "prosperity", "sue",
            "leader", "bubble", "reversal", "mom12_1", "crowding", "inflation_beta"}
    assert spec <= names
    for s in list_factors():
        assert s.formula and ("=" in s.formula or "of the latest" in s.formula), s.name
        assert s.direction in (1, -1) and s.needs and s.category
    assert {s.name for s in list_factors(set_name="seed002")} == {"prosperity", "sue", "leader", "bubble", "reversal",
                                                                 "mom12_1", "crowding", "inflation_beta", "northbound"}
    assert len(list_factors(set_name="seed001")) == 15  # seed 001 table 4
