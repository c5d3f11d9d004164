"""Flow factors (DDE10 sums by hand), stock → index aggregation with coverage and snapshots, ETF mapping,
own index data taking precedence, and clear errors for missing data (SPEC §2.3, §2.5)."""

import numpy as np
import pandas as pd
import pytest
from _factor_helpers import ETFS, IDX, IDX_OWN, IDX_TR, STOCKS, calendar, make_bundle

from etfrot.errors import ConfigError, DataMissingError
from etfrot.factors import FactorEngine, aggregate_to_index, compute_factor, etf_level
from etfrot.factors.flow import scaled_flow

CAL = calendar(60)


def flows(codes=STOCKS, value=None):
    rows = []
    for j, c in enumerate(codes):
        v = np.arange(60, dtype=float) + 100 * j if value is None else value[:, j]
        rows.append(pd.DataFrame({"date": CAL, "code": c, "net_buy_amount": v, "net_active_buy_amount": v / 2,
                                  "main_net_inflow": -v, "large_order_net_volume": v, "northbound_value": np.nan}))
    return pd.concat(rows, ignore_index=True).sort_values(["date", "code"]).reset_index(drop=True)


def test_dde10_is_a_ratio_of_ten_day_sums():
    d = pd.bdate_range("2021-01-04", periods=14, name="date")
    flow = pd.DataFrame({"A": np.arange(14.0)}, index=d)
    vol = pd.DataFrame({"A": np.full(14, 10.0)}, index=d)
    vol.iloc[12, 0] = np.nan  # a day without volume drops out of both sums
    out = scaled_flow(flow, vol, 10)["A"]
    assert np.isnan(out.iloc[3])  # 4 of 10 days known (< 5)
    assert out.iloc[4] == pytest.approx(sum(range(5)) / 50)  # 5 days: enough
    assert out.iloc[9] == pytest.approx(sum(range(10)) / 100)
    assert out.iloc[13] == pytest.approx((sum(range(4, 14)) - 12) / 90)


def test_flow_factor_on_a_bundle(tmp_path):
    b = make_bundle(tmp_path / "b", flows=flows())
    x = compute_factor("dde10", b, "stock")
    vol = 1000.0  # helper bars trade 1000 shares a day
    assert x[STOCKS[1]].iloc[20] == pytest.approx(sum(100 + k for k in range(11, 21)) / (10 * vol))
    nb = compute_factor("net_buy", b, "stock")  # default window: the last week (5 days)
    amt = b.panel("stock_bars", "amount")[STOCKS[0]]
    assert nb[STOCKS[0]].iloc[30] == pytest.approx(sum(range(26, 31)) / amt.iloc[26:31].sum())
    nb20 = compute_factor("net_buy", b, "stock", n=20)  # the window stays a parameter
    assert nb20[STOCKS[0]].iloc[30] == pytest.approx(sum(range(11, 31)) / amt.iloc[11:31].sum())


def test_latest_period_flow_factors_use_the_last_week_and_dde10_ten_days(tmp_path):
    """Seed 001 table 3: net buy / net active buy / main inflow on "最新一期" = the last week at weekly
    rebalancing (5 days); DDE10 = 10 days. Hand panel: flows 0, 1, 2, … per day, amount and volume constant."""
    from etfrot.factors import get_factor

    b = make_bundle(tmp_path / "b", flows=flows())
    t = 40  # a day with a full history behind it
    amt = b.panel("stock_bars", "amount")[STOCKS[0]]
    vol = b.panel("stock_bars", "volume")[STOCKS[0]]
    last5 = sum(range(t - 4, t + 1))
    assert compute_factor("net_buy", b, "stock")[STOCKS[0]].iloc[t] == pytest.approx(last5 / amt.iloc[t - 4:t + 1].sum())
    assert compute_factor("net_active_buy", b, "stock")[STOCKS[0]].iloc[t] == pytest.approx(last5 / 2 / amt.iloc[t - 4:t + 1].sum())
    assert compute_factor("main_inflow", b, "stock")[STOCKS[0]].iloc[t] == pytest.approx(-last5 / amt.iloc[t - 4:t + 1].sum())
    assert compute_factor("main_inflow", b, "stock", n=20)[STOCKS[0]].iloc[t] == pytest.approx(
        -sum(range(t - 19, t + 1)) / amt.iloc[t - 19:t + 1].sum())
    assert compute_factor("dde10", b, "stock")[STOCKS[0]].iloc[t] == pytest.approx(
        sum(range(t - 9, t + 1)) / vol.iloc[t - 9:t + 1].sum())
    assert {get_factor(f).params["n"] for f in ("net_buy", "net_active_buy", "main_inflow")} == {5}
    assert get_factor("dde10").params["n"] == 10 and get_factor("northbound").params["n"] == 20


def test_scores_params_set_a_factor_window_and_reject_strangers():
    from etfrot.config import ScoresConfig

    s = ScoresConfig(factors=["main_inflow", "dde10"], params={"main_inflow": {"n": 20}})
    assert s.params == {"main_inflow": {"n": 20}}
    with pytest.raises(Exception, match="not in scores.factors"):
        ScoresConfig(factors=["dde10"], params={"main_inflow": {"n": 20}})


def test_aggregation_renormalises_and_reports_coverage(tmp_path):
    b = make_bundle(tmp_path / "b")
    f = pd.DataFrame(np.nan, index=CAL, columns=STOCKS)
    f[STOCKS[0]], f[STOCKS[1]], f[STOCKS[2]], f[STOCKS[3]] = 1.0, 2.0, np.nan, 4.0
    f.iloc[5, 0] = np.nan
    val, cov = aggregate_to_index(f, b, [IDX, IDX_OWN], min_coverage=0.3)
    assert val[IDX].iloc[0] == pytest.approx((0.5 * 1 + 0.3 * 2) / 0.8)
    assert cov[IDX].iloc[0] == pytest.approx(0.8)
    assert val[IDX].iloc[5] == pytest.approx(2.0) and cov[IDX].iloc[5] == pytest.approx(0.3)
    assert val[IDX].iloc[30] == pytest.approx(0.6 * 2 + 0.4 * 4)  # the new snapshot from its date on
    assert val[IDX].iloc[29] == pytest.approx((0.5 * 1 + 0.3 * 2) / 0.8)  # …and not a day before
    assert val[IDX_OWN].iloc[0] == pytest.approx(4.0) and cov[IDX_OWN].iloc[0] == pytest.approx(0.5)
    strict, _ = aggregate_to_index(f, b, [IDX, IDX_OWN], min_coverage=0.6)
    assert np.isnan(strict[IDX].iloc[5])  # coverage 0.3 < 0.6 ⇒ no value
    assert strict[IDX_OWN].isna().all()  # 0.5 < 0.6


def test_total_return_index_uses_its_price_index_constituents(tmp_path):
    b = make_bundle(tmp_path / "b")
    f = pd.DataFrame(1.0, index=CAL, columns=STOCKS)
    val, _ = aggregate_to_index(f, b, [IDX_TR])
    assert (val[IDX_TR] == 1.0).all()


def test_weights_before_the_first_snapshot_are_unknown(tmp_path):
    t = make_bundle(tmp_path / "a").table("index_weights").copy()
    t["date"] = t["date"].where(t["date"] != CAL[0], CAL[10])
    b = make_bundle(tmp_path / "b", index_weights=t)
    val, _cov = aggregate_to_index(pd.DataFrame(1.0, index=CAL, columns=STOCKS), b, [IDX])
    assert val[IDX].iloc[:10].isna().all() and val[IDX].iloc[10] == 1.0


def test_etf_takes_its_tracked_index_value_while_listed(tmp_path):
    b = make_bundle(tmp_path / "b")
    ip = pd.DataFrame({IDX: np.arange(60.0), IDX_TR: 100 + np.arange(60.0), IDX_OWN: -1.0}, index=CAL)
    e = etf_level(ip, b)
    assert (e[ETFS[0]] == ip[IDX]).all()
    assert e[ETFS[1]].iloc[:20].isna().all() and (e[ETFS[1]].iloc[20:] == ip[IDX_TR].iloc[20:]).all()
    m = compute_factor("mom5", b, "etf")
    own = compute_factor("mom5", b, "index")
    pd.testing.assert_series_equal(m[ETFS[2]], own[IDX_OWN], check_names=False)


def test_own_index_rows_take_precedence_over_aggregation(tmp_path):
    own = flows(codes=[IDX_OWN], value=np.full((60, 1), 500.0))
    fl = pd.concat([flows(), own]).sort_values(["date", "code"]).reset_index(drop=True)
    b = make_bundle(tmp_path / "b", flows=fl)
    e = FactorEngine(b)
    x = e.compute("net_buy", "index", [IDX, IDX_OWN])
    amt = b.panel("index_bars", "amount")[IDX_OWN]
    assert x[IDX_OWN].iloc[40] == pytest.approx(500 * 5 / amt.iloc[36:41].sum())  # default window: 5 days
    stock = e.compute("net_buy", "stock")
    assert x[IDX].iloc[40] == pytest.approx(0.6 * stock[STOCKS[1]].iloc[40] + 0.4 * stock[STOCKS[3]].iloc[40])
    assert e.coverage[("index", "net_buy")][IDX_OWN].iloc[40] == 1.0


def test_missing_data_raises_a_clear_error(tmp_path):
    b = make_bundle(tmp_path / "b")  # no flows, fundamentals, valuation, macro
    for name, what in (("dde10", "flows"), ("roe_ttm", "fundamentals"), ("bubble", "valuation"),
                       ("inflation_beta", "macro")):
        with pytest.raises(DataMissingError, match=what) as ei:
            compute_factor(name, b, "index")
        assert name in str(ei.value)
    with pytest.raises(ConfigError, match="constituents"):
        compute_factor("leader", b, "stock")
    with pytest.raises(ConfigError, match="unknown factor"):
        compute_factor("mom21", b)
    with pytest.raises(ConfigError, match="no parameter"):
        compute_factor("mom20", b, window=3)


def test_leader_effect_by_hand(tmp_path):
    b = make_bundle(tmp_path / "b")
    lead = compute_factor("leader", b, "index", codes=[IDX], n=5, k=2)[IDX]
    px = b.panel("stock_bars", "close", adjusted=True)
    ix = b.panel("index_bars", "close")[IDX]
    t = 40  # second snapshot: S2 (0.6) and S4 (0.4) are the two leaders
    m = px.iloc[t] / px.iloc[t - 5] - 1
    assert lead.iloc[t] == pytest.approx((m[STOCKS[1]] + m[STOCKS[3]]) / 2 - (ix.iloc[t] / ix.iloc[t - 5] - 1))
    t = 20  # first snapshot: S1 (0.5), S2 (0.3)
    m = px.iloc[t] / px.iloc[t - 5] - 1
    assert lead.iloc[t] == pytest.approx((m[STOCKS[0]] + m[STOCKS[1]]) / 2 - (ix.iloc[t] / ix.iloc[t - 5] - 1))


def test_a_later_weight_snapshot_changes_nothing_before_its_date(tmp_path):
    a = make_bundle(tmp_path / "a")
    w = a.table("index_weights").copy()
    later = w["date"] == CAL[30]
    w.loc[later & (w["stock_code"] == STOCKS[1]), "weight"] = 0.1
    w.loc[later & (w["stock_code"] == STOCKS[3]), "weight"] = 0.9
    b = make_bundle(tmp_path / "b", index_weights=w)
    pa = compute_factor("mom5", a, "stock")
    va, _ = aggregate_to_index(pa, a, [IDX])
    vb, _ = aggregate_to_index(pa, b, [IDX])
    pd.testing.assert_frame_equal(va.iloc[:30], vb.iloc[:30])
    assert not np.allclose(va.iloc[35:].to_numpy(), vb.iloc[35:].to_numpy())


def test_etf_whose_index_has_no_data_falls_back_to_its_own_bars(tmp_path):
    from _factor_helpers import tables

    t = tables()
    t["index_info"] = pd.concat([t["index_info"], pd.DataFrame({"code": ["NOBARS.CSI"], "name": ["无行情"],
                                 "category": ["industry_theme"], "region": ["cn"], "total_return_of": [None]})])
    t["etf_info"].loc[2, "tracked_index"] = "NOBARS.CSI"
    b = make_bundle(tmp_path / "b", index_info=t["index_info"], etf_info=t["etf_info"])
    e = FactorEngine(b)
    m = e.compute("mom5", "etf")
    px = b.panel("etf_bars", "close", adjusted=True)[ETFS[2]]
    assert m[ETFS[2]].iloc[10] == pytest.approx(px.iloc[10] / px.iloc[5] - 1)
    assert any("own bars" in n for n in e.notes)
    off = FactorEngine(b, etf_fallback=False).compute("mom5", "etf")
    assert off[ETFS[2]].isna().all()
