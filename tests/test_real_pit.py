"""Point-in-time invariance of ``build-real``: the shared data cut at 2021-06-30 by ``etfrot.data.real.cut``
(same layouts, only what was known that day) builds into a bundle equal to the full build up to the cut.

Only values that can be known later differ, and each is listed here with its reason:
* ``etf_info.delist_date`` / ``stock_info.delist_date`` of assets that stopped after the cut (unknown then: NaT);
* ``index_members.end_date`` of memberships that ended after the cut (open then: NaT);
* ``etf_info.name`` (the latest name of the fund in its file) and ``stock_info.industry_l1`` (the latest
  industry: a display field; the point-in-time history is ``stock_industry``);
* ``stock_industry`` / derived SW weights of the SW2014 codes of the three industries SW2021 split (21 采掘,
  22 化工, 41 公用事业): their SW2021 name is learned from the stocks reclassified on 2021-07-30 — a crosswalk a
  cut before that day cannot learn (the README: the classification is back-filled, not point in time); before
  SW2014 (2014-02-21) the old-system codes are named through the same learned crosswalk;
* ``fundamentals`` rows whose profit and growth parts were announced on either side of the cut;
* stocks first referenced after the cut (e.g. a later CSI 300 member) carry their earlier industry history;
* ``stock_info.list_date`` of a stock listed after the cut that the cut knows only from reports filed before.
Builds are restricted to a few ETFs and stocks (delisted after the cut, listed just before and after it) to
keep the test fast; indices, weights, memberships, fundamentals and macro are complete.
"""

from __future__ import annotations

import pandas as pd
import pytest

CUT = pd.Timestamp("2021-06-30")
ETFS = ["510300.SH", "510500.SH", "159809.SZ", "510860.SH", "159716.SZ", "159601.SZ", "513050.SH", "512690.SH"]
STOCKS = ["600519.SH", "000001.SZ", "600905.SH", "001289.SZ", "601607.SH"]


@pytest.fixture(scope="module")
def pair(real_data, tmp_path_factory):
    from etfrot.data.real import build_real
    from etfrot.data.real.cut import cut_real

    tmp = tmp_path_factory.mktemp("pit")
    full = build_real(real_data, tmp / "full", etfs=ETFS, stocks=STOCKS).bundle
    res = cut_real(real_data, tmp / "src_cut", CUT, symbols=ETFS + STOCKS)
    cut = build_real(tmp / "src_cut", tmp / "cut", etfs=ETFS, stocks=STOCKS).bundle
    return full, cut, res


def _same(a: pd.DataFrame, b: pd.DataFrame, key: list[str]):
    a = a.sort_values(key).reset_index(drop=True)
    b = b.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_like=True)


def test_cut_writes_only_what_was_known(pair):
    _, cut, res = pair
    f = res.files
    assert res.last_day == CUT  # a Wednesday, a trading day
    assert not (f["kind"] == "unknown").any(), f[f["kind"] == "unknown"]
    assert cut.calendar[-1] == CUT
    removed = f.loc[f["action"].str.startswith("removed"), "file"]
    assert any("159601" in x for x in removed)  # listed 2021-11-08: no file in a 2021-06-30 snapshot


@pytest.mark.parametrize("table,date_col", [("calendar", "date"), ("etf_bars", "date"), ("index_bars", "date"),
                                            ("stock_bars", "date"), ("valuation", "date"),
                                            ("macro", "release_date")])
def test_dated_tables_equal_up_to_the_cut(pair, table, date_col):
    full, cut, _ = pair
    from etfrot.data.schema import TABLES

    key = list(TABLES[table].key)
    a = full.table(table)
    a = a[a[date_col] <= CUT]
    b = cut.table(table)
    _same(a, b[b[date_col] <= CUT], key)


def test_fundamentals_equal_up_to_the_cut_except_rows_completed_later(pair):
    """A period whose profit and growth data were announced on different days has one row visible from the later
    day (announce_date = the max): when the cut falls between the two, the cut build shows the profit part from
    its own day and the full build shows the whole row only after the cut. Every other row is equal."""
    full, cut, _ = pair
    key = ["code", "report_period"]
    a, b = full.table("fundamentals"), cut.table("fundamentals")
    later = b.merge(a[a["announce_date"] > CUT][key], on=key)
    assert len(later) <= 10
    b = b.merge(later[key], on=key, how="left", indicator=True)
    b = b[b["_merge"] == "left_only"].drop(columns="_merge")
    _same(a[a["announce_date"] <= CUT], b, key)


SW2014_FROM = pd.Timestamp("2014-02-21")
#: SW2014 level-1 codes that SW2021 split (21 采掘, 22 化工, 41 公用事业): named through the learned crosswalk
SPLIT_SW2014 = ("21", "22", "41")


@pytest.fixture(scope="module")
def crosswalked(real_data):
    """(date, code) → True where the stock's SW code in force is named through the learned crosswalk: a code
    of the old system (before SW2014) or an SW2014 code of a split industry."""
    from etfrot.data.pit import asof_panel
    from etfrot.data.sources._common import stock_code

    c = pd.read_csv(real_data / "sw_classification" / "StockClassifyUse_stock.csv", dtype=str)
    ev = pd.DataFrame({"code": stock_code(c["股票代码"]), "date": pd.to_datetime(c["计入日期"]),
                       "ind": c["行业代码"].str.zfill(6)}).sort_values(["code", "date"])

    def lookup(rows: pd.DataFrame) -> pd.Series:
        dates = pd.DatetimeIndex(sorted(rows["date"].unique()))
        panel = asof_panel(ev, dates, effective="date", code="code", value="ind")
        ind = panel.stack().rename("ind").reset_index()
        m = rows.merge(ind, on=["date", "code"], how="left")
        return ((m["date"] < SW2014_FROM) | m["ind"].str[:2].isin(SPLIT_SW2014)).to_numpy()

    return lookup


def test_weights_equal_up_to_the_cut_except_the_sw_crosswalk(pair, crosswalked):
    """Published weights (CSI 300, CSI 500, SSE 50) are equal up to the cut. Derived SW weights are a function of
    CSI 300's and the stocks' industries: a snapshot differs only where one of its stocks is named through the
    learned crosswalk (see the industry test)."""
    full, cut, _ = pair
    a, b = full.table("index_weights"), cut.table("index_weights")
    a = a[a["date"] <= CUT]
    derived = lambda w: w["index_code"].str.endswith(".SI")
    assert {"000300.SH", "000905.SH", "000016.SH"} <= set(b["index_code"])
    key = ["date", "index_code", "stock_code"]
    _same(a[~derived(a)], b[~derived(b)], key)
    m = a[derived(a)].merge(b[derived(b)], on=key, how="outer", suffixes=("_full", "_cut"), indicator=True)
    bad = (m["_merge"] != "both") | ((m["weight_full"] - m["weight_cut"]).abs() > 1e-12)
    snaps = m.loc[bad, ["date", "index_code"]].drop_duplicates()
    rows = m.merge(snaps, on=["date", "index_code"])[["date", "stock_code"]].rename(columns={"stock_code": "code"})
    per_snap = pd.Series(crosswalked(rows)).groupby([rows["date"].to_numpy()]).any()
    assert per_snap.all(), per_snap[~per_snap]
    assert len(snaps) < 0.5 * m[["date", "index_code"]].drop_duplicates().shape[0]


def test_memberships_equal_up_to_the_cut_except_later_exits(pair):
    full, cut, _ = pair
    key = ["index_code", "stock_code", "start_date"]
    a = full.table("index_members")
    a = a[a["start_date"] <= CUT].copy()
    a.loc[a["end_date"] > CUT, "end_date"] = pd.NaT  # ended after the cut: open on the cut date
    _same(a, cut.table("index_members"), key)


def test_info_tables_equal_except_what_is_known_later(pair):
    full, cut, _ = pair
    a = full.table("etf_info")
    a = a[a["list_date"] <= CUT].copy()
    a.loc[a["delist_date"] > CUT, "delist_date"] = pd.NaT
    b = cut.table("etf_info")
    assert set(b["code"]) == set(a["code"])
    _same(a.drop(columns="name"), b.drop(columns="name"), ["code"])
    assert a.set_index("code").loc["159809.SZ", "delist_date"] is pd.NaT
    # 159809.SZ's last priced bar is 2021-10-14 (its last two days without trades): delisted the day after
    assert full.table("etf_info").set_index("code").loc["159809.SZ", "delist_date"] == pd.Timestamp("2021-10-15")
    s_full, s_cut = full.table("stock_info").set_index("code"), cut.table("stock_info").set_index("code")
    common = s_cut.index
    assert "001289.SZ" not in common or s_cut.loc["001289.SZ", "list_date"] <= CUT
    # a stock the cut knows only from reports filed before its listing (after the cut) has an approximate list_date
    later = s_full.index[s_full["list_date"] > CUT].intersection(common)
    assert later.isin(cut.table("fundamentals")["code"]).all()
    cols = ["name", "list_date"]
    keep = common.difference(later)
    pd.testing.assert_frame_equal(s_full.loc[keep, cols], s_cut.loc[keep, cols], check_dtype=False)


def test_industry_history_equal_except_the_sw2021_crosswalk(pair, crosswalked):
    """Stocks the cut build references: equal history, except rows whose SW code in force is named through the
    learned crosswalk (module docstring)."""
    full, cut, _ = pair
    key = ["date", "code"]
    a = full.table("stock_industry")
    a = a[(a["date"] <= CUT) & a["code"].isin(cut.table("stock_info")["code"])]
    b = cut.table("stock_industry")
    m = a.merge(b, on=key, how="outer", suffixes=("_full", "_cut"), indicator=True)
    diff = m[(m["_merge"] != "both") | (m["industry_l1_full"] != m["industry_l1_cut"])]
    assert crosswalked(diff[key]).all(), diff[~crosswalked(diff[key])]
    assert len(diff) < 0.2 * len(m)


def test_cli_cut_real_writes_the_same_cut(real_data, tmp_path):
    """`etfrot data cut-real` writes what ``cut_real`` writes: no daily row of a cut file after --at."""
    import gzip

    from typer.testing import CliRunner

    from etfrot.cli import app

    r = CliRunner().invoke(app, ["data", "cut-real", str(real_data), "--out", str(tmp_path / "cut"), "--at",
                                 f"{CUT:%Y-%m-%d}", "--symbols", "510300.SH,600519.SH"])
    assert r.exit_code == 0, r.output
    with gzip.open(tmp_path / "cut" / "etf_tushare_unadj_883" / "etf" / "510300.SH.csv.gz", "rt") as f:
        dates = pd.to_datetime(pd.read_csv(f, usecols=["date"])["date"])
    assert dates.max() == CUT and len(dates) > 1000
    assert f"cut at {CUT:%Y-%m-%d}" in r.output
