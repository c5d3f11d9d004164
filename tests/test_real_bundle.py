"""The real bundle built from ../shared/data/real (skipped where that folder is absent).

Built once per module (the full build takes ~10–25 s on 2 cores). Known answers come from the data
README (defect counts), the raw files (dates, values) and published figures (CPI YoY 2020-01 = 5.4,
PPI YoY 2021-10 = 13.5)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

SENTINEL = "tok-real-build-7d1e0b"


@pytest.fixture(scope="module")
def built(real_data, tmp_path_factory):
    from etfrot.data.real import build_real

    old = os.environ.get("TUSHARE_TOKEN")
    os.environ["TUSHARE_TOKEN"] = SENTINEL  # a token in the environment must not leak into any output
    lines: list[str] = []
    try:
        r = build_real(real_data, tmp_path_factory.mktemp("real") / "bundle", echo=lines.append)
    finally:
        if old is None:
            os.environ.pop("TUSHARE_TOKEN", None)
        else:
            os.environ["TUSHARE_TOKEN"] = old
    r.log_lines = lines
    return r


@pytest.fixture(scope="module")
def b(built):
    return built.bundle


@pytest.fixture(scope="module")
def q(built):
    return built.report.frame().set_index("rule", drop=False)


def test_real_bundle_validates(b, real_data):
    b.validate()
    from etfrot.data.real.stocks import BAO_CAVEAT

    # the folder actually read, and the stock universe's survivorship caveat (today's CSI 300 list), in every output
    assert not b.is_synthetic and b.label == f"data: real:{real_data.resolve()} — {BAO_CAVEAT}"
    assert b.manifest["meta"]["inputs"]["etf_tushare_unadj_883"]["last"] == "2022-12-30"
    cal = b.calendar
    assert cal[0] == pd.Timestamp("2005-01-04") and cal[-1] == pd.Timestamp("2022-12-30")
    assert pd.Timestamp("2018-06-18") not in cal and pd.Timestamp("2015-01-01") not in cal
    for t in ("etf_bars", "etf_info", "index_bars", "index_info", "index_weights", "index_members", "stock_bars",
              "stock_info", "stock_industry", "fundamentals", "valuation", "macro"):
        assert b.has(t), t
    assert not b.has("flows")  # the real data have no per-stock / per-index flows
    assert b.table("etf_bars")["aum"].isna().all()  # no size history: no look-ahead from the 2025 snapshot


def test_510300_total_return_tracks_h00300(b):
    """Dividend-correct ETF returns (close × adj_factor) against the CSI 300 total-return index.

    Daily close-to-close correlation is 0.979 over 2013–2022, not > 0.99: the ETF's last trade and the
    index close differ in time, and on days like the 2016-01-07 circuit breaker the ETF fell 2.7 % to
    the index's 6.9 % (Wind's independently adjusted series gives the same returns as ours). Weekly
    returns correlate > 0.99 and the yearly tracking difference is the fee-sized drag expected."""
    etf = b.panel("etf_bars", "close", adjusted=True)["510300.SH"]
    tr = b.panel("index_bars", "close")["H00300.CSI"]
    px = pd.concat([etf, tr], axis=1, keys=["etf", "tr"]).loc["2013":"2022"].dropna()
    r = px.pct_change().dropna()
    assert r.corr().iloc[0, 1] > 0.97
    wk = np.log(px).resample("W-FRI").last().diff().dropna()
    assert wk.corr().iloc[0, 1] > 0.99
    yearly = (1 + r).groupby(r.index.year).prod() - 1
    td = yearly["etf"] - yearly["tr"]
    assert len(td) == 10 and (td.abs() < 0.03).all() and td.mean() < 0  # fees and cash drag: small, negative
    # without the dividend adjustment the ETF would lag by the dividend yield (≈ 2 %/yr) instead
    raw = b.panel("etf_bars", "close")["510300.SH"].loc["2013":"2022"]
    assert raw.iloc[-1] / raw.iloc[0] < etf.loc["2013":"2022"].iloc[-1] / etf.loc["2013":"2022"].iloc[0] * 0.9


def test_every_readme_defect_is_reported_with_its_count(q):
    # README: "52 NaN rows inside 9 ETFs' ranges (2011–2013); 9 ETFs miss trading days"
    assert (q.loc["etf_ts_nan_inside", "rows"], q.loc["etf_ts_nan_inside", "items"]) == (52, 9)
    assert q.loc["etf_ts_missing_days", "items"] == 9
    assert "missing after listing: 0 days" in q.loc["etf_ts_missing_days", "action"]
    assert q.loc["etf_ts_nan_leading", "rows"] > 0  # "most files begin with a few rows of NaN prices"
    assert q.loc["etf_tushare_unadj_883_delisted", "items"] == 73  # "73 ETFs that stopped trading before 2022-12-30"
    assert q.loc["etf_tushare_unadj_883_source_end", "where"] == "2022-12-30"
    assert q.loc["etf_em_additive_adjustment", "items"] == 51  # "51 of 492 shared ETFs have days off by > 0.5 %"
    assert set(q.loc["etf_em_unusable", "where"].split(", ")) == {"159922.SZ", "512690.SH"}
    # "79 ETFs omit suspension days" counts the source's 800-file set; this copy's 462 files: 50
    assert q.loc["etf_em_omitted_days", "items"] == 50
    assert q.loc["index_sh000852_missing", "rows"] == 243  # "misses 243 days"
    assert q.loc["holiday_rows_tr", "rows"] == 3 and "2018-06-18" in q.loc["holiday_rows_tr", "where"]
    assert q.loc["tr_rebase_pre2006", "rows"] == 3 * 242  # 2005 rows of h00300 / h00905 / h00852
    assert {"2015-01-01", "2018-06-18"} <= set(q.loc["holiday_rows_csi_theme", "where"].split(", "))
    assert q.loc["holiday_rows_csi300_daily", "where"] == "2021-01-01"
    assert q.loc["sw_l1_late_start", "where"] == "801950.SI, 801960.SI, 801970.SI, 801980.SI"
    assert q.loc["weights_partial_snapshot_csi300_weights", "where"].startswith("000300.SH 2009-12-03: 6 names, 16.4 %")
    missing = q.loc["weights_missing_months_csi300_weights", "note"].removeprefix("missing: ").split(", ")
    assert {"000300.SH 2016-01", "000300.SH 2016-02"} <= set(missing)
    assert len(missing) == q.loc["weights_missing_months_csi300_weights", "items"] == 62
    # CSI 500 / SSE 50: "500 / 50 names in every snapshot … no month missing", 48 month ends each
    csi = "index_weight_csi500_sse50_2016_2019"
    assert q.loc[f"weights_partial_snapshot_{csi}", "items"] == q.loc[f"weights_missing_months_{csi}", "items"] == 0
    assert q.loc[f"weights_units_{csi}", "items"] == 96
    assert "median 17 days" in q.loc["members_qlib_lag", "where"]  # "lag … by a median 17 days"
    assert q.loc["macro_sf_rmb_loans", "where"].startswith("2022-06: 61,759")
    assert q.loc["macro_jan_feb_nan", "rows"] == 30
    assert "m2_yoy: max |Δ| 0.70 pp" in q.loc["macro_wind_vintage", "where"]  # "up to 0.7 pp off"
    assert "+374%" in q.loc["stock_listing_jumps", "where"]  # "e.g. +202 %, +374 %"
    assert "median ratio to BaoStock's volume 100.0" in q.loc["etf_ts_sh000300_layout", "action"]
    assert "median ratio to BaoStock's amount 1.000" in q.loc["units_quantsplaybook_amount", "action"]
    readme_rules = {"etf_ts_nan_leading", "etf_ts_nan_inside", "etf_ts_missing_days", "etf_tushare_unadj_883_delisted",
                    "etf_ts_sh000300_layout", "units_etf_ts", "etf_em_additive_adjustment", "etf_em_unusable",
                    "etf_em_omitted_days", "etf_em_added_coverage", "tr_rebase_pre2006", "holiday_rows_tr",
                    "index_sh000852_missing", "units_index_broad", "sw_l1_late_start", "holiday_rows_csi300_daily",
                    "wind15_roe_stale", "wind15_end", "weights_partial_snapshot_csi300_weights",
                    "weights_missing_months_csi300_weights", "weights_units_csi300_weights", "stock_universe_bias", "stock_listing_jumps", "units_quantsplaybook_amount",
                    "units_north_money", "etf_aum_lookahead", "etf_meta_static_mapping", "macro_release_lags",
                    "macro_new_loans_definition", "macro_sf_rmb_loans", "macro_jan_feb_nan", "macro_wind_vintage",
                    "macro_industrial_profit", "macro_tsf_definition_change", "sw_code_systems", "sw_backfilled",
                    "members_qlib_lag", "members_event_codes", "fundamentals_derived", "holiday_rows_csi_theme",
                    "csi_theme_ohl_nan", "csi_theme_pe_definition", "units_margin", "derived_sw_weights",
                    "no_fund_flows"}
    assert readme_rules <= set(q.index[q["readme"]])
    for col in ("defect", "action"):
        assert q[col].str.len().gt(0).all()


def test_quality_report_files_beside_the_bundle(built, q):
    p = built.bundle.path
    csv = pd.read_csv(p / "quality_report.csv")
    assert len(csv) == len(q) and set(csv.columns) >= {"rule", "dataset", "defect", "where", "rows", "action"}
    md = (p / "quality_report.md").read_text()
    assert all(f"| {r} |" in md for r in q["rule"])
    assert (p / "sw_crosswalk.csv").exists() and (p / "dropped_etfs.csv").exists()
    dropped = pd.read_csv(p / "dropped_etfs.csv")
    kept = set(built.bundle.table("etf_info")["code"])
    assert not (set(dropped["code"]) & kept)  # every ETF is either in the bundle or listed with a reason
    assert dropped["reason"].notna().all()


def test_adj_factor_agrees_with_tushare_fund_adj(q):
    act = q.loc["check_adj_factor", "action"]
    dev = float(act.split("max relative deviation ")[1].split("%")[0])
    assert dev < 0.2  # fund_adj is rounded to 3 decimals


def test_point_in_time_industry(b):
    """002709.SZ is 基础化工 (SW2014 化工) until SW's 2021-07-30 reclassification, 电力设备 from then."""
    ind = b.industry_panel(pd.DatetimeIndex(["2021-07-29", "2021-07-30"]))["002709.SZ"]
    assert list(ind) == ["基础化工", "电力设备"]
    names = set(b.table("stock_industry")["industry_l1"])
    assert names <= set(b.table("index_info").set_index("code").loc[lambda d: d.index.str.endswith(".SI"), "name"])
    assert len(names) == 31  # one naming: the SW2021 level-1 industries


def test_point_in_time_fundamental(b):
    """600519's 2014Q1 report (np_yoy 4.76 %) was announced 2014-04-25; before that the 2013 annual
    (13.97 %, announced 2014-03-25) is the latest known."""
    p = b.fundamentals_panel("np_yoy", pd.DatetimeIndex(["2013-04-17", "2013-04-18", "2014-04-24", "2014-04-25"]))
    v = p["600519.SH"]
    assert np.isnan(v.iloc[0])
    assert v.iloc[1] == pytest.approx(0.205744)
    assert v.iloc[2] == pytest.approx(0.139662) and v.iloc[3] == pytest.approx(0.047589)


def test_point_in_time_macro(b):
    """CPI YoY 2020-01 = 5.4 is visible from its release lag (10th of February), not before; PPI YoY
    2021-10 = 13.5 from 2021-11-10."""
    m = b.macro_panel(["cpi_yoy", "ppi_yoy"], pd.DatetimeIndex(["2020-02-07", "2020-02-10", "2021-11-09", "2021-11-10"]))
    assert m.loc["2020-02-07", "cpi_yoy"] == pytest.approx(4.5) and m.loc["2020-02-10", "cpi_yoy"] == pytest.approx(5.4)
    assert m.loc["2021-11-09", "ppi_yoy"] == pytest.approx(10.7) and m.loc["2021-11-10", "ppi_yoy"] == pytest.approx(13.5)
    hist = b.macro_history("cpi_yoy", "2020-02-09")
    assert hist.index[-1] == pd.Timestamp("2019-12-01")
    # industrial profits: Jan–Feb 2019 (period 2019-02) released on the 27th of March
    assert b.macro_history("industrial_profit_yoy", "2019-03-26").index[-1] == pd.Timestamp("2018-12-01")
    assert b.macro_history("industrial_profit_yoy", "2019-03-27").index[-1] == pd.Timestamp("2019-02-01")


def test_derived_sw_weights_are_csi300_members_by_industry(b):
    d = pd.Timestamp("2022-12-30")
    w = b.table("index_weights")
    snap = w[w["date"] == d]
    csi = snap[snap["index_code"] == "000300.SH"].set_index("stock_code")["weight"]
    banks = snap[snap["index_code"] == "801780.SI"].set_index("stock_code")["weight"]
    assert banks.sum() == pytest.approx(1.0) and set(banks.index) <= set(csi.index)
    ind = b.industry_panel(pd.DatetimeIndex([d])).iloc[0]
    expected = csi[ind.reindex(csi.index) == "银行"]
    np.testing.assert_allclose(banks.sort_index(), (expected / expected.sum()).sort_index())
    assert "600036.SH" in banks.index  # China Merchants Bank


def test_csi500_and_sse50_weights_are_read(b):
    """index_weight_csi500_sse50_2016_2019: 48 month-end snapshots per index, 500 / 50 names, each summing to 1."""
    w = b.table("index_weights")
    for code, n in (("000905.SH", 500), ("000016.SH", 50)):
        x = w[w["index_code"] == code]
        per = x.groupby("date")["weight"].agg(["size", "sum"])
        assert len(per) == 48 and (per["size"] == n).all() and np.allclose(per["sum"], 1.0)
        assert per.index[0] == pd.Timestamp("2016-01-29") and per.index[-1] == pd.Timestamp("2019-12-31")
    sse = w[(w["index_code"] == "000016.SH") & (w["date"] == pd.Timestamp("2016-01-29"))].set_index("stock_code")
    assert sse.loc["600000.SH", "weight"] == pytest.approx(0.0471, rel=2e-3)  # 4.71 % in the file, renormalised


def test_stock_flags_and_membership(b):
    sb = b.table("stock_bars").set_index(["code", "date"])
    assert bool(sb.loc[("000001.SZ", pd.Timestamp("2013-01-14")), "limit_up"])  # +9.97 %: at the limit
    assert bool(sb.loc[("601607.SH", pd.Timestamp("2010-03-05")), "is_suspended"])
    assert not bool(sb.loc[("000166.SZ", pd.Timestamp("2015-01-26")), "limit_up"])  # listing day: no limit
    m = b.members_panel("000905.SH", pd.DatetimeIndex(["2013-12-13", "2013-12-16"]))
    assert m.loc["2013-12-16"].sum() == 500
    changed = m.loc["2013-12-16"] != m.loc["2013-12-13"]
    assert 0 < changed.sum() <= 2 * 60  # the exact 2013-12-16 rebalance (ZZ500_history)


def test_no_token_in_outputs(built):
    p = built.bundle.path
    for f in p.rglob("*"):
        if f.is_file():
            assert SENTINEL.encode() not in f.read_bytes(), f
    assert all(SENTINEL not in line for line in built.log_lines)


def test_cli_build_real_restricted(real_data, tmp_path):
    """`etfrot data build-real SRC --out PATH --etfs … --stocks …`: a quick subset build that validates."""
    from typer.testing import CliRunner

    from etfrot.cli import app
    from etfrot.data import Bundle

    out = tmp_path / "sub"
    res = CliRunner().invoke(app, ["data", "build-real", str(real_data), "--out", str(out), "--etfs",
                                   "510300.SH,513660.SH", "--stocks", "600519.SH,000001.SZ"])
    assert res.exit_code == 0, res.output
    assert "real bundle written" in res.output and "full report" in res.output
    assert (out / "quality_report.md").exists()
    b = Bundle.open(out)
    assert set(b.table("etf_info")["code"]) == {"510300.SH", "513660.SH"}
    assert set(b.table("stock_bars")["code"]) == {"600519.SH", "000001.SZ"}
    eb = b.table("etf_bars")
    # 513660 gains its 2015–2021 days from the Eastmoney set (flagged), chained into the tushare factor
    first = eb[eb["code"] == "513660.SH"]["date"].min()
    assert first == pd.Timestamp("2015-06-01")
    assert b.manifest["meta"]["restricted"]["etfs"] == ["510300.SH", "513660.SH"]
