"""Fundamental and earnings style factors by hand, and their point-in-time behaviour (SPEC §1.2, §2.2, §2.4)."""

import numpy as np
import pandas as pd
import pytest
from _factor_helpers import IDX, STOCKS, calendar, make_bundle

from etfrot.factors import FactorEngine, compute_factor

S1, S2 = STOCKS[0], STOCKS[1]
PERIODS = pd.to_datetime(["2018-03-31", "2018-06-30", "2018-09-30", "2018-12-31",
                          "2019-03-31", "2019-06-30", "2019-09-30", "2019-12-31"])
EPS1 = [1.0, 1.1, 1.2, 1.3, 1.2, 1.21, 1.5, 1.56]
NPY1 = [0.1, 0.2, 0.1, 0.3, 0.2, 0.1, 0.25, 0.4]
ROE1 = [0.10, 0.10, 0.12, 0.12, 0.11, 0.12, 0.15, 0.18]
CAL = calendar(60)


def fundamentals(eps1=EPS1, q4_announce=CAL[30], s2_q3_announce=None):
    ann = [p + pd.Timedelta(days=30) for p in PERIODS]
    rows = []
    for code, eps, npy, roe, a_last in ((S1, eps1, NPY1, ROE1, q4_announce),
                                        (S2, [2.0] * 8, [0.0] * 8, [0.2] * 8, CAL[10])):
        anns = ann[:-1] + [a_last]
        if code == S2 and s2_q3_announce is not None:
            anns[6] = s2_q3_announce
        rows.append(pd.DataFrame({"code": code, "report_period": PERIODS, "announce_date": anns, "roe_ttm": roe,
                                  "roe_q": np.array(roe) / 4, "np_yoy": npy, "eps": eps}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def fb(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("fund") / "b", fundamentals=fundamentals())


def _at(p, i, code=S1):
    return p[code].iloc[i]


def test_levels_are_visible_only_from_the_announce_date(fb):
    e = FactorEngine(fb)
    roe = e.compute("roe_ttm", "stock")
    assert _at(roe, 29) == pytest.approx(0.15)  # 2019Q3 until the Q4 report is out
    assert _at(roe, 30) == pytest.approx(0.18)  # announce day itself
    assert _at(e.compute("np_yoy", "stock"), 30) == pytest.approx(0.4)
    assert _at(e.compute("roe_q", "stock"), 30) == pytest.approx(0.18 / 4)


def test_growth_qoq_by_hand(fb):
    e = FactorEngine(fb)
    eg = e.compute("eps_growth_qoq", "stock")
    assert _at(eg, 29) == pytest.approx((1.5 - 1.2) / 1.2 - (1.21 - 1.1) / 1.1)  # 0.25 − 0.10
    assert _at(eg, 30) == pytest.approx((1.56 - 1.3) / 1.3 - 0.25)  # 0.20 − 0.25
    ng = e.compute("np_growth_qoq", "stock")
    assert _at(ng, 29) == pytest.approx(0.25 - 0.1)
    assert _at(ng, 30) == pytest.approx(0.4 - 0.25)
    rg = e.compute("roe_growth_qoq", "stock")
    assert _at(rg, 30) == pytest.approx((0.18 - 0.12) / 0.12 - (0.15 - 0.12) / 0.12)
    pr = e.compute("prosperity", "stock")
    assert _at(pr, 30) == pytest.approx(0.4 + (0.4 - 0.25))


def test_growth_qoq_ratio_form_by_hand(fb):
    """环比增速 as a ratio, g_q / g_{q−1} − 1 (|base| when it is ≤ 0, NaN at 0): same hand data as the diff form."""
    e = FactorEngine(fb)
    eg = e.compute("eps_growth_qoq", "stock", form="ratio")
    assert _at(eg, 29) == pytest.approx(0.25 / 0.10 - 1)  # EPS YoY 2019Q3 0.25 over 2019Q2 0.10 → +150 %
    assert _at(eg, 30) == pytest.approx(0.20 / 0.25 - 1)  # −20 %
    ng = e.compute("np_growth_qoq", "stock", form="ratio")
    assert _at(ng, 29) == pytest.approx(0.25 / 0.1 - 1) and _at(ng, 30) == pytest.approx(0.4 / 0.25 - 1)
    assert np.isnan(_at(ng, 30, S2))  # S2's NP_YOY is 0 every quarter: a zero base has no ratio
    rg = e.compute("roe_growth_qoq", "stock", form="ratio")
    assert _at(rg, 30) == pytest.approx(((0.18 - 0.12) / 0.12) / ((0.15 - 0.12) / 0.12) - 1)  # 0.5 / 0.25 − 1
    with pytest.raises(Exception, match="'diff' or 'ratio'"):
        e.compute("eps_growth_qoq", "stock", form="pct")


def test_qoq_ratio_non_positive_bases():
    from etfrot.factors.fundamental import qoq_ratio

    g = np.array([0.3, 0.1, -0.05, -0.2, 0.5, 40.0])
    base = np.array([0.2, -0.1, -0.10, 0.0, 0.1, 1.0])
    # positive base: plain ratio; negative base: (g − base)/|base| (−10 % → +10 % is +200 %, −10 % → −5 % is +50 %);
    # zero base: NaN; clipped at ±5
    np.testing.assert_allclose(qoq_ratio(g, base), [0.5, 2.0, 0.5, np.nan, 4.0, 5.0])


def test_eps_growth_qoq_uses_the_source_eps_yoy_where_the_bundle_has_it(tmp_path):
    """A fundamentals table with yoy_eps_basic (baostock YOYEPSBasic) → eps_growth_qoq is its QoQ change; the
    derived single-quarter form stays available with yoy="derived"."""
    from etfrot.factors.fundamental import eps_yoy_source

    f = fundamentals()
    f["yoy_eps_basic"] = np.r_[[0.0, 0.0, 0.0, 0.0, 0.3, 0.1, 0.4, 0.5], [0.2] * 8]  # rows: S1 then S2
    b = make_bundle(tmp_path / "b", fundamentals=f)
    e = FactorEngine(b)
    src = e.compute("eps_growth_qoq", "stock")
    assert _at(src, 29) == pytest.approx(0.4 - 0.1) and _at(src, 30) == pytest.approx(0.5 - 0.4)
    assert _at(e.compute("eps_growth_qoq", "stock", form="ratio"), 29) == pytest.approx(0.4 / 0.1 - 1)
    der = e.compute("eps_growth_qoq", "stock", yoy="derived")
    assert _at(der, 29) == pytest.approx((1.5 - 1.2) / 1.2 - (1.21 - 1.1) / 1.1)
    assert eps_yoy_source(e.inputs("stock")) == "source" and eps_yoy_source(FactorEngine(make_bundle(
        tmp_path / "c", fundamentals=fundamentals())).inputs("stock")) == "derived"


def test_sue_seasonal_random_walk_by_hand(fb):
    s = compute_factor("sue", fb, "stock")
    d = np.array([1.2 - 1.0, 1.21 - 1.1, 1.5 - 1.2, 1.56 - 1.3])
    assert _at(s, 30) == pytest.approx(d[-1] / d.std(ddof=1))
    assert np.isnan(_at(s, 29))  # only 3 seasonal differences known before the Q4 report (< 4)
    assert np.isnan(_at(s, 30, S2))  # constant EPS: zero surprise sd ⇒ undefined


def test_future_change_leaves_the_past_unchanged(tmp_path):
    """A fundamental changed after its announce date changes nothing before it."""
    a = make_bundle(tmp_path / "a", fundamentals=fundamentals())
    b = make_bundle(tmp_path / "b", fundamentals=fundamentals(eps1=EPS1[:-1] + [9.99]))
    names = ["eps_growth_qoq", "sue", "roe_ttm", "np_growth_qoq", "prosperity"]
    for lvl in ("stock", "index"):
        ea, eb = FactorEngine(a), FactorEngine(b)
        for n in names:
            pa, pb = ea.compute(n, lvl), eb.compute(n, lvl)
            pd.testing.assert_frame_equal(pa.iloc[:30], pb.iloc[:30])
    ga, gb = compute_factor("eps_growth_qoq", a, "stock"), compute_factor("eps_growth_qoq", b, "stock")
    assert _at(ga, 30) != _at(gb, 30)  # …and it does change the day it is announced


def test_late_announcement_of_an_input_quarter_delays_the_value(tmp_path):
    """Q4 (cal[10]) compares with Q3, announced only on cal[20]: the Q4 growth shows from cal[20]."""
    f = fundamentals(s2_q3_announce=CAL[20])
    f.loc[(f["code"] == S2), "np_yoy"] = [0, 0, 0, 0, 0.1, 0.2, 0.4, 0.7]
    b = make_bundle(tmp_path / "c", fundamentals=f)
    g = compute_factor("np_growth_qoq", b, "stock")
    assert _at(g, 15, S2) == pytest.approx(0.2 - 0.1)  # Q2 vs Q1: the latest value whose inputs are public
    assert _at(g, 20, S2) == pytest.approx(0.7 - 0.4)


def test_index_level_is_the_weighted_constituent_value(fb):
    roe = compute_factor("roe_ttm", fb, "index", codes=[IDX])[IDX]
    # first snapshot: S1 0.5, S2 0.3, S3 0.2 (no fundamentals) ⇒ renormalised over S1, S2; coverage 0.8
    assert roe.iloc[29] == pytest.approx((0.5 * 0.15 + 0.3 * 0.2) / 0.8)
    # second snapshot (cal[30]): S2 0.6, S4 0.4 (no data) ⇒ coverage 0.6, value S2's
    assert roe.iloc[30] == pytest.approx(0.2)


def test_real_fundamentals_carry_the_source_eps_yoy(real_data):
    """Real data (baostock): the parsed fundamentals keep YOYEPSBasic as yoy_eps_basic, so eps_growth_qoq's
    "auto" takes the source's EPS YoY there (skips where ../shared/data/real is absent)."""
    from etfrot.data.sources import baostock as bs

    f = real_data / "fundamentals_bao_670"
    p = pd.read_csv(f / "profit_data.csv.gz", dtype=str)
    g = pd.read_csv(f / "growth_data.csv.gz", dtype=str)
    codes = p["code"].drop_duplicates().iloc[:3]
    p = p[p["code"].isin(codes)].drop_duplicates(["code", "statDate"])
    g = g[g["code"].isin(codes)].drop_duplicates(["code", "statDate"])
    out = bs.parse_profit_growth(p, g)
    assert out["yoy_eps_basic"].notna().mean() > 0.9
    ref = g.assign(code=bs.stock_code(g["code"]), period=pd.to_datetime(g["statDate"])).set_index(["code", "period"])["YOYEPSBasic"]
    got = out.set_index(["code", "report_period"])["yoy_eps_basic"]
    np.testing.assert_allclose(got.to_numpy(), ref.astype(float).reindex(got.index).to_numpy())
