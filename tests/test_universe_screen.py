"""ETF screening (SPEC §5; seed 000 §3.5, seed 001 §2.1) on hand-made tables with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.errors import ConfigError
from etfrot.universe.screen import is_overseas_code, screen_tables

CAL = pd.bdate_range("2020-01-01", "2020-12-31", name="date")
T = pd.Timestamp("2020-09-30")


def _tables():
    index_info = pd.DataFrame({
        "code": ["X.CSI", "Y.CSI", "Z.CSI", "W.CSI", "B.SH", "HSI.HI", "S.CSI"],
        "name": ["x", "y", "z", "w", "broad", "hang seng", "style"],
        "category": ["industry_theme", "industry_theme", "industry_theme", "industry_theme", "broad", "broad",
                     "strategy_style"],
        "region": ["cn", "cn", "cn", "cn", "cn", "cn", "cn"],  # HSI.HI is overseas by its suffix only
    })
    rows = [
        # code, index, list_date, delist, fee, aum
        ("x1", "X.CSI", "2018-01-01", None, 0.005, 2e8),
        ("x2", "X.CSI", "2018-01-01", None, 0.005, 6e8),   # largest AUM of index X: the one to keep
        ("x3", "X.CSI", "2018-01-01", None, 0.001, 4e8),
        ("y1", "Y.CSI", "2020-08-20", None, 0.005, 9e8),   # young: listed ~1.3 months before T
        ("z1", "Z.CSI", "2018-01-01", None, 0.005, 5e7),   # tiny: 50 million CNY
        ("w1", "W.CSI", "2018-01-01", None, 0.005, 3e8),   # same AUM as w2, lower 20-day amount
        ("w2", "W.CSI", "2018-01-01", None, 0.005, 3e8),
        ("b1", "B.SH", "2018-01-01", None, 0.006, 5e8),    # same AUM & amount as b2, higher fee
        ("b2", "B.SH", "2018-01-01", None, 0.002, 5e8),
        ("h1", "HSI.HI", "2018-01-01", None, 0.005, 5e9),  # overseas
        ("s1", "S.CSI", "2018-01-01", "2020-06-30", 0.005, 5e9),  # delisted before T: not listed
    ]
    etf_info = pd.DataFrame(rows, columns=["code", "tracked_index", "list_date", "delist_date", "fee_rate", "aum"])
    etf_info["list_date"] = pd.to_datetime(etf_info["list_date"])
    etf_info["delist_date"] = pd.to_datetime(etf_info["delist_date"])
    aum = pd.DataFrame(np.repeat(etf_info["aum"].to_numpy()[None, :], len(CAL), 0), index=CAL, columns=etf_info["code"])
    amount = pd.DataFrame(1e7, index=CAL, columns=etf_info["code"])
    amount["w1"] = 5e6
    return etf_info.drop(columns="aum"), index_info, aum, amount


def test_screen_keeps_exactly_the_right_etfs():
    etf_info, index_info, aum, amount = _tables()
    r = screen_tables(etf_info, index_info, [T], aum=aum, amount=amount)
    kept = r.at(T)
    assert sorted(kept["etf"]) == ["b2", "w2", "x2"]
    why = r.removed_at(T).set_index("etf")["removed_by"].to_dict()
    assert why == {"x1": "duplicate", "x3": "duplicate", "y1": "young", "z1": "small", "w1": "duplicate",
                   "b1": "duplicate", "h1": "overseas"}
    c = r.counts.loc[T]
    assert c["listed_etfs"] == 10 and c["listed_indices"] == 6  # s1 delisted
    assert (c["overseas_etfs"], c["small_etfs"], c["young_etfs"], c["duplicate_etfs"]) == (1, 1, 1, 4)
    # indices lose their last ETF: HSI (overseas), Z (small), Y (young); duplicates never remove an index
    assert (c["overseas_indices"], c["small_indices"], c["young_indices"], c["duplicate_indices"]) == (1, 1, 1, 0)
    assert c["kept_etfs"] == c["kept_indices"] == 3
    assert r.etf_for_index.loc[T, "X.CSI"] == "x2"
    assert r.index_universe.loc[T].sum() == 3


def test_young_etf_enters_after_three_months_and_category_filter():
    etf_info, index_info, aum, amount = _tables()
    later = pd.Timestamp("2020-11-20")  # y1 listed 2020-08-20: exactly 3 months → kept
    r = screen_tables(etf_info, index_info, [T, later], aum=aum, amount=amount, categories=["industry_theme"])
    assert "y1" in set(r.at(later)["etf"]) and "y1" not in set(r.at(T)["etf"])
    assert set(r.at(later)["index"]) == {"X.CSI", "Y.CSI", "W.CSI"}  # broad B and style S filtered out
    assert r.counts.loc[later, "category_etfs"] == 2  # b1, b2 (h1 already removed as overseas)


def test_screen_is_point_in_time():
    etf_info, index_info, aum, amount = _tables()
    base = screen_tables(etf_info, index_info, [T], aum=aum, amount=amount).at(T)
    aum2, amount2 = aum.copy(), amount.copy()
    aum2.loc[aum2.index > T, :] = 1.0  # future sizes collapse
    amount2.loc[amount2.index > T, :] = 0.0
    after = screen_tables(etf_info, index_info, [T], aum=aum2, amount=amount2).at(T)
    pd.testing.assert_frame_equal(base, after)
    aum3 = aum.copy()
    aum3.loc[aum3.index == T, "x1"] = 7e8  # the date's own value does count
    assert "x1" in set(screen_tables(etf_info, index_info, [T], aum=aum3, amount=amount).at(T)["etf"])


def test_liquidity_proxy_when_aum_unknown():
    """No AUM anywhere: size = amount20 / 0.03, so 1e8 CNY ⇔ 3e6 CNY average daily amount."""
    etf_info, index_info, aum, amount = _tables()
    amount = amount * 0 + 4e6  # → 1.33e8 estimated: passes
    amount["z1"] = 2e6  # → 6.7e7: small
    r = screen_tables(etf_info, index_info, [T], aum=None, amount=amount)
    why = r.removed_at(T).set_index("etf")["removed_by"]
    assert why["z1"] == "small"
    kept = r.at(T)
    assert (kept["aum_source"] == "proxy").all()
    np.testing.assert_allclose(kept["aum_used"], 4e6 / 0.03)
    # with AUM known for most ETFs the turnover is their cross-sectional median (here 1e7/5e8 etc.)
    aum2 = aum.copy()
    aum2["z1"] = np.nan
    r2 = screen_tables(etf_info, index_info, [T], aum=aum2, amount=amount)
    t = r2.counts.loc[T, "proxy_turnover"]
    listed = ["x1", "x2", "x3", "y1", "w1", "w2", "b1", "b2", "h1"]
    np.testing.assert_allclose(t, np.median(4e6 / aum.loc[T, listed].to_numpy()))
    assert r2.table.set_index("etf").loc["z1", "aum_source"] == "proxy"


def test_aum_forward_filled_only_within_limit():
    etf_info, index_info, aum, amount = _tables()
    aum.loc[aum.index > pd.Timestamp("2020-08-31"), "x2"] = np.nan  # last report 22 trading days before T
    r = screen_tables(etf_info, index_info, [T], aum=aum, amount=amount, aum_ffill_days=70)
    assert r.table.set_index("etf").loc["x2", "aum_source"] == "reported"
    r = screen_tables(etf_info, index_info, [T], aum=aum, amount=amount, aum_ffill_days=5)
    assert r.table.set_index("etf").loc["x2", "aum_source"] == "proxy"


def test_rules_can_be_switched_off_and_bad_input():
    etf_info, index_info, aum, amount = _tables()
    r = screen_tables(etf_info, index_info, [T], aum=aum, amount=amount, min_aum=None, min_listed_months=None)
    assert {"z1", "y1"} <= set(r.at(T)["etf"])
    with pytest.raises(ConfigError, match="categories"):
        screen_tables(etf_info, index_info, [T], aum=aum, amount=amount, categories=["bonds"])
    assert is_overseas_code(["HSI.HI", "SPX.SPI", "000300.SH", "H30184.CSI", "DAX.GI"]).tolist() == [
        True, True, False, False, True]


def test_index_universe_and_industry_mapping_on_synthetic(small_bundle):
    from etfrot.data import rebalance_dates
    from etfrot.universe import etf_industries, index_universe

    b = small_bundle
    dates = rebalance_dates(b.calendar, "monthly")[6:]
    uni = index_universe(b, dates)
    info = b.info("index")
    held = uni.columns[uni.any().to_numpy()]
    assert (info.loc[held, "region"] == "cn").all()  # overseas never in
    assert (info.loc[uni.columns[~uni.any().to_numpy()], "region"] == "overseas").any()
    listed = b.listed("etf", dates)
    tracked = b.info("etf")["tracked_index"]
    for d in dates[::6]:  # every index in the universe has a listed ETF that day
        codes = set(tracked[listed.loc[d].reindex(tracked.index).to_numpy()])
        assert set(uni.columns[uni.loc[d].to_numpy()]) <= codes
    ind_only = index_universe(b, dates[-1:], categories=["industry_theme"])
    assert (info.loc[ind_only.columns[ind_only.iloc[0].to_numpy()], "category"] == "industry_theme").all()
    # SW industry indices map (almost) entirely to the industry in their name
    etfs = b.info("etf")
    sw = etfs.index[etfs["tracked_index"].str.endswith(".SI").to_numpy()]
    m = etf_industries(b, sw, dates[-1], top=1)
    names = info.loc[m["index"], "name"].to_numpy()
    for name, top_ind, share in zip(names, m["industry_1"], m["share_1"]):
        assert top_ind in name and share > 0.9


@pytest.mark.realdata
def test_screen_on_real_etfs(real_data, tmp_path):
    """Real ETFs (no historical AUM ⇒ liquidity proxy): of the three CSI 300 ETFs the most traded,
    510300.SH (华泰柏瑞, the largest CSI 300 ETF), is kept; the Hang Seng ETF is overseas."""
    from etfrot.data.real import build_real

    build_real(real_data, tmp_path / "real", etfs=["510300.SH", "510330.SH", "159919.SZ", "159920.SZ", "512880.SH"],
               stocks=["600519.SH"])
    from etfrot.data import Bundle
    from etfrot.universe import screen_etfs

    b = Bundle.open(tmp_path / "real")
    d = pd.Timestamp("2022-12-30")
    r = screen_etfs(b, [d])
    kept = r.at(d).set_index("index")
    assert kept.loc["000300.SH", "etf"] == "510300.SH"
    assert set(kept["etf"]) == {"510300.SH", "512880.SH"}
    why = r.removed_at(d).set_index("etf")["removed_by"].to_dict()
    assert why == {"510330.SH": "duplicate", "159919.SZ": "duplicate", "159920.SZ": "overseas"}
    assert (r.table["aum_source"] == "proxy").all()
