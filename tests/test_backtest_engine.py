"""The backtest engine on hand-sized cases with answers worked by hand (SPEC §7, seed 000 §4).

Conventions under test: signal at the close of t, trade at the close of t+1 (default); costs per side
on traded value, self-financing: k = V_post/V_pre solves k = 1 − c·Σ|x·k − w_pre|.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.backtest import run_backtest
from etfrot.errors import ValidationError

CAL = pd.bdate_range("2024-01-01", periods=8, name="date")


def panel(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    return pd.DataFrame({k: np.asarray(v, float) for k, v in cols.items()}, index=CAL[:n])


def targets(rows: dict) -> pd.DataFrame:
    return pd.DataFrame.from_dict({CAL[i]: w for i, w in rows.items()}, orient="index").fillna(0.0).sort_index()


# --------------------------------------------------------------------------------------- hand-worked
def test_buy_and_hold_one_asset_next_close():
    px = panel(A=[10, 11, 12, 9, 10])
    c = 0.0005
    r = run_backtest(targets({0: {"A": 1.0}}), px, fee=c)
    k = 1 / (1 + c)  # buy everything at the close of day 1: k = 1 − c·k
    expect = [1.0, k, k * 12 / 11, k * 9 / 11, k * 10 / 11]
    np.testing.assert_allclose(r.nav.to_numpy(), expect, rtol=0, atol=1e-15)
    assert r.trades["exec_date"].tolist() == [CAL[1]]
    assert r.trades["cost"].iloc[0] == pytest.approx(c * k, abs=1e-15)
    assert r.weights["A"].tolist() == [0.0, 1.0, 1.0, 1.0, 1.0]
    assert r.rebalances["turnover"].iloc[0] == pytest.approx(0.5 * k)


def test_buy_and_hold_next_open_and_same_close():
    px = panel(A=[10, 11, 12, 9])
    op = panel(A=[10, 10.5, 11.5, 10])
    r = run_backtest(targets({0: {"A": 1.0}}), px, opens=op, execution="next_open", fee=0.0)
    np.testing.assert_allclose(r.nav.to_numpy(), [1, 11 / 10.5, 12 / 10.5, 9 / 10.5], atol=1e-15)
    r = run_backtest(targets({0: {"A": 1.0}}), px, execution="same_close", fee=0.0)
    np.testing.assert_allclose(r.nav.to_numpy(), [1, 1.1, 1.2, 0.9], atol=1e-15)


def test_two_asset_rebalance_with_costs():
    # day 0: signal all-in A; day 2: signal 50/50 A,B; executions at the close of days 1 and 3.
    px = panel(A=[10, 10, 12, 12, 15, 15], B=[20, 20, 20, 25, 25, 20])
    c = 0.001
    r = run_backtest(targets({0: {"A": 1.0}, 2: {"A": 0.5, "B": 0.5}}), px, fee=c)
    k1 = 1 / (1 + c)
    # day 3: w_pre = (1, 0); k = 1 − c(|.5k − 1| + .5k) = 1 − c  (since .5k < 1)
    k2 = 1 - c
    v3 = k1 * 12 / 10 * k2
    v4 = v3 * (0.5 * 15 / 12 + 0.5)
    v5 = v3 * (0.5 * 15 / 12 + 0.5 * 20 / 25)
    np.testing.assert_allclose(r.nav.to_numpy(), [1, k1, k1 * 1.2, v3, v4, v5], atol=1e-14)
    t = r.trades[r.trades["exec_date"] == CAL[3]].set_index("code")
    assert t.loc["A", "traded"] == pytest.approx(1 - 0.5 * k2, abs=1e-15)
    assert t.loc["B", "traded"] == pytest.approx(0.5 * k2, abs=1e-15)
    assert r.rebalances["cost"].iloc[1] == pytest.approx(c, abs=1e-15)  # c × (sold + bought) = c × 1
    assert t["w_to"].tolist() == [0.5, 0.5]


def test_suspended_asset_keeps_its_weight_and_trade_is_reported():
    # Hold A and B 50/50 (bought at the close of day 1, no costs). Signal day 2: all into C.
    # B has no price on day 3 (suspended): B cannot be sold, A is sold, C gets the rest.
    px = panel(A=[10, 10, 12, 12, 12], B=[10, 10, 10, np.nan, 10], C=[5, 5, 5, 5, 6])
    r = run_backtest(targets({0: {"A": 0.5, "B": 0.5}, 2: {"C": 1.0}}), px, fee=0.0)
    v3 = 0.5 * 1.2 + 0.5  # = 1.1
    wb = 0.5 / 1.1
    np.testing.assert_allclose(r.nav.to_numpy(), [1, 1, 1.1, v3, v3 * ((1 - wb) * 6 / 5 + wb)], atol=1e-15)
    w3 = r.weights.loc[CAL[3]]
    assert w3["A"] == 0 and w3["B"] == pytest.approx(wb) and w3["C"] == pytest.approx(1 - wb)
    sk = r.skipped
    assert sk["code"].tolist() == ["B"] and sk["status"].tolist() == ["skipped: no price"]
    assert sk["w_from"].iloc[0] == pytest.approx(wb) and sk["w_to"].iloc[0] == pytest.approx(wb)
    assert r.rebalances["n_skipped"].tolist() == [0, 1]


def test_not_tradable_flag_and_skipped_buy_goes_to_cash_with_costs():
    # B has prices but is flagged not tradable on day 1 (e.g. limit-locked): the buy of B is skipped,
    # A gets its target, the unspent half stays cash. Costs only on what was traded.
    px = panel(A=[10, 10, 11, 11], B=[10, 10, 20, 20])
    tr = pd.DataFrame(True, index=px.index, columns=px.columns)
    tr.loc[CAL[1], "B"] = False
    c = 0.0005
    r = run_backtest(targets({0: {"A": 0.5, "B": 0.5}}), px, fee=c, tradable=tr)
    k = 1 / (1 + 0.5 * c)  # k = 1 − c·|0.5k|
    np.testing.assert_allclose(r.nav.to_numpy(), [1, k, k * (0.5 * 1.1 + 0.5), k * (0.5 * 1.1 + 0.5)], atol=1e-15)
    assert r.skipped["status"].tolist() == ["skipped: not tradable"]
    assert r.rebalances["cash_after"].iloc[0] == pytest.approx(0.5)


def test_frozen_holding_scales_tradable_targets_and_is_sold_later():
    # Hold A 100 %; signal day 2: B 60 %, C 40 %, A 0 — A is suspended on day 3 (frozen at its weight w_A),
    # so B and C are scaled by (1 − w_A); on day 5 A trades again and the targets are reached.
    px = panel(A=[10, 10, 10, np.nan, 10, 10, 10], B=[10] * 7, C=[10] * 7)
    w = targets({0: {"A": 1.0}, 2: {"B": 0.6, "C": 0.4}, 4: {"B": 0.6, "C": 0.4}})
    r = run_backtest(w, px, fee=0.0)
    w3 = r.weights.loc[CAL[3]]
    assert w3["A"] == 1.0 and w3["B"] == 0.0 and w3["C"] == 0.0  # nothing to spend: A is all there is
    w5 = r.weights.loc[CAL[5]]
    assert w5["A"] == 0.0 and w5["B"] == pytest.approx(0.6) and w5["C"] == pytest.approx(0.4)
    # partial freeze: A and B held 50/50, then A suspended while the target is C 100 %.
    px2 = panel(A=[10, 10, 10, np.nan, 10, 10], B=[10] * 6, C=[10] * 6)
    r2 = run_backtest(targets({0: {"A": 0.5, "B": 0.5}, 2: {"B": 0.5, "C": 0.5}}), px2, fee=0.0)
    w3 = r2.weights.loc[CAL[3]]
    assert (w3["A"], w3["B"], w3["C"]) == pytest.approx((0.5, 0.25, 0.25))  # (B, C) scaled by 0.5 / 1.0


def test_delisting_paid_out_at_last_price_and_redeployed():
    # A is held; its last price is day 3 (delisted from day 4). NAV stays at A's last price; on the
    # next execution (day 5) the cash is spent on B without a cost on the payout.
    px = panel(A=[10, 10, 10, 11, np.nan, np.nan, np.nan], B=[10, 10, 10, 10, 10, 10, 12])
    c = 0.001
    r = run_backtest(targets({0: {"A": 1.0}, 4: {"A": 0.5, "B": 0.5}}), px, fee=c)
    k1 = 1 / (1 + c)
    v = k1 * 1.1
    k2 = 1 / (1 + 0.5 * c)  # only B's purchase is traded: k = 1 − c·0.5k
    np.testing.assert_allclose(r.nav.to_numpy(), [1, k1, k1, v, v, v * k2, v * k2 * (0.5 * 1.2 + 0.5)], atol=1e-15)
    d = r.delistings
    assert d["code"].tolist() == ["A"] and d["last_price_date"].tolist() == [CAL[3]] and d["weight"].iloc[0] == pytest.approx(1.0)
    assert r.weights.loc[CAL[4], "A"] == 0.0 and r.cash.loc[CAL[4]] == pytest.approx(1.0)
    st = dict(zip(r.trades["code"] + "@" + r.trades["exec_date"].dt.strftime("%d"), r.trades["status"]))
    assert st["A@08"] == "delisted: paid out at last price"


def test_explicit_delist_date_ignores_later_prices():
    px = panel(A=[10, 10, 11, 12, 13], B=[10] * 5)
    r = run_backtest(targets({0: {"A": 1.0}}), px, fee=0.0, delisted=pd.Series({"A": CAL[3]}))
    np.testing.assert_allclose(r.nav.to_numpy(), [1, 1, 1.1, 1.1, 1.1])
    # with inference, A is still listed (it has prices to the end)
    r = run_backtest(targets({0: {"A": 1.0}}), px, fee=0.0)
    np.testing.assert_allclose(r.nav.to_numpy(), [1, 1, 1.1, 1.2, 1.3])


def test_signal_on_last_day_is_pending_and_jump_on_execution_day_is_not_earned():
    px = panel(A=[10, 10, 20, 20], B=[10, 10, 10, 10])
    r = run_backtest(targets({1: {"A": 1.0}, 3: {"B": 1.0}}), px, fee=0.0)
    assert list(r.pending) == [CAL[3]]
    # bought A at the close of day 2, after its jump: NAV does not include the +100 %
    np.testing.assert_allclose(r.nav.to_numpy(), [1, 1, 1])


def test_benchmark_normalised_and_relative_nav():
    px = panel(A=[10, 11, 12, 13])
    bench = pd.Series([100, 110, 110, 120.0], index=CAL[:4], name="IDX")
    r = run_backtest(targets({0: {"A": 1.0}}), px, fee=0.0, benchmark=bench)
    np.testing.assert_allclose(r.benchmark_nav.to_numpy(), [1, 1.1, 1.1, 1.2])
    # bought at the close of day 1 (11): NAV = 1, 1, 12/11, 13/11
    np.testing.assert_allclose(r.relative_nav().to_numpy(), [1, 1 / 1.1, 12 / 11 / 1.1, 13 / 11 / 1.2])
    assert r.benchmark_name == "IDX"
    rets = bench.pct_change().fillna(0.0)
    r2 = run_backtest(targets({0: {"A": 1.0}}), px, fee=0.0, benchmark=rets, benchmark_is_returns=True)
    np.testing.assert_allclose(r2.benchmark_nav.to_numpy(), r.benchmark_nav.to_numpy())
    with pytest.raises(ValidationError, match="not returns"):
        run_backtest(targets({0: {"A": 1.0}}), px, benchmark=rets - 0.05)


# --------------------------------------------------------------------------------------- vs an independent loop
def _plain_loop(prices: pd.DataFrame, weights: pd.DataFrame, fee: float) -> pd.Series:
    """Reference: a day-by-day account in plain pandas (units + cash), trading at the next close."""
    units = pd.Series(0.0, index=prices.columns)
    cash = 1.0
    nav = []
    pending = None
    for d in prices.index:
        p = prices.loc[d]
        if pending is not None:
            value = cash + (units * p).sum()
            w_pre = units * p / value
            k = 1.0
            for _ in range(200):
                k = 1 - fee * (pending * k - w_pre).abs().sum()
            units = pending * k * value / p
            cash = k * value - (pending * k * value).sum()
            pending = None
        nav.append(cash + (units * p).sum())
        if d in weights.index:
            pending = weights.loc[d].reindex(prices.columns).fillna(0.0)
    return pd.Series(nav, index=prices.index)


def test_equal_weight_weekly_matches_plain_pandas_loop():
    from etfrot.data.calendar import rebalance_dates

    rng = np.random.default_rng(3)
    cal = pd.bdate_range("2020-01-01", periods=260, name="date")
    px = pd.DataFrame(np.exp(np.cumsum(rng.normal(0, 0.02, (260, 12)), axis=0)) * 10, index=cal,
                      columns=[f"E{i:02d}" for i in range(12)])
    rd = rebalance_dates(cal, "weekly")[:-1]
    mom = px.pct_change(5).reindex(rd)
    w = (mom.rank(axis=1, ascending=False) <= 4).astype(float) / 4
    w.iloc[:2] = 1 / 12  # first weeks: equal weight of all
    r = run_backtest(w, px, fee=0.0005)
    ref = _plain_loop(px.loc[rd[0]:], w, 0.0005)
    np.testing.assert_allclose(r.nav.to_numpy(), ref.to_numpy(), rtol=0, atol=1e-10)


def test_vectorised_path_equals_sequential_path_with_suspensions_and_delistings():
    rng = np.random.default_rng(7)
    cal = pd.bdate_range("2021-01-01", periods=300, name="date")
    px = pd.DataFrame(np.exp(np.cumsum(rng.normal(0, 0.02, (300, 15)), axis=0)), index=cal, columns=list("ABCDEFGHIJKLMNO"))
    px = px.mask(rng.random(px.shape) < 0.08)  # 8 % of days without a price
    px.iloc[200:, 3] = np.nan  # D delisted
    px.iloc[:50, 5] = np.nan  # F listed late
    tr = pd.DataFrame(rng.random(px.shape) > 0.05, index=cal, columns=px.columns)
    rd = cal[::5]
    w = pd.DataFrame(rng.random((len(rd), 15)), index=rd, columns=px.columns)
    w = w.where(w.rank(axis=1) > 10, 0.0)
    w = w.div(w.sum(axis=1), axis=0) * 0.95
    a = run_backtest(w, px, fee=0.001, slippage=0.0005, tradable=tr)
    b = run_backtest(w, px, fee=0.001, slippage=0.0005, tradable=tr, _sequential=True)
    assert len(a.skipped) > 10  # the case does exercise frozen holdings
    np.testing.assert_allclose(a.nav.to_numpy(), b.nav.to_numpy(), rtol=0, atol=1e-13)
    pd.testing.assert_frame_equal(a.trades, b.trades, atol=1e-13, rtol=0)
    assert (a.weights.sum(axis=1) <= 1 + 1e-12).all() and (a.weights.to_numpy() >= -1e-15).all()


# --------------------------------------------------------------------------------------- no look-ahead
def _momentum_weights(px: pd.DataFrame, dates) -> pd.DataFrame:
    sc = (px / px.shift(10) - 1).reindex(dates)
    return (sc.rank(axis=1, ascending=False) <= 3).astype(float) / 3


def test_changing_prices_after_t_leaves_nav_up_to_t_unchanged():
    rng = np.random.default_rng(11)
    cal = pd.bdate_range("2022-01-01", periods=200, name="date")
    px = pd.DataFrame(np.exp(np.cumsum(rng.normal(0, 0.02, (200, 10)), axis=0)), index=cal, columns=list("ABCDEFGHIJ"))
    rd = cal[20::5]
    base = run_backtest(_momentum_weights(px, rd), px, fee=0.0005)
    for t in (60, 100, 150):
        for after in (t, t + 1):  # prices changed from day t+1 (resp. t+2) on
            fut = px.copy()
            fut.iloc[after + 1:] *= np.exp(rng.normal(0, 0.1, fut.iloc[after + 1:].shape))
            r = run_backtest(_momentum_weights(fut, rd), fut, fee=0.0005)
            np.testing.assert_array_equal(r.nav.iloc[: after + 1 - 20].to_numpy(), base.nav.iloc[: after + 1 - 20].to_numpy())
            assert not np.allclose(r.nav.iloc[-1], base.nav.iloc[-1])


# --------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("case, match", [
    ("sum", "sum to more than 1"),
    ("neg", "negative"),
    ("date", "not trading days"),
    ("code", "codes without prices"),
    ("dup", "duplicate"),
])
def test_bad_weights_raise_clear_errors(case, match):
    px = panel(A=[10, 11, 12], B=[5, 5, 5])
    w = targets({0: {"A": 0.5, "B": 0.5}})
    if case == "sum":
        w.iloc[0] = [0.7, 0.6]
    elif case == "neg":
        w.iloc[0] = [1.2, -0.2]
    elif case == "date":
        w.index = [pd.Timestamp("2024-01-06")]
    elif case == "code":
        w["Z"] = 0.0
    elif case == "dup":
        w = pd.concat([w, w])
    with pytest.raises(ValidationError, match=match):
        run_backtest(w, px)


def test_next_open_without_opens_and_bad_prices_raise():
    px = panel(A=[10, 11, 12])
    with pytest.raises(ValidationError, match="open"):
        run_backtest(targets({0: {"A": 1.0}}), px, execution="next_open")
    with pytest.raises(ValidationError, match="non-positive"):
        run_backtest(targets({0: {"A": 1.0}}), panel(A=[10, 0, 12]))
    with pytest.raises(ValidationError, match="execution"):
        run_backtest(targets({0: {"A": 1.0}}), px, execution="tomorrow")
