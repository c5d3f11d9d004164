"""Capacity (SPEC §7): trade / 20-day average amount and / fund size, thresholds, report section, capital sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.backtest import run_backtest
from etfrot.backtest.capacity import capacity_thresholds, trade_participation


def test_participation_and_thresholds_by_hand():
    """One asset, amount 1e6 CNY/day, all-in at day 1 with no fee: the trade is the whole capital.

    At capital 1e5: participation 10 %; it reaches 5 % at 5e4 and 20 % at 2e5 CNY; size 1e7 ⇒ 1 % of fund size.
    """
    cal = pd.bdate_range("2024-01-01", periods=30, name="date")
    px = pd.DataFrame({"A": np.linspace(1.0, 1.3, 30)}, index=cal)
    amount = pd.DataFrame({"A": 1e6}, index=cal)
    aum = pd.DataFrame({"A": np.nan}, index=cal)
    aum.iloc[0, 0] = 1e7  # known once, carried forward
    r = run_backtest(pd.DataFrame({"A": [1.0]}, index=cal[[0]]), px, fee=0.0)
    part = trade_participation(r, amount, aum, capital=1e5)
    assert part["participation"].tolist() == pytest.approx([0.1])
    assert part["aum_share"].tolist() == pytest.approx([0.01])
    th = capacity_thresholds(part)
    assert th.at["median trade", "capital at 5% of amount20"] == pytest.approx(5e4)
    assert th.at["worst trade", "capital at 20% of amount20"] == pytest.approx(2e5)
    assert th.at["median trade", "capital at 20% of fund size"] == pytest.approx(2e6)


def test_amount20_is_the_trailing_mean_up_to_the_signal_date():
    cal = pd.bdate_range("2024-01-01", periods=40, name="date")
    px = pd.DataFrame({"A": 1.0}, index=cal)
    amount = pd.DataFrame({"A": np.arange(1, 41, dtype=float) * 1e5}, index=cal)
    r = run_backtest(pd.DataFrame({"A": [1.0]}, index=cal[[29]]), px, fee=0.0)
    part = trade_participation(r, amount, None, capital=1e6)
    assert part["amount20"].iloc[0] == pytest.approx(np.mean(np.arange(11, 31)) * 1e5)  # days 10..29, not the trade day 30


def test_capital_sweep_cash_and_caps_grow_with_capital(small_bundle):
    """Under a 5 % cap of amount20 a 1e10 CNY account can place almost nothing (cash ≈ NAV, return ≈ 0);
    at 1e5 the 5 CNY minimum fee costs more than at 1e6; at 1e6 the lot run is within 1 %/yr of the weight run."""
    from etfrot.strategies.capacity import capital_sweep

    cfg = {"strategy": "backtest", "bundle": str(small_bundle.path), "universe": {"kind": "etf", "min_aum": None},
           "selection": {"method": "top_n", "n": 5}, "report": {"bootstrap": 50}}
    t = capital_sweep(small_bundle, cfg, capitals=(1e5, 1e6, 1e8, 1e10), max_participation=0.05)
    assert list(t.index) == [np.inf, 1e5, 1e6, 1e8, 1e10] and t["engine"].tolist() == ["weights"] + ["lots"] * 4
    lots = t.iloc[1:]
    assert lots["mean_cash"].is_monotonic_increasing and lots.loc[1e10, "mean_cash"] > 0.9
    assert t.loc[1e10, "orders_capped"] > 0.5 > t.loc[1e6, "orders_capped"]
    assert abs(t.loc[1e10, "annual_return"]) < 0.01
    assert t.loc[1e5, "cost_drag"] > t.loc[1e6, "cost_drag"]
    assert abs(t.loc[1e6, "annual_return"] - t.loc[np.inf, "annual_return"]) < 0.01
    assert (lots["worst_participation"] <= 0.05 + 1e-9).all()


def test_runner_report_has_a_capacity_section(small_bundle):
    from etfrot.strategies import runner

    cfg = {"bundle": str(small_bundle.path), "universe": {"kind": "etf", "min_aum": None},
           "selection": {"method": "top_n", "n": 5}, "report": {"bootstrap": 50}, "capital": 1e7}
    _, secs = runner.run(small_bundle, cfg)
    cap = next(s for s in secs if s.title.endswith("capacity"))
    assert "10,000,000 CNY" in cap.text and "median trade reaches 5 %" in cap.text
    th = next(iter(cap.tables.values()))
    assert th.loc["median trade"].iloc[0] > th.loc["worst trade"].iloc[0] > 0  # the worst trade passes 5 % first
    assert len(cap.figures) == 1 and "trade participation" in cap.files
