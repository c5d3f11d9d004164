"""`etfrot signal --capital` on the small synthetic bundle: picks, orders in whole lots, cash left, CSV out."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from etfrot.cli import app


@pytest.fixture()
def cfg_path(small_bundle, tmp_path):
    cfg = {"strategy": "backtest", "name": "mom20_top5", "bundle": str(small_bundle.path),
           "universe": {"kind": "etf", "min_aum": None}, "scores": {"source": "factor", "factors": ["mom20"]},
           "selection": {"method": "top_n", "n": 5}, "benchmark": {"kind": "none"}, "report": {"bootstrap": 50}}
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def test_signal_capital_prints_orders_and_writes_csv(small_bundle, cfg_path, tmp_path):
    out = tmp_path / "sig"
    r = CliRunner().invoke(app, ["signal", str(cfg_path), "--bundle", str(small_bundle.path), "--capital", "1e6",
                                 "--out", str(out)], terminal_width=200)
    assert r.exit_code == 0, r.output + repr(r.exception)
    assert "Orders for 1,000,000 CNY" in r.output and "cash left" in r.output and "SYNTHETIC" in r.output
    picks = pd.read_csv(out / "picks.csv", index_col=0)
    orders = pd.read_csv(out / "orders.csv", dtype={"code": str})
    summ = json.loads((out / "orders_summary.json").read_text())
    assert set(orders["code"]) == set(picks.index) and (orders["side"] == "buy").all()
    assert (orders["shares"] % 100 == 0).all() and (orders["data"] == "SYNTHETIC").all()
    close = small_bundle.panel("etf_bars", "close").ffill().iloc[-1]
    np.testing.assert_allclose(orders["price"], close[orders["code"]].to_numpy())
    spent = (orders["value"] + orders["fee"]).sum()
    assert summ["cash_left"] == pytest.approx(1e6 - spent, abs=1e-6) and 0 <= summ["cash_left"] < 1e6 * 0.01
    np.testing.assert_allclose(orders["weight_after"], orders["weight_target"], atol=0.01)


def test_signal_with_holdings_sells_what_is_not_picked(small_bundle, cfg_path, tmp_path):
    close = small_bundle.panel("etf_bars", "close").ffill().iloc[-1].dropna()
    r = CliRunner().invoke(app, ["signal", str(cfg_path), "--bundle", str(small_bundle.path), "--capital", "1e6",
                                 "--out", str(tmp_path / "a")])
    picked = set(pd.read_csv(tmp_path / "a" / "picks.csv", index_col=0).index)
    other = next(c for c in close.index if c not in picked)
    h = tmp_path / "h.csv"
    h.write_text(f"code,shares\n{other},1000\n")
    out = tmp_path / "b"
    r = CliRunner().invoke(app, ["signal", str(cfg_path), "--bundle", str(small_bundle.path), "--capital", "1e6",
                                 "--holdings", str(h), "--lot-size", "100", "--min-fee", "5", "--out", str(out)])
    assert r.exit_code == 0, r.output + repr(r.exception)
    o = pd.read_csv(out / "orders.csv", dtype={"code": str}).set_index("code")
    assert o.loc[other, "side"] == "sell" and o.loc[other, "shares"] == 1000 and o.loc[other, "shares_after"] == 0
    assert (o["fee"][o["side"] != "hold"] >= 5.0).all()


def test_signal_bad_holdings_row_is_named(small_bundle, cfg_path, tmp_path):
    h = tmp_path / "h.csv"
    h.write_text("code,shares\n510300.SH,100\nXYZ,lots\n")
    r = CliRunner().invoke(app, ["signal", str(cfg_path), "--bundle", str(small_bundle.path), "--capital", "1e6",
                                 "--holdings", str(h)])
    assert r.exit_code != 0
    assert "row 3" in str(r.exception) and "shares is not a number" in str(r.exception)
