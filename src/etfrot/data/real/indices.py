"""Index bars and index valuation from every index source of the real data, merged by priority."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.data.quality import examples as _ex
from etfrot.data.quality import span as _span
from etfrot.data.real.context import Ctx, cal_align, merge_sources
from etfrot.data.sources import akshare as ak
from etfrot.data.sources import baostock as bs
from etfrot.data.sources import tushare as ts
from etfrot.data.sources._common import (
    bars_frame,
    index_code,
    repair_ohlc,
)

TR_FROM = pd.Timestamp("2006-01-01")

#: Index files of csi_theme and their codes / names.
CSI_THEME = {"H30184": ("H30184.CSI", "中证全指半导体"), "930713": ("930713.CSI", "CS人工智"),
             "931071": ("931071.CSI", "人工智能产业"), "931160": ("931160.CSI", "通信设备"),
             "930651": ("930651.CSI", "中证计算机"), "930851": ("930851.CSI", "云计算与大数据"),
             "H30590": ("H30590.CSI", "机器人"), "000985": ("000985.CSI", "中证全指"), "000300": ("000300.SH", "沪深300")}



def build_indices(ctx: Ctx, cal: pd.DatetimeIndex) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(index_bars, valuation, names)."""
    rep = ctx.report
    frames: list[tuple[str, pd.DataFrame]] = []  # (dataset, rows), priority order
    names: dict = {}
    # 1. BaoStock layout (index_csindex_tr): volume in shares; sh000852 misses days → broad_11's instead
    bao = []
    for f in sorted(ctx.folder("index_csindex_tr").glob("s[hz]*.csv")):
        d = pd.read_csv(f, dtype={"date": str})
        d["code"] = f.stem[:2] + "." + f.stem[2:]
        bao.append(bs.parse_index_k_data(d))
    bao = pd.concat(bao, ignore_index=True)
    b852 = bao[bao["code"] == "000852.SH"]
    b852_on = b852[b852["date"].isin(cal)]
    span = cal[(cal >= b852_on["date"].min()) & (cal <= b852_on["date"].max())]
    miss = span.difference(pd.DatetimeIndex(b852_on["date"]))
    rep.add("index_sh000852_missing", "index_csindex_tr/sh000852.csv", "CSI 1000 (BaoStock layout) misses trading days",
            _span(miss), len(miss), 1,
            "file not used; index_broad_11/sh000852.csv used", readme=True, readme_count="243 days in 2011–2018")
    frames.append(("index_csindex_tr", bao[bao["code"] != "000852.SH"]))
    # 2. index_broad_11: AKShare stock_zh_index_daily_em layout (+ code), volume in lots
    broad = []
    for f in sorted(ctx.folder("index_broad_11").glob("*.csv")):
        d = pd.read_csv(f)
        broad.append(ak.parse_stock_zh_index_daily_em(d, f.stem))
    broad = pd.concat(broad, ignore_index=True)
    frames.append(("index_broad_11", broad))
    rep.add("units_index_broad", "index_broad_11", "volume in lots", "11 files", len(broad), broad["code"].nunique(),
            "× 100 → shares", readme=True)
    # 3. quantsplaybook daily.parquet (tushare index_daily; volume in shares, amount 10× CNY): CSI All Share
    qp = pd.read_parquet(ctx.folder("quantsplaybook_misc") / "daily.parquet").reset_index()
    qp["trade_date"] = pd.to_datetime(qp["trade_date"])
    qpb = ts.parse_index_daily(qp.rename(columns={"code": "ts_code", "volume": "vol"}), vol_unit="share",
                               amount_unit="ten_x_cny")
    chk = qpb.merge(bao[["date", "code", "amount"]], on=["date", "code"], suffixes=("", "_bao"))
    ratio = (chk["amount"] / chk["amount_bao"]).median() if len(chk) else np.nan
    rep.add("units_quantsplaybook_amount", "quantsplaybook_misc/daily.parquet", "column amount is 10 × CNY",
            "6 indices", len(qp), qp["code"].nunique(), f"÷ 10 (check: median ratio to BaoStock's amount {ratio:.3f}); "
            "used for 000985.CSI only (the others come from index_csindex_tr / index_broad_11)", readme=True)
    frames.append(("quantsplaybook_misc/daily.parquet", qpb[qpb["code"] == "000985.CSI"]))
    # 4. total-return indices (date, close) from 2006
    tr = []
    for f in sorted(ctx.folder("index_csindex_tr").glob("h00*.csv")):
        d = pd.read_csv(f, parse_dates=["date"])
        c = f.stem.upper() + ".CSI"
        tr.append(bars_frame(d["date"], c, np.nan, np.nan, np.nan, d["close"], np.nan, np.nan))
    tr = pd.concat(tr, ignore_index=True)
    pre = tr["date"] < TR_FROM
    rep.add("tr_rebase_pre2006", "index_csindex_tr/h00300|h00905|h00852", "total-return series re-based at the end of 2005",
            _span(tr.loc[pre, "date"]), int(pre.sum()), 3, "rows before 2006-01-01 dropped", readme=True)
    tr = cal_align(ctx, tr[~pre], cal, "index_csindex_tr/h00*.csv", holiday_rule="holiday_rows_tr", readme=True,
                    readme_count="2018-06-18 in each file")
    frames.append(("index_csindex_tr/h00*", tr))
    # 5. SW level 1: OHLCV (AKShare index_hist_sw) from 2021, closes (sw_price) from 2014
    sd = pd.read_csv(ctx.folder("sw_l1_industry") / "sw_industry_daily.csv", dtype={"code": str})
    swb = ak.parse_index_hist_sw(sd.rename(columns={"code": "代码", "date": "日期", "close": "收盘", "open": "开盘", "high": "最高",
                                                    "low": "最低", "volume": "成交量", "amount": "成交额"}))
    late = swb.groupby("code")["date"].min()
    late = late[late > late.min()]
    rep.add("sw_l1_late_start", "sw_l1_industry/sw_industry_daily.csv", "4 industries start 2021-12-13 (OHLCV)",
            _ex(late.index), len(late), len(late), "their closes from 2014 come from sw_l1_close_2014_2022", readme=True)
    rep.add("units_sw", "sw_l1_industry/sw_industry_daily.csv", "volume in 1e8 shares, amount in 1e8 CNY (AKShare index_hist_sw)",
            "31 industries", len(swb), swb["code"].nunique(), "× 1e8 → shares / CNY")
    sp = pd.read_csv(ctx.folder("sw_l1_close_2014_2022") / "sw_price.csv", parse_dates=["trade_date"])
    spb = bars_frame(sp["trade_date"], index_code(sp["code"]), np.nan, np.nan, np.nan, sp["close"], np.nan, np.nan)
    both = spb.merge(swb[["date", "code", "close"]], on=["date", "code"], suffixes=("", "_ak"))
    rep.add("check_sw_sources", "sw_l1_close_2014_2022 vs sw_l1_industry", "closes of both SW sets on common days",
            _span(both["date"]), len(both), both["code"].nunique(),
            f"check only: max relative difference {(both['close'] / both['close_ak'] - 1).abs().max():.2e}; OHLCV rows "
            "preferred, close-only rows fill 2014–2020", readme=True)
    frames += [("sw_l1_industry", swb), ("sw_l1_close", spb)]
    # 6. Wind 15 indices (OHLC, volume in shares; no amount) and their valuation
    val = []
    for f in sorted((ctx.folder("etf_index_wind_15") / "index").glob("*.csv")):
        if f.stem == "TOTAL":
            continue
        d = pd.read_csv(f, parse_dates=["date"])
        c = index_code(pd.Series([f.stem])).iloc[0]
        frames.append(("etf_index_wind_15", bars_frame(d["date"], c, d["OPEN"], d["HIGH"], d["LOW"], d["CLOSE"], d["VOLUME"], np.nan)))
        val.append(pd.DataFrame({"date": d["date"], "code": c, "pe_ttm": d["PE_TTM"], "pb": d["PB_LF"]}))
        names.setdefault(c, None)
    t = pd.read_csv(ctx.folder("etf_index_wind_15") / "index" / "TOTAL.csv", encoding="utf-8-sig", dtype=str)
    names.update(dict(zip(index_code(t["代码"]), t["中文名"])))
    wind_val = pd.concat(val, ignore_index=True)
    _wind_roe(ctx)
    # 7. csi_theme: OHL with NaN stretches, amount in 1e8 CNY, pe (not Wind's PE_TTM)
    theme_val, theme_bars = [], []
    for f in sorted(ctx.folder("csi_theme").glob("*.csv")):
        if f.stem == "margin":
            continue
        c, nm = CSI_THEME[f.stem]
        d = pd.read_csv(f, parse_dates=["date"])
        theme_bars.append(bars_frame(d["date"], c, d["open"], d["high"], d["low"], d["close"], np.nan, d["amount_yi"] * 1e8))
        names.setdefault(c, nm)
        theme_val.append(pd.DataFrame({"date": d["date"], "code": c, "pe_ttm": d["pe"], "pb": np.nan}))
    frames.append(("csi_theme", cal_align(ctx, pd.concat(theme_bars, ignore_index=True), cal, "csi_theme (9 index files)",
                             holiday_rule="holiday_rows_csi_theme", readme=True, readme_count="2015-01-01 and 2018-06-18")))
    tv = pd.concat(theme_val, ignore_index=True)
    ohl_nan = 0
    for f in sorted(ctx.folder("csi_theme").glob("*.csv")):
        if f.stem != "margin":
            d = pd.read_csv(f, usecols=["open"])
            ohl_nan += int(d["open"].isna().sum())
    rep.add("csi_theme_ohl_nan", "csi_theme", "open/high/low NaN over long early stretches", "H30184, 931071, 931160 …",
            ohl_nan, 3, "kept as NaN (close is complete)", readme=True)
    rep.add("units_csi_theme", "csi_theme", "amount_yi in 1e8 CNY; no volume", "8 index files", 0, 8, "× 1e8 → CNY; volume NaN")
    # valuation: one source per code — Wind PE_TTM/PB_LF where Wind has the index (to 2021-07-30), else csi_theme pe
    wind_codes = set(wind_val["code"])
    tv_used = tv[~tv["code"].isin(wind_codes) & tv["pe_ttm"].notna()]
    rep.add("csi_theme_pe_definition", "csi_theme", "pe is not Wind's PE_TTM (median gap to Wind PE_TTM on CSI 300 ≈ 5 %)",
            _ex(sorted(tv_used["code"].unique())) or "—", len(tv_used), tv_used["code"].nunique(),
            "used as valuation.pe_ttm only for indices without Wind data (one definition per index); flagged", readme=True)
    _csi300_daily(ctx, cal)
    rep.add("wind15_end", "etf_index_wind_15", "Wind series end 2021-07-30", "15 indices", len(wind_val), 15,
            "bars spliced with later sources where they exist; valuation ends 2021-07-30", readme=True)
    valuation = merge_sources(ctx, [("etf_index_wind_15", wind_val.dropna(subset=["pe_ttm", "pb"], how="all")),
                              ("csi_theme", tv_used)], ["date", "code"], "valuation")
    # merge bars by priority and align
    bars = merge_sources(ctx, frames, ["date", "code"], "index bars")
    bars = cal_align(ctx, bars, cal, "index bars")
    bars, n_bad = repair_ohlc(bars, nullable=True)
    if n_bad:
        rep.add("index_ohlc_inconsistent", "index bars", "high < low or close outside [low, high]", "", n_bad, 0,
                "open/high/low set to NaN (close kept)")
    valuation = cal_align(ctx, valuation, cal, "valuation")
    valuation = valuation[(valuation["pe_ttm"].isna() | (valuation["pe_ttm"] > -1e9))]
    ctx.step("indices")
    return bars, valuation, names


def _wind_roe(ctx: Ctx) -> None:
    runs = []
    for f in sorted((ctx.folder("etf_index_wind_15") / "index").glob("*.csv")):
        if f.stem == "TOTAL":
            continue
        d = pd.read_csv(f, usecols=["date", "ROE_TTM"])
        v = d["ROE_TTM"]
        grp = (v != v.shift()).cumsum()
        ln = v.groupby(grp).transform("size")
        runs.append(int(((ln > 250) & v.notna()).sum()))
    ctx.report.add("wind15_roe_stale", "etf_index_wind_15/index", "ROE_TTM unchanged over long stretches (> 250 days)",
                   "15 indices", sum(runs), sum(1 for r in runs if r), "not used (no index-level ROE in the bundle)",
                   readme=True)


def _csi300_daily(ctx: Ctx, cal) -> None:
    d = pd.read_csv(ctx.folder("sw_l1_industry") / "csi300_daily.csv", parse_dates=["date"])
    hol = d[~d["date"].isin(cal)]
    ctx.report.add("holiday_rows_csi300_daily", "sw_l1_industry/csi300_daily.csv", "first row 2021-01-01 is a holiday "
                   "duplicate", _ex(hol["date"].dt.strftime("%Y-%m-%d")), len(hol), 1,
                   "dropped; file used only as a check (CSI 300 bars come from index_csindex_tr)", readme=True)
