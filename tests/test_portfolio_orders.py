"""Orders in whole lots from target weights (SPEC §9 signal): hand-made cases with exact share counts and cash."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.errors import ValidationError
from etfrot.portfolio.orders import plan_orders, read_holdings


def _row(o, code):
    return o.table.set_index("code").loc[code]


def test_three_etfs_from_cash_exact_shares_and_cash():
    """100,000 CNY into 3 ETFs at 1/3 each, fee 5 bp with a 5 CNY minimum.

    k = 1/1.0005 ⇒ target 33,316.67 each; ideal lots 269.99 / 133.27 / 83.29 → floors 269, 133, 83 leave
    305.58 CNY; the largest remainder (A, 0.99) gets one more lot (123.46 with fee); the next (C, 0.29)
    needs 400.20 > 182.12 left, so the rounding stops: A 27,000, B 13,300, C 8,300 shares.
    """
    px = pd.Series({"A": 1.234, "B": 2.5, "C": 4.0})
    w = pd.Series({"A": 1 / 3, "B": 1 / 3, "C": 1 / 3})
    o = plan_orders(w, px, 100_000.0, lot_size=100, fee=0.0005, min_fee=5.0)
    assert [_row(o, c)["shares"] for c in "ABC"] == [27_000, 13_300, 8_300]
    assert (o.table["side"] == "buy").all()
    fees = 0.0005 * np.array([27_000 * 1.234, 13_300 * 2.5, 8_300 * 4.0])
    np.testing.assert_allclose(o.table.set_index("code").loc[list("ABC"), "fee"], fees, rtol=1e-12)
    assert o.cash == pytest.approx(100_000 - 33_318 - 33_250 - 33_200 - fees.sum(), abs=1e-9)
    assert o.cash == pytest.approx(182.116, abs=1e-9)
    assert (o.table["shares"] % 100 == 0).all()


def test_min_fee_binds_on_small_orders_and_holdings_are_sold():
    """Account of 20,000 CNY: 3,000 shares of X at 2.0 (6,000) + 14,000 cash; target 50 % Y (price 10), 50 % Z (price 5).

    X is sold in full (3,000 shares, fee max(5, 3) = 5). Budget: k from fees 5 + 5 + 5 = 15 ⇒ k = 1 − 15/20000;
    Y: 9,992.5 / 10 = 999.25 sh → 9 lots (rem .9925), Z: 9,992.5 / 5 = 1,998.5 sh → 19 lots (rem .985);
    cash after floors 20,000 − 9,000 − 9,500 − 15 = 1,485 → +1 lot Y (1,000) → 485 left; Z's next lot (500) does not fit.
    """
    o = plan_orders(pd.Series({"Y": 0.5, "Z": 0.5}), pd.Series({"X": 2.0, "Y": 10.0, "Z": 5.0}), 20_000.0,
                    holdings=pd.Series({"X": 3_000}), lot_size=100, fee=0.0005, min_fee=5.0)
    t = o.table.set_index("code")
    assert t.loc["X", "side"] == "sell" and t.loc["X", "shares"] == 3_000 and t.loc["X", "fee"] == 5.0
    assert t.loc["Y", "shares"] == 1_000 and t.loc["Z", "shares"] == 1_900
    assert t.loc["Y", "fee"] == 5.0 and t.loc["Z", "fee"] == 5.0
    assert o.cash == pytest.approx(14_000 + 6_000 - 10_000 - 9_500 - 15, abs=1e-9)
    assert o.table["side"].iloc[0] == "sell"  # sells first


def test_never_above_capital_after_fees_on_random_cases():
    """Property on 200 random accounts: whole lots only, cash left ≥ 0 and = capital − Σ(value + fee)."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = rng.integers(1, 12)
        codes = [f"E{i}" for i in range(n)]
        px = pd.Series(rng.uniform(0.5, 8.0, n).round(3), index=codes)
        w = pd.Series(rng.dirichlet(np.ones(n)) * rng.uniform(0.5, 1.0), index=codes)
        cap = float(rng.uniform(2e4, 5e6))
        o = plan_orders(w, px, cap, lot_size=100, fee=0.0003, min_fee=5.0)
        spent = (o.table["value"] + o.table["fee"]).sum()
        assert o.cash >= 0 and o.cash == pytest.approx(cap - spent, rel=1e-12, abs=1e-6)
        assert (o.table["shares"] % 100 == 0).all()


def test_bad_inputs_are_named():
    px = pd.Series({"A": 1.0})
    with pytest.raises(ValidationError, match="without a positive last price"):
        plan_orders(pd.Series({"B": 1.0}), px, 1e6)
    with pytest.raises(ValidationError, match="more than the capital"):
        plan_orders(pd.Series({"A": 1.0}), px, 1e3, holdings=pd.Series({"A": 5_000}))
    with pytest.raises(ValidationError, match="sum to ≤ 1"):
        plan_orders(pd.Series({"A": 0.7, "B": 0.7}), pd.Series({"A": 1.0, "B": 1.0}), 1e6)


def test_read_holdings_good_and_bad_rows(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("code,shares\n510300.SH,1200\n159915.SZ, 3,400\n", encoding="utf-8")
    with pytest.raises(ValidationError):  # "3,400" unquoted splits into 3 columns → parser error or bad row
        read_holdings(p)
    p.write_text('code,shares\n510300.SH,1200\n159915.SZ,"3,400"\n', encoding="utf-8")
    h = read_holdings(p)
    assert h.to_dict() == {"510300.SH": 1200.0, "159915.SZ": 3400.0}
    p.write_text("code,shares\n510300.SH,1200\n159915.SZ,abc\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"row 3: code='159915.SZ', shares='abc'[\s\S]*fix: write the number"):
        read_holdings(p)
    p.write_text("code,shares\nA,1\nA,2\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"more than once[\s\S]*row 2[\s\S]*row 3"):
        read_holdings(p)
    p.write_text("code,qty\nA,1\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="missing column"):
        read_holdings(p)
    p.write_text("code,shares\nA,-5\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="row 2.*negative|negative[\\s\\S]*row 2"):
        read_holdings(p)
