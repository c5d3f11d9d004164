"""import-qlib on the shared real dump ``qlib_cn_*`` (skips where ../shared/data/real is absent): validation, raw
prices against the bins, CSI 300 against ``index_broad_11``, the README's defect counts, and the point-in-time
invariance of a cut dump (full import up to the cut == import of the cut; an update of the cut bundle == full)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.data.qlib_import import cut_qlib, import_qlib
from etfrot.data.sources import akshare as ak

CUT = pd.Timestamp("2021-06-30")


@pytest.fixture(scope="module")
def dump(real_data):
    cands = sorted(p for p in real_data.glob("qlib_cn_*") if p.is_dir())
    if not cands:
        pytest.skip(f"no qlib_cn_* folder in {real_data}")
    return cands[0]


@pytest.fixture(scope="module")
def full(dump, tmp_path_factory):
    return import_qlib(dump, tmp_path_factory.mktemp("qlib") / "full")


def test_bundle_validates_and_states_survivorship(full):
    b = full.bundle
    b.validate()
    assert b.source.startswith("qlib:") and "survivorship bias" in b.label
    assert b.table("etf_bars").empty and b.manifest["rows"]["stock_bars"] > 0


def test_raw_close_is_bin_over_factor(full, dump):
    """A stock's raw close on a date = the close bin's value / the factor bin's value (same day)."""
    cal = pd.to_datetime((dump / "calendars" / "day.txt").read_text().split())
    c = np.fromfile(dump / "features" / "sh600000" / "close.day.bin", "<f4")
    f = np.fromfile(dump / "features" / "sh600000" / "factor.day.bin", "<f4")
    day = pd.Timestamp("2016-03-01")
    i = cal.get_loc(day) - int(c[0])
    sb = full.bundle.table("stock_bars")
    row = sb[(sb["code"] == "600000.SH") & (sb["date"] == day)].iloc[0]
    assert row["close"] == pytest.approx(float(c[1 + i]) / float(f[1 + i]), rel=1e-12)
    assert row["adj_factor"] == pytest.approx(float(f[1 + i]), rel=1e-12)


def test_csi300_matches_index_broad(full, real_data):
    """000300.SH close equals index_broad_11's on every common day (float32 storage: rel. error < 1e-5)."""
    f = real_data / "index_broad_11" / "sh000300.csv"
    if not f.exists():
        pytest.skip(f"{f} absent")
    ref = ak.parse_stock_zh_index_daily_em(pd.read_csv(f), f.stem).set_index("date")["close"]
    ib = full.bundle.table("index_bars")
    mine = ib[ib["code"] == "000300.SH"].set_index("date")["close"]
    common = mine.index.intersection(ref.index)
    assert len(common) >= 0.99 * len(mine)
    np.testing.assert_allclose(mine[common].to_numpy(), ref[common].to_numpy(), rtol=1e-5)


def test_readme_defect_counts(full):
    """The counts of the README's defect list for qlib_cn_2014_2022 (where our rule measures the same thing)."""
    r = full.report
    got = lambda rule: (r.get(rule)["rows"], r.get(rule)["items"])
    assert got("qlib_suspended_volume0") == (90_484, 983)
    assert got("qlib_volume_nan") == (1_183, 95)
    assert "1181 of them repeat the previous close" in r.get("qlib_volume_nan")["action"]
    assert got("qlib_index_nan") == (506, 7)
    assert got("qlib_stock_jumps") == (9, 8)
    assert got("qlib_index_volume0") == (32, 1)
    assert got("qlib_stock_nan_prices") == (0, 0) and got("qlib_stock_nonpositive") == (0, 0)
    assert r.get("qlib_members_csi300")["items"] == 25 and "245–300 names per day (median 276)" in r.get(
        "qlib_members_csi300")["where"]
    assert r.get("qlib_delisted")["items"] == 0 and r.get("qlib_survivorship")["readme"]
    # factor drops: the README's adjustment errors visible from the factor alone (7 of its 25, incl. SH600654 and
    # SH600655 on 2020-11-25; the rest need the exchange's own returns)
    assert got("qlib_factor_drops") == (7, 7) and "SH600654 2020-11-25" in r.get("qlib_factor_drops")["where"]
    where = r.get("qlib_index_partial_day")["where"]
    assert all(f"{c} 2014-08-0" in where for c in ("SH000905", "SH000906", "SZ399673", "SZ399702"))
    assert r.get("qlib_no_amount")["items"] == 2 and "unavailable" in full.bundle.manifest["meta"]["vwap"]


def test_cut_invariance_and_update(dump, full, tmp_path):
    """Cut at 2021-06-30: every table of the full import up to the cut equals the cut import, except intervals open
    at the cut (their end is known later) and delist dates after it; updating the cut bundle with the full dump
    appends only the later days and gives the full import's bars."""
    cut = tmp_path / "cut"
    cut_qlib(dump, cut, CUT)
    c = import_qlib(cut, tmp_path / "b").bundle
    f = full.bundle
    for t in ("calendar", "stock_bars", "index_bars"):
        a = f.table(t)
        pd.testing.assert_frame_equal(a[a["date"] <= CUT].reset_index(drop=True), c.table(t))
    pd.testing.assert_frame_equal(f.table("index_info"), c.table("index_info"))
    si_f, si_c = f.table("stock_info").set_index("code"), c.table("stock_info").set_index("code")
    si_f = si_f[si_f["list_date"] <= CUT]
    pd.testing.assert_frame_equal(si_f.drop(columns="delist_date"), si_c.drop(columns="delist_date"))
    m_f, m_c = f.table("index_members"), c.table("index_members")
    m_f = m_f[m_f["start_date"] <= CUT].reset_index(drop=True)
    open_at_cut = m_c["end_date"].isna().to_numpy()
    pd.testing.assert_frame_equal(m_f.drop(columns="end_date"), m_c.drop(columns="end_date"))
    pd.testing.assert_series_equal(m_f["end_date"][~open_at_cut], m_c["end_date"][~open_at_cut])
    assert (m_f["end_date"][open_at_cut].dropna() > CUT).all()
    # the update
    u = import_qlib(dump, tmp_path / "b")
    assert u.appended_days == int((f.calendar > CUT).sum())
    assert u.report.get("qlib_update_stock_bars")["rows"] == 0
    for t in ("calendar", "stock_bars", "index_bars", "index_members", "stock_info"):
        pd.testing.assert_frame_equal(u.bundle.table(t), f.table(t))
