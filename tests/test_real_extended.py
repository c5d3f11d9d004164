"""``build-real`` on the shared data extended past its last day (issue 11: nothing may assume the current cut).

The extension (``tests/_real_extend.py``) adds 40 business days, in each file's own layout, to the exchange
index files (which vote on the calendar) and to the Eastmoney files of two ETFs; the tushare ETF set and the
stock bars are not extended, so they end on the old last day while other sources go on. One conflicting
duplicate (same ETF, same day, another close) and one exact copy are planted in a new day. Checked: the
calendar runs to the new end; the two ETFs go on (spliced onto Eastmoney after the tushare set ends) and are
not delisted; ETFs and stocks whose source ended are not delisted (a source end, reported); the duplicate is
reported by dataset, code, date and both values and resolved by the stated rule; every dated table of the
extended build up to the old last day equals the build of the unextended data.
"""

from __future__ import annotations

import pandas as pd
import pytest
from _real_extend import extend_real

ETFS = ["510300.SH", "510500.SH", "159915.SZ"]
STOCKS = ["600519.SH"]
INDEX_FILES = [f"index_csindex_tr/{f}" for f in ("h00300.csv", "h00852.csv", "h00905.csv", "sh000001.csv", "sh000300.csv",
                                                 "sh000852.csv", "sh000905.csv", "sz399001.csv")] + \
              [f"index_broad_11/{f}" for f in ("sh000001.csv", "sh000016.csv", "sh000300.csv", "sh000680.csv",
                                               "sh000688.csv", "sh000852.csv", "sh000905.csv", "sh000906.csv",
                                               "sz399006.csv", "sz399303.csv", "sz399673.csv")]
EM_FILES = ["etf_em_qfq_800/etf/510300.csv.gz", "etf_em_qfq_800/etf/510500.csv.gz"]


@pytest.fixture(scope="module")
def builds(real_data, tmp_path_factory):
    from etfrot.data.real import build_real

    tmp = tmp_path_factory.mktemp("extended")
    last = pd.Timestamp(pd.read_csv(real_data / "index_csindex_tr" / "sh000300.csv", usecols=["date"])["date"].max())
    days = pd.bdate_range(last + pd.Timedelta(days=1), periods=40)
    em_last = pd.read_csv(real_data / EM_FILES[0])["close"].iloc[-1]
    conflict = {"datetime": f"{days[5]:%Y-%m-%d}", "open": str(em_last * 1.5), "close": str(em_last * 1.5),
                "high": str(em_last * 1.5), "low": str(em_last * 1.5)}
    copy = {"datetime": f"{days[6]:%Y-%m-%d}", **{c: str(em_last) for c in ("open", "close", "high", "low")}}
    src = extend_real(real_data, tmp / "src", days, INDEX_FILES + EM_FILES,
                      extra_rows={EM_FILES[0]: [conflict, copy]})
    ext = build_real(src, tmp / "ext", etfs=ETFS, stocks=STOCKS)
    orig = build_real(real_data, tmp / "orig", etfs=ETFS, stocks=STOCKS)
    return ext, orig, last, days, em_last


def test_calendar_runs_to_the_new_end(builds):
    ext, orig, last, days, _ = builds
    cal = ext.bundle.calendar
    assert cal[-1] == days[-1] and orig.bundle.calendar[-1] == last
    assert cal[cal <= last].equals(orig.bundle.calendar)
    assert ext.bundle.manifest["meta"]["calendar"][1] == f"{days[-1]:%Y-%m-%d}"


def test_etfs_that_go_on_are_spliced_and_not_delisted(builds):
    ext, _, last, days, _ = builds
    b = ext.bundle
    bars, info = b.table("etf_bars"), b.info("etf")
    for code in ("510300.SH", "510500.SH"):
        assert bars.loc[bars["code"] == code, "date"].max() == days[-1]
        assert pd.isna(info.loc[code, "delist_date"])
    rules = ext.report.frame().set_index("rule")
    assert "etf_splice_em_after_tushare" in rules.index
    assert f"ends {last:%Y-%m-%d}" in rules.loc["etf_splice_em_after_tushare", "defect"]
    # a spliced series has no jump at the junction: the extension is flat, so the adjusted close is too
    adj = b.panel("etf_bars", "close", adjusted=True)["510300.SH"]
    assert adj.loc[last:].nunique() == 2  # the junction day's close, then the flat days (one conflicting day aside)


def test_series_whose_source_ended_are_not_delisted(builds):
    ext, _, last, _, _ = builds
    b = ext.bundle
    bars = b.table("etf_bars")
    assert bars.loc[bars["code"] == "159915.SZ", "date"].max() == last
    assert pd.isna(b.info("etf").loc["159915.SZ", "delist_date"])
    assert pd.isna(b.info("stock").loc["600519.SH", "delist_date"])
    assert b.table("stock_bars")["date"].max() == last
    rep = ext.report.frame().set_index("rule")
    for src in ("etf_tushare_unadj_883", "stocks_csi300_bao"):  # each source's end is reported, with its day
        assert rep.loc[f"{src}_source_end", "where"] == f"{last:%Y-%m-%d}"


def test_conflicting_duplicate_is_reported_by_dataset_code_date_and_values(builds):
    ext, _, _, days, em_last = builds
    rep = ext.report.frame().set_index("rule")
    row = rep.loc["duplicates_etf_em_qfq_800"]
    assert row["dataset"] == "etf_em_qfq_800"
    assert f"code=510300.SH, date={days[5]:%Y-%m-%d}: " in row["where"]
    assert f"close {em_last:.6g} vs {em_last * 1.5:.6g}" in row["where"]
    assert "1 exact copies dropped; 2 conflicting rows over 1 keys resolved: the last row in file order kept" in row["action"]
    raw = ext.bundle.panel("etf_bars", "close")["510300.SH"]
    assert raw.loc[days[5]] == pytest.approx(em_last * 1.5)  # the stated rule: the later row of the file wins


@pytest.mark.parametrize("table", ["etf_bars", "index_bars", "stock_bars", "valuation", "index_weights", "macro",
                                   "fundamentals", "stock_industry", "index_members"])
def test_tables_up_to_the_old_end_equal_the_unextended_build(builds, table):
    from etfrot.strategies.coverage import KNOWN_ON

    ext, orig, last, _, _ = builds
    col = KNOWN_ON.get(table, "date")
    a, b = ext.bundle.table(table), orig.bundle.table(table)
    a, b = a[pd.to_datetime(a[col]) <= last], b[pd.to_datetime(b[col]) <= last]  # (macro: released later)
    key = [c for c in a.columns if c not in ("value",)][:3]
    pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True),
                                  check_dtype=False, check_like=True)
