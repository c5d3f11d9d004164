"""The lot-based engine (SPEC §7 optional realism): whole lots, minimum fee, capital, participation cap.

Properties: it reaches the weight-based engine as capital → ∞; its NAV equals a plain Python loop
(per day, per asset) on a small panel; orders are whole lots; cash never negative; the cap binds.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from etfrot.backtest import run_backtest
from etfrot.backtest.lots import LotRules
from etfrot.errors import ValidationError


def _market(seed=0, days=160, n=6, every=10):
    rng = np.random.default_rng(seed)
    cal = pd.bdate_range("2024-01-01", periods=days, name="date")
    cols = [f"E{i}" for i in range(n)]
    raw = pd.DataFrame(np.exp(np.cumsum(rng.normal(0, 0.012, (days, n)), axis=0)) * rng.uniform(0.8, 6.0, n),
                       index=cal, columns=cols).round(3)
    adj = pd.DataFrame(np.ones((days, n)), index=cal, columns=cols)
    adj.iloc[70:, 1] = 1.02  # a cash dividend of E1: adjusted price = raw × factor
    sig = cal[::every][:-1]
    w = pd.DataFrame(rng.random((len(sig), n)), index=sig, columns=cols)
    w = w.where(w.rank(axis=1) > n - 3, 0.0)
    w = w.div(w.sum(axis=1), axis=0) * 0.98
    return raw, raw * adj, w


def test_lot_engine_reaches_weight_engine_as_capital_grows():
    """At 1e12 CNY (lots and the 5 CNY minimum negligible) the NAV equals the weight engine's to 1e-9,
    with suspensions (frozen holdings), a delisting and next-open execution; at 1e5 it does not."""
    raw, px, w = _market()
    px = px.copy()
    px.iloc[50:56, 2] = np.nan  # suspended
    px.iloc[120:, 4] = np.nan  # delisted (inferred)
    raw = raw.where(px.notna())
    op = px * 0.998
    for execution in ("next_close", "next_open"):
        kw = {"fee": 0.0005, "slippage": 0.0003, "execution": execution, "opens": op}
        a = run_backtest(w, px, **kw)
        b = run_backtest(w, px, **kw, lots=LotRules(capital=1e12, lot_size=100, min_fee=5.0),
                         raw_prices=raw, raw_opens=raw * 0.998)
        np.testing.assert_allclose(b.nav.to_numpy(), a.nav.to_numpy(), rtol=0, atol=1e-9)
        np.testing.assert_allclose(b.rebalances["cost"], a.rebalances["cost"], atol=1e-9)
        small = run_backtest(w, px, **kw, lots=LotRules(capital=1e5, lot_size=100, min_fee=5.0),
                             raw_prices=raw, raw_opens=raw * 0.998)
        assert np.abs(small.nav.to_numpy() - a.nav.to_numpy()).max() > 1e-4
    assert list(b.delistings["code"]) == ["E4"] and b.lot_settings["capital"] == 1e12
    assert (b.lots.loc[b.lots.index > px.index[120], "E4"] == 0).all()


def _hand_loop(w, raw, px, capital, lot, fee, min_fee):
    """A plain loop over days and assets: signal t → trade at the close of t+1; floors then largest remainder."""
    cal, cols = px.index, list(px.columns)
    shares = dict.fromkeys(cols, 0.0)
    units = dict.fromkeys(cols, 0.0)  # adjusted units (value = units × adjusted price)
    cash = capital
    sig = {cal.get_loc(d) + 1: w.loc[d] for d in w.index}
    nav = []
    start = cal.get_loc(w.index[0])
    for t in range(start, len(cal)):
        if t in sig:
            tw = sig[t]
            value = {c: units[c] * px.iloc[t][c] for c in cols}
            V = sum(value.values()) + cash
            cur = {c: value[c] / raw.iloc[t][c] for c in cols}

            def cost(n_sh, price):
                v = abs(n_sh) * price
                return 0.0 if n_sh == 0 else max(min_fee, fee * v)

            k = 1.0
            for _ in range(200):
                est = sum(cost(tw[c] * V * k / raw.iloc[t][c] - cur[c], raw.iloc[t][c]) for c in cols)
                k = 1.0 - est / V
            order, rem = {}, {}
            for c in cols:
                ideal = tw[c] * V * k / raw.iloc[t][c] - cur[c]
                if tw[c] == 0 and cur[c] > 0:
                    order[c] = -cur[c]
                    continue
                lots = math.floor(ideal / lot + 1e-9)
                order[c] = max(lots * lot, -cur[c])
                rem[c] = ideal / lot - lots
            flow = cash
            for c in cols:
                flow -= order[c] * raw.iloc[t][c] + cost(order[c], raw.iloc[t][c])
            for c in sorted((c for c in rem if rem[c] > 1e-9), key=lambda c: -rem[c]):
                p = raw.iloc[t][c]
                need = lot * p + cost(order[c] + lot, p) - cost(order[c], p)
                if need > flow:
                    break
                order[c] += lot
                flow -= need
            assert flow >= 0
            cash = flow
            for c in cols:
                shares[c] = cur[c] + order[c]
                units[c] = shares[c] * raw.iloc[t][c] / px.iloc[t][c]
        nav.append((sum(units[c] * px.iloc[t][c] for c in cols) + cash) / capital)
    return np.array(nav), shares


def test_lot_nav_equals_a_plain_loop_on_a_small_panel():
    raw, px, w = _market(seed=1, days=90, n=4)
    rules = LotRules(capital=150_000.0, lot_size=100, min_fee=5.0)
    r = run_backtest(w, px, fee=0.0003, lots=rules, raw_prices=raw, delisted=None)
    nav, shares = _hand_loop(w, raw, px, rules.capital, 100, 0.0003, 5.0)
    np.testing.assert_allclose(r.nav.to_numpy(), nav, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.lots.iloc[-1].to_numpy(), [shares[c] for c in r.lots.columns], atol=1e-9)
    traded = r.trades[r.trades["status"] == "traded"]
    odd = traded["shares"] % 100 != 0  # only an order that closes a position may be an odd lot
    assert odd.any() and (traded.loc[odd, "shares_to"].abs() < 1e-9).all()
    assert (r.rebalances["cash_after"] >= 0).all()
    assert (traded["fee_cny"] >= 5.0 - 1e-12).all()


def test_participation_cap_limits_each_order():
    """Amount 10,000 CNY/day and max_participation 0.1 ⇒ no order above 1,000 CNY (whole lots at price ~1–6)."""
    raw, px, w = _market(seed=2, days=80, n=4)
    amount = pd.DataFrame(10_000.0, index=px.index, columns=px.columns)
    r = run_backtest(w, px, fee=0.0003, raw_prices=raw, amount=amount, delisted=None,
                     lots=LotRules(capital=1e6, lot_size=100, max_participation=0.1))
    t = r.trades[r.trades["status"] == "traded"]
    assert (t["value"].abs() <= 1_000.0 + 1e-9).all()
    assert r.rebalances["cash_after"].iloc[0] > 0.99  # almost everything stays in cash


def test_lot_rules_and_missing_raw_price_errors():
    with pytest.raises(ValidationError, match="lot_size"):
        LotRules(lot_size=0)
    with pytest.raises(ValidationError, match="capital"):
        LotRules(capital=-1.0)
    raw, px, w = _market(seed=3, days=40, n=3)
    raw = raw.copy()
    raw.iloc[11, 0] = np.nan
    with pytest.raises(ValidationError, match="raw"):
        run_backtest(w, px, raw_prices=raw, lots=LotRules(), delisted=None)


def test_lot_result_saves_and_loads(tmp_path):
    raw, px, w = _market(seed=4, days=60, n=3)
    r = run_backtest(w, px, raw_prices=raw, lots=LotRules(capital=2e5, min_fee=5.0), delisted=None)
    r.save(tmp_path / "res")
    from etfrot.backtest import Result

    s = Result.load(tmp_path / "res")
    pd.testing.assert_frame_equal(s.lots, r.lots, check_names=False, check_freq=False)
    assert s.lot_settings["min_fee"] == 5.0
    np.testing.assert_allclose(s.weights.to_numpy(), r.weights.to_numpy())


# --------------------------------------------------------------------------------------- config
def test_config_execution_mapping_and_errors():
    from etfrot.config import BacktestConfig, load_config
    from etfrot.errors import ConfigError

    assert load_config({"execution": "next_open"}, BacktestConfig).execution.price == "next_open"
    c = load_config({"execution": {"price": "next_close", "lot_size": 100, "max_participation": 0.2},
                     "costs": {"min_fee": 5.0}, "capital": 1e5}, BacktestConfig)
    assert c.lot_rules() == LotRules(capital=1e5, lot_size=100, min_fee=5.0, max_participation=0.2)
    assert load_config({}, BacktestConfig).lot_rules() is None
    with pytest.raises(ConfigError, match="set execution.lot_size"):
        load_config({"costs": {"min_fee": 5.0}}, BacktestConfig)
    with pytest.raises(ConfigError, match="max_participation"):
        load_config({"execution": {"max_participation": 0.2}}, BacktestConfig)
    with pytest.raises(ConfigError, match="unknown key 'execution.lots'"):
        load_config({"execution": {"lots": 100}}, BacktestConfig)


def test_config_runner_with_lots_on_the_synthetic_bundle(small_bundle):
    """Same weights through both engines: the lot run holds whole lots of raw-priced shares and keeps cash."""
    from etfrot.strategies import runner

    base = {"bundle": str(small_bundle.path), "universe": {"kind": "etf", "min_aum": None},
            "selection": {"method": "top_n", "n": 5}, "report": {"bootstrap": 50}}
    cfg = runner.validate_config({**base, "execution": {"lot_size": 100}, "costs": {"min_fee": 5.0}, "capital": 3e5})
    w, _scores, _mask, inst = runner.build_weights(small_bundle, cfg)
    a = runner.backtest_weights(runner.validate_config(base), w, inst, None)
    b = runner.backtest_weights(cfg, w, inst, None)
    assert a.lots is None and b.lots is not None
    t = b.trades[b.trades["status"] == "traded"]
    raw = inst.raw_prices
    np.testing.assert_allclose(t["price"], [raw.at[d, c] for d, c in zip(t["exec_date"], t["code"])])
    assert (b.rebalances["cash_after"] > 0).all() and (b.rebalances["cash_after"] < 0.05).all()
    assert 0 < np.abs(a.nav - b.nav).max() < 0.05
    with pytest.raises(Exception, match="index levels"):
        runner.backtest_weights(cfg, w, runner.Instruments("index", inst.prices, None, None, None, inst.names), None)
