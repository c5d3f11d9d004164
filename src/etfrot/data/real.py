"""The real bundle: every dataset of ``../shared/data/real`` through the source parsers, each known
defect of its README detected by a rule and listed in a data-quality report (SPEC §1.3).

``build_real(src, out)`` reads the folder (layouts of tushare, AKShare, BaoStock, Wind and qlib), maps
each file to its library's own column layout, parses it with :mod:`etfrot.data.sources`, applies the
defect rules (drop, fix or flag — never silently), derives what the data lacks but the strategies need,
and writes a validated bundle plus ``quality_report.csv`` / ``quality_report.md`` (and the crosswalks
used) beside its tables. Choices, each a rule in the report:

* **Calendar** — SSE trading days from 2005-01-04 (CSI 300's first day): the dates on which at least
  two of the exchange index files (SSE Composite, SZSE Component, CSI 300 from two sources) have a
  bar; a date in one file only is a holiday row and is dropped from every table.
* **ETFs** — the tushare set (unadjusted, with the exchange's ex-right ``pre_close``):
  adj_factor_t = Π_{s≤t} close_{s−1}/pre_close_s, so close·adj_factor gives dividend- and split-correct
  returns (it matches tushare's own ``fund_adj`` to its 3 decimals). An ETF is listed from its first
  traded day (rows before it — NaN prices and NAV placeholders — are dropped) and delisted the day
  after its last bar when that is before 2022-12-30. The Eastmoney set is used only where it adds
  days the tushare set lacks (flagged: additively adjusted prices). ``aum`` is NaN: the only sizes are
  a 2025 snapshot, and using them for past dates would be look-ahead (screen on traded amount).
  ``tracked_index`` comes from the 2025 snapshot mapping (static metadata), or for ETFs missing from
  it, from an exact name match; ETFs with no known index and non-equity ETFs (money-market, bond,
  commodity) are dropped and listed. A tracked index without bars still gets an ``index_info`` row
  (category and region from its name) so the ETF stays.
* **Stocks** — BaoStock bars: is_suspended = tradestatus 0, is_st = isST, limit flags from preclose
  and the board rule; industry history from the SW change history with both SW2014 (and older) and
  SW2021 codes mapped to the 31 SW2021 level-1 names (crosswalk learned from the stocks' own
  reclassifications, written beside the bundle).
* **Industry weights** — the real data has no SW index constituents: for every CSI 300 weight
  snapshot, each SW level-1 index 801xxx.SI gets the weights of the CSI 300 members classified in it
  (as of that date), renormalised to 1. A derived proxy, documented as such.
* **Macro** — monthly series with conservative release dates (PMI: the month's last day; CPI/PPI: the
  10th of the next month; money, loans, social financing: the 15th; industrial profits: the 27th;
  others: see :data:`RELEASE_DAY`); daily market series (northbound flows, margin balances) are
  macro series too, visible from their publication day.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from etfrot.data.bundle import Bundle, write_bundle
from etfrot.data.pit import asof_panel
from etfrot.data.sources import akshare as ak
from etfrot.data.sources import baostock as bs
from etfrot.data.sources import tushare as ts
from etfrot.data.sources._assemble import (
    SW_L1_NAMES,
    index_info_frame,
    merge_priority,
)
from etfrot.data.sources._common import (
    bars_frame,
    etf_code,
    index_code,
    infer_asset_class,
    repair_ohlc,
    stock_code,
    to_dates,
    to_float,
)
from etfrot.data.quality import QualityReport
from etfrot.data.quality import examples as _ex
from etfrot.data.quality import span as _span
from etfrot.errors import SourceError

CAL_START = pd.Timestamp("2005-01-04")
DATA_END = pd.Timestamp("2022-12-30")
STOCK_DATA_START = pd.Timestamp("2010-01-04")
TR_FROM = pd.Timestamp("2006-01-01")

#: Day of the next month on which a monthly series counts as released (None = last day of the month).
RELEASE_DAY = {"cpi_yoy": 10, "ppi_yoy": 10, "pmi": None, "pmi_nonmfg": None, "m1_yoy": 15, "m2_yoy": 15,
               "m1_level": 15, "m2_level": 15, "new_loans": 15, "tsf_flow": 15, "tsf_rmb_loans": 15, "tsf_stock": 15,
               "tsf_yoy": 15, "industrial_profit_yoy": 27, "exports_yoy": 15, "imports_yoy": 15,
               "exports_ytd_yoy": 15, "imports_ytd_yoy": 15, "retail_sales_yoy": 20, "retail_sales_ytd_yoy": 20,
               "fixed_asset_investment_yoy": 20, "fiscal_revenue_yoy": 25, "fiscal_revenue_ytd_yoy": 25}

#: SW2014 level 1 (two digits) → SW2021 level-1 name; used only where no stock's own reclassification
#: teaches the mapping (the README's list; 21 采掘 is split in SW2021 and decided by the learned map).
SW2014_L1 = {"11": "农林牧渔", "21": "煤炭", "22": "基础化工", "23": "钢铁", "24": "有色金属", "27": "电子", "28": "汽车",
             "33": "家用电器", "34": "食品饮料", "35": "纺织服饰", "36": "轻工制造", "37": "医药生物", "41": "公用事业",
             "42": "交通运输", "43": "房地产", "45": "商贸零售", "46": "社会服务", "48": "银行", "49": "非银金融",
             "51": "综合", "61": "建筑材料", "62": "建筑装饰", "63": "电力设备", "64": "机械设备", "65": "国防军工",
             "71": "计算机", "72": "传媒", "73": "通信"}
#: The pre-2014 SW system's level 1 (23 industries) → SW2021 level-1 name, last-resort fallback.
SW_OLD_L1 = {"11": "农林牧渔", "21": "煤炭", "22": "基础化工", "23": "钢铁", "24": "有色金属", "25": "建筑材料",
             "26": "机械设备", "27": "电子", "28": "汽车", "31": "汽车", "32": "通信", "33": "家用电器", "34": "食品饮料",
             "35": "纺织服饰", "36": "轻工制造", "37": "医药生物", "41": "公用事业", "42": "交通运输", "43": "房地产",
             "44": "非银金融", "45": "商贸零售", "46": "社会服务", "47": "计算机", "51": "综合"}
SW2014_FROM, SW2021_FROM = pd.Timestamp("2014-02-21"), pd.Timestamp("2021-07-30")

#: Index files of csi_theme and their codes / names.
CSI_THEME = {"H30184": ("H30184.CSI", "中证全指半导体"), "930713": ("930713.CSI", "CS人工智"),
             "931071": ("931071.CSI", "人工智能产业"), "931160": ("931160.CSI", "通信设备"),
             "930651": ("930651.CSI", "中证计算机"), "930851": ("930851.CSI", "云计算与大数据"),
             "H30590": ("H30590.CSI", "机器人"), "000985": ("000985.CSI", "中证全指"), "000300": ("000300.SH", "沪深300")}


# =============================================================================================== helpers
def _read_csv(path: Path, **kw) -> pd.DataFrame:
    return pd.read_csv(path, **kw)


def _read_many(paths: list[Path], key_from, strings=()) -> pd.DataFrame:
    """Read many small CSV(.gz) files of one layout with pyarrow (``strings`` columns as text) into one
    frame with a ``_file`` column (the key of each file)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    tables = []
    opts = pcsv.ConvertOptions(column_types={c: pa.string() for c in strings}, strings_can_be_null=True)
    for p in paths:
        t = pcsv.read_csv(p, convert_options=opts)
        tables.append(t.append_column("_file", pa.array([key_from(p)] * t.num_rows, pa.string())))
    if not tables:
        return pd.DataFrame()
    t = pa.concat_tables(tables, promote_options="permissive")
    del tables
    # repeated text (file keys, names, codes) as categoricals: far less memory and fast group-bys
    for i, f in enumerate(t.schema):
        if pa.types.is_string(f.type) and f.name in ("_file", "name", "code"):
            t = t.set_column(i, f.name, t.column(f.name).dictionary_encode())
    df = t.to_pandas(self_destruct=True, split_blocks=True)
    del t
    pa.default_memory_pool().release_unused()
    return df


class _Ctx:
    def __init__(self, src: Path, report: QualityReport, echo) -> None:
        self.src, self.report, self.echo = src, report, echo
        self.t0 = time.perf_counter()
        self.timings: dict[str, float] = {}
        self._last = self.t0

    def step(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._last, 3)
        self._last = now
        if self.echo:
            self.echo(f"{name}: {self.timings[name]:.1f}s")


def _cal_align(ctx: _Ctx, df: pd.DataFrame, cal: pd.DatetimeIndex, dataset: str, col: str = "date",
               holiday_rule: str | None = None, readme: bool = False, readme_count: str = "") -> pd.DataFrame:
    """Keep rows on the calendar; rows on a non-trading day inside the window are holiday rows
    (reported under ``holiday_rule``), rows outside the window are reported as out of window."""
    if df.empty:
        return df
    d = df[col]
    inside = (d >= cal[0]) & (d <= cal[-1])
    on = d.isin(cal)
    hol = inside & ~on
    if hol.any():
        ctx.report.add(holiday_rule or "holiday_rows", dataset, "rows dated on a non-trading day (holiday rows)",
                       _ex(pd.unique(d[hol].dt.strftime("%Y-%m-%d"))), int(hol.sum()),
                       int(df.loc[hol, "code"].nunique()) if "code" in df else 1, "dropped (aligned to the calendar)",
                       readme=readme, readme_count=readme_count)
    out = ~inside
    if out.any():
        ctx.report.add("outside_window", dataset, f"rows before {cal[0]:%Y-%m-%d} or after {cal[-1]:%Y-%m-%d}",
                       _span(d[out]), int(out.sum()), int(df.loc[out, "code"].nunique()) if "code" in df else 1,
                       "dropped (outside the bundle's calendar)")
    return df[on.to_numpy()].reset_index(drop=True)


# =============================================================================================== calendar
def build_calendar(ctx: _Ctx) -> pd.DatetimeIndex:
    src = ctx.src
    files = {"index_csindex_tr/sh000001.csv": None, "index_csindex_tr/sz399001.csv": None,
             "index_csindex_tr/sh000300.csv": None, "index_broad_11/sh000300.csv": None}
    sets = []
    for f in files:
        d = pd.to_datetime(pd.read_csv(src / f, usecols=["date"])["date"])
        sets.append(pd.DatetimeIndex(d[d >= CAL_START]))
    allv = pd.concat([pd.Series(1, index=s) for s in sets]).groupby(level=0).sum()
    cal = pd.DatetimeIndex(allv.index[allv >= 2]).sort_values()
    cal = cal[cal <= DATA_END]
    single = allv.index[allv < 2]
    ctx.report.add("calendar", ", ".join(files), "SSE trading days: dates with a bar in ≥ 2 of 4 exchange index files",
                   _span(cal), len(cal), 4, "calendar built",
                   note=f"{len(single)} date(s) in one file only dropped: {_ex(single.strftime('%Y-%m-%d'))}" if len(single) else "")
    return cal


# =============================================================================================== ETFs
@dataclass
class EtfData:
    bars: pd.DataFrame
    names: dict
    em_used: list


def _ts_etf_frame(ctx: _Ctx, etfs) -> pd.DataFrame:
    folder = ctx.src / "etf_tushare_unadj_883" / "etf"
    paths = sorted(folder.glob("*.csv.gz"))
    if etfs is not None:
        want = set(etfs)
        paths = [p for p in paths if p.name[:9] in want]
    df = _read_many(paths, lambda p: p.name[:9], strings=("code", "name", "date"))
    df["date"] = pd.to_datetime(df["date"])
    return df


def build_etfs(ctx: _Ctx, cal: pd.DatetimeIndex, etfs=None) -> EtfData:
    rep = ctx.report
    raw = _ts_etf_frame(ctx, etfs)
    raw = raw.sort_values(["_file", "date"], kind="stable").reset_index(drop=True)
    code = raw["_file"]
    priced = raw["close"].notna()
    traded = priced & raw["vol"].notna() & (raw["vol"] > 0)
    # first / last priced row, first traded row per ETF (positions within each ETF)
    pos = raw.groupby(code).cumcount()
    first_priced = pos.where(priced).groupby(code).transform("min")
    last_priced = pos.where(priced).groupby(code).transform("max")
    first_traded = pos.where(traded).groupby(code).transform("min")
    empty_codes = sorted(set(code) - set(code[priced]))
    rep.add("etf_ts_empty", "etf_tushare_unadj_883", "ETF files without a single priced row (listed after 2022)",
            _ex(empty_codes), int(code.isin(empty_codes).sum()), len(empty_codes), "ETF dropped (no bars)")
    lead = ~priced & (pos < first_priced)
    rep.add("etf_ts_nan_leading", "etf_tushare_unadj_883", "rows with NaN prices before an ETF's first priced row "
            "(fund set up, not yet listed)", f"{int(code[lead].nunique())} ETFs", int(lead.sum()),
            int(code[lead].nunique()), "dropped", readme=True, readme_count="most files")
    inside = ~priced & (pos > first_priced) & (pos < last_priced)
    rep.add("etf_ts_nan_inside", "etf_tushare_unadj_883", "NaN-price rows inside an ETF's priced range",
            f"{_ex(sorted(code[inside].unique()))}; {_span(raw.loc[inside, 'date'])}", int(inside.sum()),
            int(code[inside].nunique()), "dropped (all lie before the ETF's first traded day)", readme=True,
            readme_count="52 rows in 9 ETFs")
    trailing = ~priced & (pos > last_priced)
    if trailing.any():
        rep.add("etf_ts_nan_trailing", "etf_tushare_unadj_883", "NaN-price rows after the last priced row", "", int(trailing.sum()),
                int(code[trailing].nunique()), "dropped")
    # missing trading days inside the priced range
    pr = raw[priced]
    rng = pr.groupby("_file")["date"].agg(["min", "max"])
    calpos = pd.Series(np.arange(len(cal)), index=cal)
    span_days = calpos.reindex(rng["max"]).to_numpy() - calpos.reindex(rng["min"]).to_numpy() + 1
    have = pr.groupby("_file")["date"].nunique().reindex(rng.index).to_numpy()
    miss = pd.Series(span_days - have, index=rng.index)
    miss = miss[miss > 0]
    tr = raw[traded]
    trng = tr.groupby("_file")["date"].agg(["min", "max"])
    tspan = calpos.reindex(trng["max"]).to_numpy() - calpos.reindex(trng["min"]).to_numpy() + 1
    rows_after = raw[priced & (pos >= first_traded)].groupby("_file")["date"].nunique().reindex(trng.index).to_numpy()
    miss_after = pd.Series(tspan - rows_after, index=trng.index)
    miss_after = miss_after[miss_after > 0]
    rep.add("etf_ts_missing_days", "etf_tushare_unadj_883", "trading days missing inside an ETF's priced range",
            _ex([f"{c} ({n})" for c, n in miss.items()]), int(miss.sum()), len(miss),
            "none needed: all fall before the ETF's first traded day (listing); "
            f"missing after listing: {int(miss_after.sum())} days in {len(miss_after)} ETFs, left as gaps",
            readme=True, readme_count="9 ETFs")
    placeholder = priced & (pos < first_traded)
    rep.add("etf_ts_prelisting_placeholders", "etf_tushare_unadj_883", "priced rows without trades before an ETF's "
            "first traded day (NAV placeholders such as 1.0)", f"{int(code[placeholder].nunique())} ETFs",
            int(placeholder.sum()), int(code[placeholder].nunique()), "dropped: the ETF is listed from its first traded day")
    notrade = priced & (pos > first_traded) & ~traded
    rep.add("etf_ts_no_trade_days", "etf_tushare_unadj_883", "priced rows without volume after listing (no trades, "
            "e.g. suspension or split days)", f"{int(code[notrade].nunique())} ETFs", int(notrade.sum()),
            int(code[notrade].nunique()), "kept with volume = amount = 0")
    keep = priced & (pos >= first_traded)
    clean = raw[keep.to_numpy()]
    names = clean.groupby("_file")["name"].last().to_dict()
    lib = clean.rename(columns={"date": "trade_date", "_file": "ts_code"})[
        ["ts_code", "trade_date", "open", "high", "low", "close", "pre_close", "vol", "amount"]]
    bars = ts.parse_fund_daily(lib, vol_unit="share", amount_unit="cny")
    rep.add("units_etf_ts", "etf_tushare_unadj_883", "units: vol already in shares, amount in CNY (not tushare's lots / "
            "thousand CNY)", "all ETF files", len(bars), bars["code"].nunique(), "parsed with vol_unit=share, amount_unit=cny",
            readme=True)
    last = bars.groupby("code")["date"].max()
    delisted = last[last < DATA_END]
    rep.add("etf_ts_delisted", "etf_tushare_unadj_883", "ETFs that stopped trading before 2022-12-30 (delisted or merged)",
            _ex(delisted.index), len(delisted), len(delisted), "kept; delist_date = the day after the last bar",
            readme=True, readme_count="73")
    _check_adj_factor(ctx, bars)
    _ts_index_file(ctx)

    # ---- Eastmoney set: defects, and the days it adds
    em_used: list = []
    em = _em_etfs(ctx, cal, set(bars["code"]) | set(empty_codes), raw)
    if em is not None and len(em):
        add, em_used = _em_checks(ctx, em, bars, cal)
        if len(add):
            bars = _splice_em(ctx, bars, add)
    bars = bars[bars["code"].notna()]
    bars, n_bad = repair_ohlc(bars, nullable=True)
    if n_bad:
        rep.add("etf_ohlc_inconsistent", "etf bars", "high < low or close outside [low, high]", "", n_bad, 0,
                "open/high/low set to NaN (close kept)")
    bars = _cal_align(ctx, bars, cal, "etf bars")
    ctx.step("etfs")
    return EtfData(bars=bars, names=names, em_used=em_used)


def _check_adj_factor(ctx: _Ctx, bars: pd.DataFrame) -> None:
    """Cross-check: the derived adj_factor against tushare's own fund_adj (quantsplaybook_misc)."""
    p = ctx.src / "quantsplaybook_misc" / "etf_adjfactor.parquet"
    if not p.exists():
        return
    fa = ts.parse_fund_adj(pd.read_parquet(p))
    m = fa.merge(bars[["date", "code", "adj_factor"]], on=["date", "code"], suffixes=("_ts", "_etfrot"))
    if m.empty:
        return
    m = m.sort_values(["code", "date"])
    base = m.groupby("code")[["adj_factor_ts", "adj_factor_etfrot"]].transform("first")
    rel = (m["adj_factor_etfrot"] / base["adj_factor_etfrot"]) / (m["adj_factor_ts"] / base["adj_factor_ts"]) - 1
    ctx.report.add("check_adj_factor", "quantsplaybook_misc/etf_adjfactor.parquet",
                   "derived adj_factor vs tushare fund_adj (rebased to the first common day)",
                   _ex(sorted(m["code"].unique())), len(m), m["code"].nunique(),
                   f"check only: max relative deviation {np.abs(rel).max():.4%} (fund_adj is rounded to 3 decimals)")


def _ts_index_file(ctx: _Ctx) -> None:
    p = ctx.src / "etf_tushare_unadj_883" / "sh000300.csv"
    if not p.exists():
        return
    d = pd.read_csv(p)
    dates = to_dates(d["date"], fmt="%Y/%m/%d")
    b = pd.read_csv(ctx.src / "index_csindex_tr" / "sh000300.csv", parse_dates=["date"]).set_index("date")
    vol_lots = pd.Series(to_float(d["amount"]).to_numpy(), index=dates)
    ratio = (b["volume"].reindex(vol_lots.index) / vol_lots).median()
    ctx.report.add("etf_ts_sh000300_layout", "etf_tushare_unadj_883/sh000300.csv", "dates like 2005/1/4; column "
                   "'amount' is the volume in lots", _span(dates), len(d), 1,
                   f"parsed with format %Y/%m/%d; amount × 100 = volume in shares (median ratio to BaoStock's volume "
                   f"{ratio:.1f}); not used for bars (index_csindex_tr has CSI 300 with amount)", readme=True)


def _em_etfs(ctx: _Ctx, cal, ts_codes: set, raw_ts: pd.DataFrame) -> pd.DataFrame | None:
    folder = ctx.src / "etf_em_qfq_800" / "etf"
    if not folder.is_dir():
        return None
    by6 = {c[:6]: c for c in ts_codes}
    paths = [p for p in sorted(folder.glob("*.csv.gz")) if p.name[:6] in by6]
    em = _read_many(paths, lambda p: by6[p.name[:6]], strings=("datetime",))
    if em.empty:
        return em
    em["date"] = pd.to_datetime(em["datetime"])
    return em


def _em_checks(ctx: _Ctx, em: pd.DataFrame, bars: pd.DataFrame, cal) -> tuple[pd.DataFrame, list]:
    rep = ctx.report
    em = em.sort_values(["_file", "date"]).reset_index(drop=True)
    r_em = em["close"] / em.groupby("_file")["close"].shift(1) - 1
    e = pd.DataFrame({"code": em["_file"], "date": em["date"], "r_em": r_em, "close_em": em["close"]})
    b = bars.sort_values(["code", "date"])
    r_ts = b["close"] * b["adj_factor"] / (b["close"] * b["adj_factor"]).groupby(b["code"]).shift(1) - 1
    t = pd.DataFrame({"code": b["code"], "date": b["date"], "r_ts": r_ts})
    j = e.merge(t, on=["code", "date"], how="inner").dropna(subset=["r_em", "r_ts"])
    off = (j["r_em"] - j["r_ts"]).abs() > 0.005
    per = off.groupby(j["code"]).agg(["sum", "size"])
    bad = per[per["sum"] > 0]
    rep.add("etf_em_additive_adjustment", "etf_em_qfq_800", "Eastmoney's additive forward adjustment distorts daily "
            "returns: days off by > 0.5 % from the tushare dividend-correct return",
            _ex([f"{c} ({int(n)})" for c, n in bad["sum"].sort_values(ascending=False).items()]), int(per["sum"].sum()),
            len(bad), "Eastmoney prices not used where tushare has the day", readme=True, readme_count="51 of 492 shared ETFs")
    unusable = per[per["sum"] > 0.5 * per["size"]]
    rep.add("etf_em_unusable", "etf_em_qfq_800", "Eastmoney series unusable (more than half of the shared days off by "
            "> 0.5 %, non-positive prices)", _ex(unusable.index), int(unusable["sum"].sum()), len(unusable),
            "not used", readme=True, readme_count="159922, 512690")
    nonpos = em[em["close"] <= 0]
    if len(nonpos):
        rep.add("etf_em_nonpositive", "etf_em_qfq_800", "non-positive forward-adjusted prices",
                _ex(sorted(nonpos["_file"].unique())), len(nonpos), nonpos["_file"].nunique(), "not used")
    # suspension days omitted (calendar days inside each EM series' range without a row)
    rng = em.groupby("_file")["date"].agg(["min", "max"])
    calpos = pd.Series(np.arange(len(cal)), index=cal)
    lo, hi = calpos.reindex(rng["min"]).to_numpy(), calpos.reindex(rng["max"]).to_numpy()
    have = em[em["date"].isin(cal)].groupby("_file")["date"].nunique().reindex(rng.index).to_numpy()
    omit = pd.Series(hi - lo + 1 - have, index=rng.index)
    omit = omit[omit > 0]
    rep.add("etf_em_omitted_days", "etf_em_qfq_800", "trading days missing inside an Eastmoney series (suspension "
            "days omitted instead of carried)", _ex([f"{c} ({int(n)})" for c, n in omit.items()]), int(omit.sum()),
            len(omit), "not filled; tushare bars used", readme=True,
            readme_count="79 ETFs (README's count over its 800-file set; this copy holds 462 files)")
    # days the tushare set lacks (before an ETF's first tushare bar)
    first_ts = bars.groupby("code")["date"].min()
    e2 = em[["_file", "date"]].assign(first=em["_file"].astype(str).map(first_ts).astype("datetime64[ns]"))
    add_mask = (e2["first"].isna() | (e2["date"] < e2["first"])) & ~em["_file"].isin(unusable.index) & (em["close"] > 0)
    add = em[add_mask.to_numpy()]
    rep.add("etf_em_added_coverage", "etf_em_qfq_800", "Eastmoney rows on days the tushare set lacks (used)",
            _ex([f"{c}: {_span(g['date'])}" for c, g in add.groupby("_file")]), len(add), add["_file"].nunique(),
            "used, flagged: additively forward-adjusted prices (adj_factor 1 on these rows, chained into the tushare "
            "factor at the junction); 成交量 lots × 100 → shares", readme=True,
            note="the additive adjustment is a known defect of these rows' returns")
    return add, sorted(add["_file"].unique())


def _splice_em(ctx: _Ctx, bars: pd.DataFrame, add: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for c, g in add.groupby("_file"):  # a handful of ETFs
        lib = g.rename(columns={"datetime": "日期", "open": "开盘", "close": "收盘", "high": "最高", "low": "最低",
                                "volume": "成交量"})
        parts.append(ak.parse_fund_etf_hist_em(lib, c))
    em_bars = pd.concat(parts, ignore_index=True)
    bars = bars.copy()
    # chain: the first tushare day's return stays close/pre_close − 1 against the last Eastmoney close
    for c in em_bars["code"].unique():
        last_em = em_bars[em_bars["code"] == c].sort_values("date").iloc[-1]
        ts_rows = bars["code"] == c
        if not ts_rows.any():
            continue
        first = bars[ts_rows].sort_values("date").iloc[0]
        pre = _pre_close_of(ctx, c, first["date"])
        k = last_em["close"] / pre if pre and pre > 0 else 1.0
        bars.loc[ts_rows, "adj_factor"] = bars.loc[ts_rows, "adj_factor"] * k
    return pd.concat([bars, em_bars], ignore_index=True).sort_values(["date", "code"]).reset_index(drop=True)


def _pre_close_of(ctx: _Ctx, code: str, date) -> float | None:
    d = pd.read_csv(ctx.src / "etf_tushare_unadj_883" / "etf" / f"{code}.csv.gz", parse_dates=["date"])
    r = d.loc[d["date"] == date, "pre_close"]
    return float(r.iloc[0]) if len(r) and pd.notna(r.iloc[0]) else None


# =============================================================================================== ETF → index
def etf_mapping(ctx: _Ctx, codes: list[str], names: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept etf list with tracked index & metadata, dropped ETFs with reason)."""
    rep = ctx.report
    meta = pd.read_csv(ctx.src / "etf_meta_snapshot_2025" / "etf_list_size_tracking_index.csv", dtype=str)
    meta["code"] = etf_code(meta["code"])
    meta = meta.drop_duplicates("code").set_index("code")
    meta["tic"] = index_code(meta["tracking_index_code"])
    idx_names = meta.dropna(subset=["tracking_index_code"]).assign(
        tracking_index_code=lambda m: index_code(m["tracking_index_code"]))
    name_to_code = (idx_names.groupby("tracking_index_name")["tracking_index_code"]
                    .agg(lambda x: x.value_counts().index[0]).to_dict())
    managers = sorted({_short_manager(m) for m in meta["manager"].dropna()} - {""}, key=len, reverse=True)
    rows, dropped = [], []
    for c in codes:  # a few hundred ETFs
        etf_name = names.get(c)
        if c in meta.index:
            r = meta.loc[c]
            tic = r["tic"] if isinstance(r["tic"], str) else None
            tname = r["tracking_index_name"] if isinstance(r["tracking_index_name"], str) else None
            how = "2025 snapshot"
            mgr = r["manager"]
            fee = float(r["management_fee_rate"]) / 100 if isinstance(r["management_fee_rate"], str) else np.nan
        else:
            tic, tname, how = _match_by_name(etf_name, name_to_code, managers)
            mgr, fee = None, np.nan
        cls = infer_asset_class(etf_name or (meta.loc[c, "name"] if c in meta.index else ""), tic, tname)
        if tic is None and cls == "equity" and c in meta.index:
            cls = "money_market" if "货币" in str(meta.loc[c, "name"]) or not isinstance(meta.loc[c, "tracking_index_code"], str) else cls
        if cls in ("money_market", "bond", "commodity"):
            dropped.append((c, etf_name, cls, "non-equity ETF", tic))
            continue
        if tic is None:
            dropped.append((c, etf_name, cls, "tracked index unknown (not in the 2025 snapshot, no exact name match)", None))
            continue
        rows.append({"code": c, "name": etf_name or (meta.loc[c, "name"] if c in meta.index else c), "tracked_index": tic,
                     "tracked_name": tname, "manager": mgr, "fee_rate": fee, "category": cls, "mapping": how})
    kept = pd.DataFrame(rows)
    drop = pd.DataFrame(dropped, columns=["code", "name", "asset_class", "reason", "tracked_index"])
    by_name = kept[kept["mapping"] == "exact name match"] if len(kept) else kept
    rep.add("etf_meta_static_mapping", "etf_meta_snapshot_2025", "ETF → tracked index from a 2025 snapshot "
            "(static metadata, acceptable: an ETF's index rarely changes; fees are 2025's)",
            f"{int((kept['mapping'] == '2025 snapshot').sum())} ETFs", int((kept["mapping"] == "2025 snapshot").sum()),
            int((kept["mapping"] == "2025 snapshot").sum()), "used as static metadata; fee_rate % → decimal", readme=True)
    rep.add("etf_index_by_name", "etf_tushare_unadj_883", "ETFs missing from the 2025 snapshot whose tracked index was "
            "found by an exact name match (name minus manager and 'ETF' equals an index name)",
            _ex([f"{r.code}→{r.tracked_index}" for r in by_name.itertuples()]), len(by_name), len(by_name), "kept, flagged")
    unk = drop[drop["reason"].str.startswith("tracked index unknown")]
    rep.add("etf_index_unknown", "etf_tushare_unadj_883", "ETFs whose tracked index is unknown (delisted or renamed "
            "before 2025, no exact name match)", _ex(unk["code"]), len(unk), len(unk), "dropped (listed in dropped_etfs.csv)")
    ne = drop[drop["reason"] == "non-equity ETF"]
    rep.add("etf_non_equity", "etf_tushare_unadj_883", "money-market, bond and commodity ETFs (no A-share index category)",
            ", ".join(f"{k}: {v}" for k, v in ne["asset_class"].value_counts().items()), len(ne), len(ne),
            "dropped (listed in dropped_etfs.csv)", readme=True)
    rep.add("etf_aum_lookahead", "etf_meta_snapshot_2025", "fund_size is a 2025 snapshot (亿元): using it for past dates "
            "is look-ahead", "all ETFs", len(meta), len(meta), "not used: etf_bars.aum = NaN; screen on traded amount",
            readme=True)
    _check_wind_mapping(ctx, kept)
    return kept, drop


def _short_manager(m: str) -> str:
    for suf in ("基金管理股份有限公司", "基金管理有限责任公司", "基金管理有限公司", "资产管理有限公司", "基金有限公司", "证券股份有限公司"):
        if m.endswith(suf):
            return m[: -len(suf)]
    return m


def _match_by_name(name, name_to_code: dict, managers: list[str]):
    if not isinstance(name, str) or not name:
        return None, None, None
    n = name.replace("(QDII)", "").replace("QDII", "")
    for m in managers:
        if n.startswith(m):
            n = n[len(m):]
            break
    n = n.replace("交易型开放式指数基金", "").replace("ETF基金", "").replace("ETF", "").replace("指数", "").strip()
    for cand in (n, n.removeprefix("中证")):
        if cand in name_to_code:
            return name_to_code[cand], cand, "exact name match"
    return None, None, None


def _check_wind_mapping(ctx: _Ctx, kept: pd.DataFrame) -> None:
    p = ctx.src / "etf_index_wind_15" / "index" / "TOTAL.csv"
    if not p.exists() or kept.empty:
        return
    t = pd.read_csv(p, encoding="utf-8-sig", dtype=str)
    w = pd.Series(index_code(t["代码"]).to_numpy(), index=etf_code(t["ETF代码"]).to_numpy())
    k = kept.set_index("code")["tracked_index"]
    common = w.index.intersection(k.index)
    dis = [c for c in common if w[c] != k[c]]
    ctx.report.add("check_wind_mapping", "etf_index_wind_15/index/TOTAL.csv", "Wind's ETF ↔ index mapping vs the 2025 "
                   "snapshot", _ex([f"{c}: wind {w[c]} vs {k[c]}" for c in dis]) or "agree", len(common), len(dis),
                   "check only (snapshot mapping used)")


# =============================================================================================== indices
def build_indices(ctx: _Ctx, cal: pd.DatetimeIndex) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(index_bars, valuation, names)."""
    rep, src = ctx.report, ctx.src
    frames: list[pd.DataFrame] = []  # priority order
    names: dict = {}
    # 1. BaoStock layout (index_csindex_tr): volume in shares; sh000852 misses days → broad_11's instead
    bao = []
    for f in sorted((src / "index_csindex_tr").glob("s[hz]*.csv")):
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
    frames.append(bao[bao["code"] != "000852.SH"])
    # 2. index_broad_11: AKShare stock_zh_index_daily_em layout (+ code), volume in lots
    broad = []
    for f in sorted((src / "index_broad_11").glob("*.csv")):
        d = pd.read_csv(f)
        broad.append(ak.parse_stock_zh_index_daily_em(d, f.stem))
    broad = pd.concat(broad, ignore_index=True)
    frames.append(broad)
    rep.add("units_index_broad", "index_broad_11", "volume in lots", "11 files", len(broad), broad["code"].nunique(),
            "× 100 → shares", readme=True)
    # 3. quantsplaybook daily.parquet (tushare index_daily; volume in shares, amount 10× CNY): CSI All Share
    qp = pd.read_parquet(src / "quantsplaybook_misc" / "daily.parquet").reset_index()
    qp["trade_date"] = pd.to_datetime(qp["trade_date"])
    qpb = ts.parse_index_daily(qp.rename(columns={"code": "ts_code", "volume": "vol"}), vol_unit="share",
                               amount_unit="ten_x_cny")
    chk = qpb.merge(bao[["date", "code", "amount"]], on=["date", "code"], suffixes=("", "_bao"))
    ratio = (chk["amount"] / chk["amount_bao"]).median() if len(chk) else np.nan
    rep.add("units_quantsplaybook_amount", "quantsplaybook_misc/daily.parquet", "column amount is 10 × CNY",
            "6 indices", len(qp), qp["code"].nunique(), f"÷ 10 (check: median ratio to BaoStock's amount {ratio:.3f}); "
            "used for 000985.CSI only (the others come from index_csindex_tr / index_broad_11)", readme=True)
    frames.append(qpb[qpb["code"] == "000985.CSI"])
    # 4. total-return indices (date, close) from 2006
    tr = []
    for f in sorted((src / "index_csindex_tr").glob("h00*.csv")):
        d = pd.read_csv(f, parse_dates=["date"])
        c = f.stem.upper() + ".CSI"
        tr.append(bars_frame(d["date"], c, np.nan, np.nan, np.nan, d["close"], np.nan, np.nan))
    tr = pd.concat(tr, ignore_index=True)
    pre = tr["date"] < TR_FROM
    rep.add("tr_rebase_pre2006", "index_csindex_tr/h00300|h00905|h00852", "total-return series re-based at the end of 2005",
            _span(tr.loc[pre, "date"]), int(pre.sum()), 3, "rows before 2006-01-01 dropped", readme=True)
    tr = _cal_align(ctx, tr[~pre], cal, "index_csindex_tr/h00*.csv", holiday_rule="holiday_rows_tr", readme=True,
                    readme_count="2018-06-18 in each file")
    frames.append(tr)
    # 5. SW level 1: OHLCV (AKShare index_hist_sw) from 2021, closes (sw_price) from 2014
    sd = pd.read_csv(src / "sw_l1_industry" / "sw_industry_daily.csv", dtype={"code": str})
    swb = ak.parse_index_hist_sw(sd.rename(columns={"code": "代码", "date": "日期", "close": "收盘", "open": "开盘", "high": "最高",
                                                    "low": "最低", "volume": "成交量", "amount": "成交额"}))
    late = swb.groupby("code")["date"].min()
    late = late[late > late.min()]
    rep.add("sw_l1_late_start", "sw_l1_industry/sw_industry_daily.csv", "4 industries start 2021-12-13 (OHLCV)",
            _ex(late.index), len(late), len(late), "their closes from 2014 come from sw_l1_close_2014_2022", readme=True)
    rep.add("units_sw", "sw_l1_industry/sw_industry_daily.csv", "volume in 1e8 shares, amount in 1e8 CNY (AKShare index_hist_sw)",
            "31 industries", len(swb), swb["code"].nunique(), "× 1e8 → shares / CNY")
    sp = pd.read_csv(src / "sw_l1_close_2014_2022" / "sw_price.csv", parse_dates=["trade_date"])
    spb = bars_frame(sp["trade_date"], index_code(sp["code"]), np.nan, np.nan, np.nan, sp["close"], np.nan, np.nan)
    both = spb.merge(swb[["date", "code", "close"]], on=["date", "code"], suffixes=("", "_ak"))
    rep.add("check_sw_sources", "sw_l1_close_2014_2022 vs sw_l1_industry", "closes of both SW sets on common days",
            _span(both["date"]), len(both), both["code"].nunique(),
            f"check only: max relative difference {(both['close'] / both['close_ak'] - 1).abs().max():.2e}; OHLCV rows "
            "preferred, close-only rows fill 2014–2020", readme=True)
    frames += [swb, spb]
    # 6. Wind 15 indices (OHLC, volume in shares; no amount) and their valuation
    val = []
    for f in sorted((src / "etf_index_wind_15" / "index").glob("*.csv")):
        if f.stem == "TOTAL":
            continue
        d = pd.read_csv(f, parse_dates=["date"])
        c = index_code(pd.Series([f.stem])).iloc[0]
        frames.append(bars_frame(d["date"], c, d["OPEN"], d["HIGH"], d["LOW"], d["CLOSE"], d["VOLUME"], np.nan))
        val.append(pd.DataFrame({"date": d["date"], "code": c, "pe_ttm": d["PE_TTM"], "pb": d["PB_LF"]}))
        names.setdefault(c, None)
    t = pd.read_csv(src / "etf_index_wind_15" / "index" / "TOTAL.csv", encoding="utf-8-sig", dtype=str)
    names.update(dict(zip(index_code(t["代码"]), t["中文名"])))
    wind_val = pd.concat(val, ignore_index=True)
    _wind_roe(ctx)
    # 7. csi_theme: OHL with NaN stretches, amount in 1e8 CNY, pe (not Wind's PE_TTM)
    theme_val, theme_bars = [], []
    for f in sorted((src / "csi_theme").glob("*.csv")):
        if f.stem == "margin":
            continue
        c, nm = CSI_THEME[f.stem]
        d = pd.read_csv(f, parse_dates=["date"])
        theme_bars.append(bars_frame(d["date"], c, d["open"], d["high"], d["low"], d["close"], np.nan, d["amount_yi"] * 1e8))
        names.setdefault(c, nm)
        theme_val.append(pd.DataFrame({"date": d["date"], "code": c, "pe_ttm": d["pe"], "pb": np.nan}))
    frames.append(_cal_align(ctx, pd.concat(theme_bars, ignore_index=True), cal, "csi_theme (9 index files)",
                             holiday_rule="holiday_rows_csi_theme", readme=True, readme_count="2015-01-01 and 2018-06-18"))
    tv = pd.concat(theme_val, ignore_index=True)
    ohl_nan = 0
    for f in sorted((src / "csi_theme").glob("*.csv")):
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
    valuation = merge_priority([wind_val.dropna(subset=["pe_ttm", "pb"], how="all"), tv_used], ["date", "code"])
    # merge bars by priority and align
    bars = merge_priority(frames, ["date", "code"])
    bars = _cal_align(ctx, bars, cal, "index bars")
    bars, n_bad = repair_ohlc(bars, nullable=True)
    if n_bad:
        rep.add("index_ohlc_inconsistent", "index bars", "high < low or close outside [low, high]", "", n_bad, 0,
                "open/high/low set to NaN (close kept)")
    valuation = _cal_align(ctx, valuation, cal, "valuation")
    valuation = valuation[(valuation["pe_ttm"].isna() | (valuation["pe_ttm"] > -1e9))]
    ctx.step("indices")
    return bars, valuation, names


def _wind_roe(ctx: _Ctx) -> None:
    runs = []
    for f in sorted((ctx.src / "etf_index_wind_15" / "index").glob("*.csv")):
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


def _csi300_daily(ctx: _Ctx, cal) -> None:
    d = pd.read_csv(ctx.src / "sw_l1_industry" / "csi300_daily.csv", parse_dates=["date"])
    hol = d[~d["date"].isin(cal)]
    ctx.report.add("holiday_rows_csi300_daily", "sw_l1_industry/csi300_daily.csv", "first row 2021-01-01 is a holiday "
                   "duplicate", _ex(hol["date"].dt.strftime("%Y-%m-%d")), len(hol), 1,
                   "dropped; file used only as a check (CSI 300 bars come from index_csindex_tr)", readme=True)


# =============================================================================================== stocks
def build_stocks(ctx: _Ctx, cal, stocks=None, ipo: dict | None = None) -> pd.DataFrame:
    rep = ctx.report
    folder = ctx.src / "stocks_csi300_bao" / "bao"
    paths = sorted(folder.glob("*.csv.gz"))
    if stocks is not None:
        want = {str(s)[:6] for s in stocks}
        paths = [p for p in paths if p.name[:6] in want]
    raw = _read_many(paths, lambda p: p.name[:6], strings=("date", "code"))
    for c in ("close", "preclose", "volume", "tradestatus"):
        raw[c + "_f"] = to_float(raw[c])
    raw["code_n"] = stock_code(raw["code"])
    raw["date_d"] = pd.to_datetime(raw["date"])
    raw = raw.sort_values(["code_n", "date_d"]).reset_index(drop=True)
    prev = raw.groupby("code_n")["close_f"].shift(1)
    susp = raw["tradestatus_f"] == 0
    anomaly = susp & prev.notna() & ((prev - raw["preclose_f"]).abs() > 1e-6)
    rep.add("stock_suspended_preclose", "stocks_csi300_bao", "suspension rows whose preclose differs from the previous "
            "close (e.g. 601607 on 2010-03-05: +227 % on a suspended day)",
            _ex(sorted(raw.loc[anomaly, "code_n"].unique())), int(anomaly.sum()), int(raw.loc[anomaly, "code_n"].nunique()),
            "fixed: adj_factor does not step on suspension days (their preclose is not a trading reference)")
    vnan = raw["volume_f"].isna()
    rep.add("stock_volume_nan", "stocks_csi300_bao", "rows without volume/amount (all suspension days)",
            _ex(sorted(raw.loc[vnan, "code_n"].unique())), int(vnan.sum()), int(raw.loc[vnan, "code_n"].nunique()),
            "volume = amount = 0")
    ret = raw["close_f"] / raw["preclose_f"] - 1
    first = ~raw["code_n"].duplicated()
    big = (ret.abs() > 0.5) & ~susp
    rep.add("stock_listing_jumps", "stocks_csi300_bao", "first-day returns of new listings and relisting jumps "
            "(|close/preclose − 1| > 50 %)", _ex([f"{c} {d:%Y-%m-%d} {r:+.0%}" for c, d, r in
                                                 zip(raw.loc[big, "code_n"], raw.loc[big, "date_d"], ret[big])]),
            int(big.sum()), int(raw.loc[big, "code_n"].nunique()),
            f"kept (real prices); {int((big & first).sum())} are a series' first row, which has no return in the bundle",
            readme=True, readme_count="e.g. +202 %, +374 %")
    hs = pd.read_csv(ctx.src / "stocks_csi300_bao" / "hs300_stocks.csv", dtype=str)
    rep.add("stock_universe_bias", "stocks_csi300_bao", "universe = CSI 300 list of 2024-08 without ChiNext "
            "(survivorship-biased as a historical universe)", f"{len(paths)} stock files; list of {len(hs)}", 0,
            len(paths), "flagged: use index_weights / index_members (point in time) as the universe", readme=True)
    bars = bs.parse_k_data(raw[["date", "code", "open", "high", "low", "close", "preclose", "volume", "amount",
                                "tradestatus", "isST"]], list_dates=ipo or None)
    bars, n_bad = repair_ohlc(bars, nullable=False)
    if n_bad:
        rep.add("stock_ohlc_inconsistent", "stocks_csi300_bao", "high < low or close outside [low, high]", "", n_bad, 0,
                "high/low widened to contain open and close")
    bars = _cal_align(ctx, bars, cal, "stocks_csi300_bao")
    ctx.step("stocks")
    return bars


# =============================================================================================== SW industries
def sw_industry_history(ctx: _Ctx) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(stock_industry rows in SW2021 level-1 names, crosswalk table)."""
    rep = ctx.report
    cls = pd.read_csv(ctx.src / "sw_classification" / "StockClassifyUse_stock.csv", dtype=str)
    codes21 = pd.read_csv(ctx.src / "sw_classification" / "SwClassCode_2021.csv", dtype=str)
    l1_21 = codes21.set_index("行业代码")["一级行业名称"]
    d = pd.DataFrame({"code": stock_code(cls["股票代码"]), "date": pd.to_datetime(cls["计入日期"]),
                      "ind": cls["行业代码"].astype("string").str.zfill(6)})
    d = d.sort_values(["code", "date"]).reset_index(drop=True)
    # README: rows from 2021-07-30 use SW2021 codes, earlier rows SW2014 codes; the data also hold level-1
    # prefixes of the pre-2014 system that SW2014 does not have (25, 26, 31, 32, 44, 47): "old"
    old_only = d["ind"].str[:2].isin(sorted(set(SW_OLD_L1) - set(SW2014_L1)))
    d["sys"] = np.select([d["date"] >= SW2021_FROM, old_only], ["sw2021", "old"], default="sw2014")
    d["l1"] = d["ind"].map(l1_21).where(d["sys"] == "sw2021")
    nxt = d.groupby("code")[["ind", "sys"]].shift(-1)
    cross = []

    def learn(mask, target, system, fallback: dict, levels=(6, 4, 2), only_prefixes=None, min_stocks=5):
        """Modal SW2021 level-1 target per code prefix (6, 4, 2 digits) among ``mask`` rows (used where it has
        ≥ ``min_stocks`` stocks and a majority), applied to the
        rows of ``system`` (restricted to ``only_prefixes`` two-digit prefixes when given); the rest by
        ``fallback`` (two-digit prefix → name)."""
        t = pd.DataFrame({"ind": d.loc[mask, "ind"], "target": target[mask]}).dropna()
        rows = d["sys"] == system
        out = pd.Series(pd.NA, index=d.index, dtype=object)
        learn_rows = rows if only_prefixes is None else rows & d["ind"].str[:2].isin(only_prefixes)
        if only_prefixes is not None:
            t = t[t["ind"].str[:2].isin(only_prefixes)]
        for lev in levels:
            k = t["ind"].str[:lev]
            grp = t.groupby(k)["target"]
            if not len(t):
                break
            mode = grp.agg(lambda x: x.value_counts().index[0])
            purity = grp.agg(lambda x: x.value_counts().iloc[0] / len(x))
            n = grp.size()
            for key in mode.index:
                cross.append((system, lev, key, mode[key], int(n[key]), round(float(purity[key]), 3)))
            mode = mode[(n >= min_stocks) & (purity >= 0.5)]  # too few or too mixed: use the next level
            fill = out.isna() & learn_rows
            out[fill] = d.loc[fill, "ind"].str[:lev].map(mode)
        fill = out.isna() & rows
        out[fill] = d.loc[fill, "ind"].str[:2].map(fallback)
        for key, v in fallback.items():
            cross.append((system, 0, key, v, 0, np.nan))
        return out

    # SW2014 → SW2021 level 1: by the level-1 name (README list), except the industries SW2021 split
    # (21 采掘 → 煤炭 / 石油石化, 22 化工 → 基础化工 / 石油石化, 41 公用事业 → 公用事业 / 环保), decided at the
    # level-2 code (4 digits) by the stocks reclassified on 2021-07-30
    m14 = (d["sys"] == "sw2014") & (nxt["sys"] == "sw2021")
    d.loc[d["sys"] == "sw2014", "l1"] = learn(m14, nxt["ind"].map(l1_21), "sw2014", SW2014_L1, levels=(4,),
                                              only_prefixes=["21", "22", "41"])
    # pre-2014-only codes → SW2021 level 1 through the stocks' next (already mapped) row: every stock
    # still listed in 2014 was re-coded then, so these transitions are a full sample
    nxt_l1 = d.groupby("code")["l1"].shift(-1)
    mold = (d["sys"] == "old") & nxt["sys"].isin(["sw2014", "sw2021"])
    d.loc[d["sys"] == "old", "l1"] = learn(mold, nxt_l1, "old", SW_OLD_L1)
    unm = d["l1"].isna()
    counts = d["sys"].value_counts()
    # check: how many stocks change level-1 name at the SW2021 switch (genuine reclassifications)
    at = d[(d["sys"] == "sw2021") & (d["date"] == SW2021_FROM)]
    before = d[d["date"] < SW2021_FROM].groupby("code")["l1"].last()
    moved = (at.set_index("code")["l1"] != before.reindex(at["code"]).to_numpy())
    rep.add("check_sw_switch", "sw_classification", "stocks whose mapped level-1 name changes at the 2021-07-30 switch "
            "(SW's own reclassifications plus crosswalk error)", f"{moved.mean():.1%} of {len(moved)} stocks",
            int(moved.sum()), len(moved), "check only")
    rep.add("sw_code_systems", "sw_classification/StockClassifyUse_stock.csv", "three code systems in one history: "
            "SW2021 (from 2021-07-30), SW2014 (earlier; level 1 = first two digits) and pre-2014 level-1 codes the "
            "README does not list (25, 26, 31, 32, 47; 44)",
            f"old {counts.get('old', 0)}, sw2014 {counts.get('sw2014', 0)}, sw2021 {counts.get('sw2021', 0)} rows",
            len(d), d["code"].nunique(), "mapped to the 31 SW2021 level-1 names (crosswalk in sw_crosswalk.csv, learned "
            f"from reclassified stocks, then the README's level-1 list); unmapped rows dropped: {int(unm.sum())}",
            readme=True)
    rep.add("sw_backfilled", "sw_classification", "history back-filled by SW (not strictly point in time)", "all rows",
            len(d), d["code"].nunique(), "flagged; 计入日期 used as the effective date", readme=True)
    d = d[~unm]
    # keep change points only (a new row with the same level-1 name adds nothing)
    same = d.groupby("code")["l1"].shift(1) == d["l1"]
    out = d.loc[~same, ["date", "code", "l1"]].rename(columns={"l1": "industry_l1"}).reset_index(drop=True)
    crosswalk = pd.DataFrame(cross, columns=["system", "digits", "code_prefix", "sw2021_l1", "stocks", "purity"])
    return out, crosswalk


def derived_sw_weights(csi300: pd.DataFrame, industry: pd.DataFrame) -> pd.DataFrame:
    """SW level-1 index weights = CSI 300 weights of the members classified in the industry on the
    snapshot date, renormalised to 1 per (date, industry): w_{i,X}(t) = w_i(t) / Σ_{j∈X(t)} w_j(t)."""
    name_to_code = {v: k for k, v in SW_L1_NAMES.items()}
    dates = pd.DatetimeIndex(pd.unique(csi300["date"])).sort_values()
    codes = pd.Index(pd.unique(csi300["stock_code"]))
    ind = asof_panel(industry, dates, effective="date", code="code", value="industry_l1", codes=codes)
    long = ind.stack().rename("industry_l1").reset_index().rename(columns={"code": "stock_code"})
    w = csi300.merge(long, on=["date", "stock_code"], how="inner")
    w = w[w["industry_l1"].notna()]
    w["index_code"] = w["industry_l1"].map(name_to_code)
    w = w[w["index_code"].notna()]
    w["weight"] = w["weight"] / w.groupby(["date", "index_code"])["weight"].transform("sum")
    return w[["date", "index_code", "stock_code", "weight"]].sort_values(["date", "index_code", "stock_code"]).reset_index(drop=True)


# =============================================================================================== weights & members
def build_weights(ctx: _Ctx) -> pd.DataFrame:
    rep = ctx.report
    w = pd.read_csv(ctx.src / "csi300_weights" / "index_weight.csv", dtype=str)
    lib = w.rename(columns={"datetime": "trade_date"})
    raw = pd.DataFrame({"date": to_dates(lib["trade_date"]), "n": 1, "w": to_float(lib["weight"])})
    snap = raw.groupby("date").agg(n=("n", "size"), s=("w", "sum"))
    partial = snap[(snap["n"] < 0.5 * snap["n"].median()) | (snap["s"] < 90)]
    rep.add("weights_partial_snapshot", "csi300_weights/index_weight.csv", "snapshots with too few names (< half the "
            "usual count or weights summing < 90 %)", _ex([f"{d:%Y-%m-%d}: {int(r.n)} names, {r.s:.1f} %" for d, r in
                                                         partial.iterrows()]), int(partial["n"].sum()), len(partial),
            "snapshot dropped", readme=True, readme_count="2009-12-03: 6 names (16.4 %)")
    months = pd.period_range(snap.index.min(), snap.index.max(), freq="M")
    have = set(snap.index.to_period("M"))
    missing = [m for m in months if m not in have]
    rep.add("weights_missing_months", "csi300_weights/index_weight.csv", "months without a weight snapshot",
            _ex([str(m) for m in missing], 12), 0, len(missing), "flagged: the previous snapshot stays in force "
            "(only year-end snapshots 2006–2010)", readme=True, readme_count="2016-01/02 among them",
            note="missing: " + ", ".join(str(m) for m in missing))
    off = snap[(snap["s"] - 100).abs() > 0.01]
    rep.add("weights_units", "csi300_weights/index_weight.csv", "weights in % (tushare index_weight layout), dates "
            "YYYYMMDD; index code 399300.SZ", f"{len(off)} snapshots not summing to 100.00 %", len(w), len(snap),
            "÷ 100 and renormalised per snapshot; 399300.SZ → 000300.SH", readme=True)
    keep = ~to_dates(lib["trade_date"]).isin(partial.index)
    out = ts.parse_index_weight(lib[keep.to_numpy()])
    ctx.step("weights")
    return out


def _qlib(path: Path, index: str, report: QualityReport | None = None) -> pd.DataFrame:
    d = pd.read_csv(path, sep="\t", header=None, names=["code", "start", "end"], dtype=str)
    ok = d["code"].str.fullmatch(r"(SH|SZ)\d{6}").fillna(False)
    if (~ok).any() and report is not None:
        report.add("members_bad_codes", f"index_membership_qlib/{path.name}", "instrument codes that are not stock codes",
                   _ex(pd.unique(d.loc[~ok, "code"])), int((~ok).sum()), int(d.loc[~ok, "code"].nunique()), "dropped")
    d = d[ok]
    return pd.DataFrame({"index_code": index, "stock_code": stock_code(d["code"]), "start_date": pd.to_datetime(d["start"]),
                         "end_date": pd.to_datetime(d["end"])})


def build_members(ctx: _Ctx) -> pd.DataFrame:
    rep, src = ctx.report, ctx.src
    q = src / "index_membership_qlib"
    parts = []
    lags_all = {}
    for name, idx, events in (("csi300", "000300.SH", "HS300_history.csv"), ("csi500", "000905.SH", "ZZ500_history.csv"),
                              ("csi800", "000906.SH", None), ("csi1000", "000852.SH", None)):
        iv = _qlib(q / f"{name}.txt", idx, rep)
        if events is None:
            iv.loc[iv["end_date"] >= DATA_END, "end_date"] = pd.NaT
            parts.append(iv)
            continue
        ev = pd.read_csv(src / "fundamentals_bao_670" / events, dtype=str)
        ev = pd.DataFrame({"date": pd.to_datetime(ev["chang_date"], format="%Y/%m/%d"),
                           "stock_code": stock_code(ev["code"].str.zfill(6)), "in_out": ev["in_out"].str.strip()})
        out, lag, bad = _events_to_intervals(iv, ev)
        lags_all[idx] = lag
        parts.append(out)
        if bad:
            rep.add("members_event_inconsistent", f"fundamentals_bao_670/{events}", "change events that contradict the "
                    "current membership (drop of a non-member / add of a member)", "", bad, 1, "ignored")
    rep.add("members_qlib_lag", "index_membership_qlib", "qlib entry/exit dates lag the effective dates (month end "
            "instead of the rebalance day)", "; ".join(f"{k}: median {v:.0f} days" for k, v in lags_all.items()),
            0, 4, "CSI 300 (from 2013-09) and CSI 500 (from 2013-12) rebuilt from the exact change events; earlier "
            "intervals and CSI 800 / 1000 kept from qlib (flagged)", readme=True, readme_count="median 17 days")
    rep.add("members_event_codes", "fundamentals_bao_670/HS300_history.csv|ZZ500_history.csv", "codes without leading "
            "zeros (e.g. 527), dates YYYY/M/D", "", 0, 2, "padded to 6 digits; parsed", readme=True)
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(["index_code", "stock_code", "start_date"]).drop_duplicates(
        ["index_code", "stock_code", "start_date"], keep="last").reset_index(drop=True)
    ctx.step("members")
    return out


def _events_to_intervals(iv: pd.DataFrame, ev: pd.DataFrame) -> tuple[pd.DataFrame, float, int]:
    """qlib intervals before the first exact event; from then on intervals from the events, starting
    from the qlib members on the day before it. Returns (intervals, median qlib lag in days, bad events)."""
    idx = iv["index_code"].iloc[0]
    d0 = ev["date"].min()
    before = iv[iv["start_date"] < d0].copy()
    at = (before["start_date"] <= d0 - pd.Timedelta(days=1)) & (before["end_date"] >= d0 - pd.Timedelta(days=1))
    carried = before[at]
    ended = before[~at].copy()
    ended["end_date"] = ended["end_date"].clip(upper=d0 - pd.Timedelta(days=1))
    # the stock's sequence of ins and outs: carried members enter at their qlib start
    seq = pd.concat([pd.DataFrame({"stock_code": carried["stock_code"], "date": carried["start_date"], "in_out": "takein"}),
                     ev], ignore_index=True).sort_values(["stock_code", "date", "in_out"], ascending=[True, True, False])
    # drop contradicting events: an event equal to the previous state
    state_prev = seq.groupby("stock_code")["in_out"].shift(1)
    bad = seq["in_out"] == state_prev
    seq = seq[~bad]
    ins = seq[seq["in_out"] == "takein"].copy()
    outs = seq[seq["in_out"] == "dropout"].copy()
    ins["k"] = ins.groupby("stock_code").cumcount()
    outs["k"] = outs.groupby("stock_code").cumcount()
    pair = ins.merge(outs, on=["stock_code", "k"], how="left", suffixes=("_in", "_out"))
    new = pd.DataFrame({"index_code": idx, "stock_code": pair["stock_code"], "start_date": pair["date_in"],
                        "end_date": pair["date_out"] - pd.Timedelta(days=1)})
    # qlib lag: qlib's start of the interval nearest after each exact takein event
    tk = ev[ev["in_out"] == "takein"].sort_values("date")
    qs = iv.sort_values("start_date")[["stock_code", "start_date"]]
    m = pd.merge_asof(tk, qs, left_on="date", right_on="start_date", by="stock_code", direction="forward",
                      tolerance=pd.Timedelta(days=90))
    lag = float((m["start_date"] - m["date"]).dt.days.median())
    return pd.concat([ended, new], ignore_index=True), lag, int(bad.sum())


# =============================================================================================== fundamentals
def build_fundamentals(ctx: _Ctx) -> pd.DataFrame:
    f = ctx.src / "fundamentals_bao_670"
    p = pd.read_csv(f / "profit_data.csv.gz", dtype=str)
    g = pd.read_csv(f / "growth_data.csv.gz", dtype=str)
    out = bs.parse_profit_growth(p, g)
    ctx.report.add("fundamentals_derived", "fundamentals_bao_670", "roe_ttm, roe_q and single-quarter eps derived from "
                   "year-to-date roeAvg / netProfit; announce_date = pubDate (max of the reports used)",
                   f"{out['code'].nunique()} stocks", len(out), out["code"].nunique(),
                   f"derived (rows without the earlier quarter have NaN roe_q/roe_ttm: "
                   f"{int(out['roe_q'].isna().sum())}/{int(out['roe_ttm'].isna().sum())})", readme=True)
    ctx.step("fundamentals")
    return out


# =============================================================================================== macro
def _monthly(period, series: str, value, day=None) -> pd.DataFrame:
    p = pd.to_datetime(pd.Series(period)).dt.to_period("M").dt.to_timestamp()
    df = pd.DataFrame({"period": p.to_numpy(), "series": series, "value": pd.Series(value).to_numpy(dtype=float)})
    df["release_date"] = ts.release_date(df["period"], RELEASE_DAY.get(series, day))
    return df


def build_macro(ctx: _Ctx, cal) -> pd.DataFrame:
    rep, src = ctx.report, ctx.src
    em = src / "macro_cn_em"
    rd = lambda n: pd.read_csv(em / f"{n}.csv", parse_dates=["date"])  # noqa: E731
    parts: dict[str, pd.DataFrame] = {}
    cpi, ppi, ms, nl, sf, pmi = rd("cpi"), rd("ppi"), rd("money_supply"), rd("new_loans"), rd("social_financing"), rd(
        "manufacturing_pmi")
    parts["cpi_yoy"] = _monthly(cpi["date"], "cpi_yoy", cpi["yoy"])
    parts["ppi_yoy"] = _monthly(ppi["date"], "ppi_yoy", ppi["yoy"])
    parts["m2_yoy"] = _monthly(ms["date"], "m2_yoy", ms["m2_yoy"])
    parts["m1_yoy"] = _monthly(ms["date"], "m1_yoy", ms["m1_yoy"])
    parts["m2_level"] = _monthly(ms["date"], "m2_level", ms["m2_level"] * 1e8)
    parts["m1_level"] = _monthly(ms["date"], "m1_level", ms["m1_level"] * 1e8)
    parts["new_loans"] = _monthly(nl["date"], "new_loans", nl["value"] * 1e8)
    parts["pmi"] = _monthly(pmi["date"], "pmi", pmi["value"])
    parts["pmi_nonmfg"] = _monthly(pmi["date"], "pmi_nonmfg", pmi["nonmfg"])
    parts["tsf_flow"] = _monthly(sf["date"], "tsf_flow", sf["value"] * 1e8)
    # social financing's rmb_loans vs new_loans (from 2015 the same concept)
    j = sf.merge(nl[["date", "value"]], on="date", suffixes=("", "_nl"))
    bad = j[(j["rmb_loans"] / j["value_nl"] - 1).abs() > 0.2]
    rep.add("macro_sf_rmb_loans", "macro_cn_em/social_financing.csv", "rmb_loans far from new_loans (the same concept "
            "from 2015): 2022-06 is about twice the true value", _ex([f"{d:%Y-%m}: {a:,.0f} vs {b:,.0f}" for d, a, b in
                                                                     zip(bad["date"], bad["rmb_loans"], bad["value_nl"])]),
            len(bad), 1, "fixed: replaced by new_loans' value", readme=True, readme_count="2022-06: 61,759")
    fixed = sf.set_index("date")["rmb_loans"].copy()
    fixed.loc[bad["date"]] = bad.set_index("date")["value_nl"]
    parts["tsf_rmb_loans"] = _monthly(fixed.index, "tsf_rmb_loans", fixed.to_numpy() * 1e8)
    rep.add("macro_new_loans_definition", "macro_cn_em/new_loans.csv", "from 2015 the loan component of social financing, "
            "not the headline new RMB loans", _span(nl.loc[nl["date"] >= "2015-01-01", "date"]),
            int((nl["date"] >= "2015-01-01").sum()), 1, "kept, flagged (definition break at 2015-01)", readme=True)
    # activity series: single-month and YTD YoY; NaN where Jan and Feb are published together
    nan_rows = {}
    for f, base in (("exports", "exports"), ("imports", "imports"), ("retail_sales", "retail_sales"),
                    ("fixed_asset_investment", "fixed_asset_investment"), ("fiscal_revenue", "fiscal_revenue")):
        d = rd(f)
        for col, s in (("yoy", f"{base}_yoy"), ("ytd_yoy", f"{base}_ytd_yoy")):
            if s not in RELEASE_DAY or col not in d:
                continue
            m = _monthly(d["date"], s, d[col])
            if d[col].isna().all():
                continue
            nan_rows[s] = int(m["value"].isna().sum())
            parts[s] = m
    rep.add("macro_jan_feb_nan", "macro_cn_em (retail_sales, fixed_asset_investment, fiscal_revenue)", "NaN rows where "
            "January and February are published together", ", ".join(f"{k}: {v}" for k, v in nan_rows.items() if v),
            sum(nan_rows.values()), sum(1 for v in nan_rows.values() if v), "dropped (the February row's YTD carries both)",
            readme=True)
    # Wind vintage (1990s → 2017-09): only for periods before the Eastmoney series start
    wind = src / "macro_cn_wind_1986_2017"
    wmap = {"cpi": "cpi_yoy", "ppi": "ppi_yoy", "pmi": "pmi", "m1": "m1_yoy", "m2": "m2_yoy", "sf": "tsf_flow"}
    gaps, used_rows, bom = [], 0, 0
    for f, s in wmap.items():
        raw = (wind / f"{f}.csv").read_bytes()
        bom += raw.startswith(b"\xef\xbb\xbf")
        d = pd.read_csv(wind / f"{f}.csv", encoding="utf-8-sig")
        d.columns = [c.strip() for c in d.columns]
        dates = to_dates(d["date"].astype(str).str.strip(), fmt="%Y/%m/%d")
        vals = to_float(d[d.columns[1]])
        if s == "tsf_flow":
            vals = vals * 1e8
        w = _monthly(dates, s, vals)
        em_s = parts[s]
        ov = w.merge(em_s, on="period", suffixes=("_w", "_em"))
        if len(ov):
            diff = (ov["value_w"] - ov["value_em"]).abs()
            scale = 1e8 if s == "tsf_flow" else 1
            gaps.append(f"{s}: max |Δ| {diff.max() / scale:.2f}{' (1e8 CNY)' if scale > 1 else ' pp'} over {len(ov)} months")
        early = w[w["period"] < em_s["period"].min()]
        used_rows += len(early)
        parts[s] = pd.concat([early, em_s], ignore_index=True)
    rep.add("macro_wind_vintage", "macro_cn_wind_1986_2017", "older vintage (M2 in 2017 pre-revision, up to 0.7 pp off); "
            "month-end dates YYYY/M/D, BOM and trailing spaces", "; ".join(gaps), used_rows, len(wmap),
            f"parsed (utf-8-sig, stripped; {bom} files with a BOM); used only for periods before the Eastmoney series "
            "start (latest vintage preferred where both exist)", readme=True)
    # industrial profits (cumulative YoY), no January rows
    pr = pd.read_csv(src / "macro_cn_industrial_profit_2012_2019" / "profit.csv", parse_dates=["date"])
    parts["industrial_profit_yoy"] = _monthly(pr["date"], "industrial_profit_yoy", pr["cumTB"])
    rep.add("macro_industrial_profit", "macro_cn_industrial_profit_2012_2019/profit.csv", "cumulative YoY only "
            "2012-02 → 2019-12, no January rows (Jan–Feb published together)", _span(pr["date"]), len(pr), 1,
            "used as industrial_profit_yoy (cumTB, not recomputed from levels); an earnings proxy must combine it "
            "with ppi_yoy outside 2012–2019", readme=True)
    # social financing stock (tushare sf_month)
    sfm = pd.read_csv(src / "macro_cn_tsf_stock_tushare" / "sf_month.csv", dtype={"month": str})
    tsf = ts.parse_sf_month(sfm, release_day=RELEASE_DAY["tsf_stock"], yoy_valid_from="2018-01-01")
    jump = sfm.set_index("month")["stk_endval"].astype(float)
    rep.add("macro_tsf_definition_change", "macro_cn_tsf_stock_tushare/sf_month.csv", "the stock jumps 18 % in 2017-01 "
            f"(definition change); quarterly until 2015-09", f"{int(jump.isna().sum())} months without a stock value",
            int(jump.isna().sum()), 1, "tsf_yoy computed from levels only from 2018-01; tsf_stock in CNY (× 1e12); "
            "tsf_flow from sf_month not used (macro_cn_em has it)", readme=True)
    parts["tsf_stock"] = tsf[tsf["series"] == "tsf_stock"]
    parts["tsf_yoy"] = tsf[tsf["series"] == "tsf_yoy"]
    # daily market series: northbound (CNY million) and margin (1e8 CNY)
    nm = pd.read_parquet(src / "quantsplaybook_misc" / "north_money.parquet").reset_index()
    north = ts.parse_moneyflow_hsgt(nm, amount_unit="million_cny")
    rep.add("units_north_money", "quantsplaybook_misc/north_money.parquet", "daily net flows in CNY million",
            _span(north["period"]), len(nm), 6, "× 1e6 → CNY; macro series north_money, hgt, sgt, south_money, ggt_ss, "
            "ggt_sz (market level, visible from the trade date)", readme=True)
    mg = pd.read_csv(src / "csi_theme" / "margin.csv", parse_dates=["date"])
    mparts = []
    for col in ("fin_balance", "loan_balance", "fin_buy"):
        v = pd.DataFrame({"period": mg["date"], "series": f"margin_{col}", "value": mg[col] * 1e8})
        nxt = pd.Series(cal).searchsorted(v["period"], side="right")
        v["release_date"] = pd.Series(cal)[np.clip(nxt, 0, len(cal) - 1)].to_numpy()
        v.loc[nxt >= len(cal), "release_date"] = v.loc[nxt >= len(cal), "period"] + pd.Timedelta(days=1)
        mparts.append(v)
    rep.add("units_margin", "csi_theme/margin.csv", "margin balances in 1e8 CNY; column guarantee undocumented",
            _span(mg["date"]), len(mg), 3, "× 1e8 → CNY; macro series margin_fin_balance, margin_loan_balance, "
            "margin_fin_buy visible from the next trading day; guarantee not used", readme=True)
    allm = pd.concat(list(parts.values()) + [north] + mparts, ignore_index=True)
    nan = allm["value"].isna()
    allm = allm[~nan]
    allm = allm.sort_values(["series", "period"]).drop_duplicates(["series", "period"], keep="last")
    rep.add("macro_release_lags", "macro", "reference periods are months (date = first day), not release dates",
            ", ".join(f"{k}: {'month end' if v is None else f'day {v}'}" for k, v in
                      {"pmi": None, "cpi/ppi": 10, "money/loans/tsf": 15, "industrial_profit": 27, "trade": 15,
                       "retail/fai": 20, "fiscal": 25}.items()), len(allm), allm["series"].nunique(),
            "release_date = conservative lag (README); visible only from then", readme=True)
    ctx.step("macro")
    return allm.reset_index(drop=True)


# =============================================================================================== stock info
def build_stock_info(ctx: _Ctx, codes: set, bars: pd.DataFrame, industry: pd.DataFrame, members: pd.DataFrame,
                     ipo: dict) -> pd.DataFrame:
    src = ctx.src
    names = {}
    snap = pd.read_csv(src / "sw_classification" / "SwClass_2014_snapshot.csv", dtype=str)
    names.update(dict(zip(stock_code(snap["股票代码"]), snap["股票名称"])))
    hs = pd.read_csv(src / "stocks_csi300_bao" / "hs300_stocks.csv", dtype=str)
    names.update(dict(zip(stock_code(hs["code"]), hs["code_name"])))
    first_seen = pd.concat([
        bars.groupby("code")["date"].min(),
        industry.groupby("code")["date"].min(),
        members.groupby("stock_code")["start_date"].min(),
    ]).groupby(level=0).min()
    latest_ind = industry.sort_values("date").groupby("code")["industry_l1"].last()
    codes = sorted(codes)
    ld = [ipo.get(c) if c in ipo else first_seen.get(c, STOCK_DATA_START) for c in codes]
    no_name = [c for c in codes if c not in names]
    ctx.report.add("stock_info_sources", "stock_info", "stocks referenced by bars, weights, memberships or fundamentals; "
                   "names from the SW2014 snapshot / CSI 300 list; list_date = first bar for listings inside the bar "
                   "window, else the earliest SW or membership date (approximate); delist dates unknown",
                   f"{len(no_name)} without a name (name = code)", len(codes), len(codes), "built; delist_date NaN")
    return pd.DataFrame({"code": codes, "name": [names.get(c) or c for c in codes], "list_date": ld,
                         "delist_date": pd.NaT, "industry_l1": [latest_ind.get(c) for c in codes]})


def ipo_days(ctx: _Ctx, bars: pd.DataFrame, industry: pd.DataFrame) -> dict:
    """Listing day of stocks that listed inside the bar window: their first traded bar, when their SW
    history also starts near it (else they listed earlier and the window starts later)."""
    if bars.empty:
        return {}
    traded = bars[~bars["is_suspended"]]
    first = traded.groupby("code")["date"].min()
    first_all = bars.groupby("code")["date"].min()
    sw_first = industry.groupby("code")["date"].min()
    out = {}
    for c, d in first.items():
        if first_all[c] <= STOCK_DATA_START:
            continue
        s = sw_first.get(c)
        if s is None or s >= d - pd.Timedelta(days=120):
            out[c] = d
    return out


# =============================================================================================== build
@dataclass
class RealBuild:
    bundle: Bundle
    report: QualityReport
    timings: dict
    dropped_etfs: pd.DataFrame


def build_real(src: str | Path, out: str | Path, *, etfs=None, stocks=None, echo=None) -> RealBuild:
    """Build the real bundle at ``out`` from the shared real-data folder ``src``.

    ``etfs`` / ``stocks`` restrict the ETF and stock files read (codes like '510300.SH', '600519.SH'),
    for quick builds; everything else (indices, weights, macro, …) is always complete.
    """
    src, out = Path(src), Path(out)
    if not (src / "README.md").exists() or not (src / "etf_tushare_unadj_883").is_dir():
        raise SourceError(f"{src} does not look like the real-data folder (../shared/data/real): no README.md or "
                          "etf_tushare_unadj_883/ inside")
    rep = QualityReport()
    ctx = _Ctx(src, rep, echo)
    cal = build_calendar(ctx)
    ctx.step("calendar")
    etf = build_etfs(ctx, cal, etfs)
    kept, dropped = etf_mapping(ctx, sorted(etf.bars["code"].unique()), etf.names)
    ctx.step("etf mapping")
    etf_bars = etf.bars[etf.bars["code"].isin(kept["code"])].reset_index(drop=True)
    index_bars, valuation, idx_names = build_indices(ctx, cal)
    industry, crosswalk = sw_industry_history(ctx)
    ctx.step("industries")
    weights = build_weights(ctx)
    members = build_members(ctx)
    # IPO days need the bars' first days: parse, derive the listing days, then switch their limits off
    sb0 = build_stocks(ctx, cal, stocks)
    ipo = ipo_days(ctx, sb0, industry)
    stock_bars = _relimit(sb0, ipo)
    fundamentals = build_fundamentals(ctx)
    macro = build_macro(ctx, cal)
    sw_w = derived_sw_weights(weights, industry)
    rep.add("derived_sw_weights", "csi300_weights × sw_classification", "SW level-1 indices have no constituent weights: "
            "derived from CSI 300 weights of the members in each industry, renormalised per snapshot",
            f"{sw_w['index_code'].nunique()} industries × {sw_w['date'].nunique()} snapshots", len(sw_w),
            sw_w["index_code"].nunique(), "derived (a CSI 300 sub-portfolio proxy, not SW's own constituents)", readme=True)
    index_weights = pd.concat([weights, sw_w], ignore_index=True)
    # index_info: indices with bars + tracked indices (+ members' / weights' indices)
    idx_codes = set(index_bars["code"]) | set(kept["tracked_index"]) | set(index_weights["index_code"]) | set(members["index_code"])
    tracked_names = dict(zip(kept["tracked_index"], kept["tracked_name"]))
    allnames = {**{k: v for k, v in tracked_names.items() if isinstance(v, str)}, **{k: v for k, v in idx_names.items() if v}}
    # an index tracked only through a QDII / cross-border ETF (e.g. 中国互联网50 via 513050) is overseas
    xb = kept.loc[kept["category"] == "cross_border", "tracked_index"]
    index_info = index_info_frame(idx_codes, names=allnames, regions={c: "overseas" for c in xb if isinstance(c, str)})
    rep.add("index_region_from_etf", "etf_meta_snapshot_2025", "indices tracked by a cross-border (QDII) ETF whose name "
            "does not say so: region set to overseas", _ex(sorted(set(xb.dropna()))), 0, int(xb.nunique()),
            "region = overseas (the universe screen then excludes them, SPEC §5)")
    nobars = sorted(idx_codes - set(index_bars["code"]))
    rep.add("index_without_bars", "index_info", "tracked indices with no bars in the data (category and region inferred "
            "from the name)", _ex(nobars), 0, len(nobars), "index_info row added so their ETFs stay; strategies that "
            "need index bars use the ETF's own prices or skip them")
    # etf_info
    g = etf_bars.groupby("code")["date"].agg(["min", "max"])
    ei = kept.set_index("code").loc[g.index]
    etf_info = pd.DataFrame({"code": g.index, "name": ei["name"].to_numpy(), "tracked_index": ei["tracked_index"].to_numpy(),
                             "list_date": g["min"].to_numpy(),
                             "delist_date": np.where(g["max"] < DATA_END, g["max"] + pd.Timedelta(days=1), pd.NaT),
                             "manager": ei["manager"].to_numpy(), "fee_rate": ei["fee_rate"].to_numpy(dtype=float),
                             "category": ei["category"].to_numpy()})
    etf_info["delist_date"] = pd.to_datetime(etf_info["delist_date"])
    # stock_info from every referenced stock
    codes = set(stock_bars["code"]) | set(index_weights["stock_code"]) | set(members["stock_code"]) | set(fundamentals["code"])
    stock_info = build_stock_info(ctx, codes, stock_bars, industry, members, ipo)
    industry = industry[industry["code"].isin(codes)].reset_index(drop=True)
    tables = {
        "calendar": pd.DataFrame({"date": cal}),
        "etf_bars": etf_bars, "etf_info": etf_info, "index_bars": index_bars, "index_info": index_info,
        "index_weights": index_weights, "index_members": members, "stock_bars": stock_bars, "stock_info": stock_info,
        "stock_industry": industry, "fundamentals": fundamentals, "valuation": valuation, "macro": macro,
    }
    rep.add("no_fund_flows", "—", "no per-stock or per-index fund flows (主力净流入, 大单净买入) and no ETF size history in "
            "the real data", "", 0, 0, "table 'flows' absent: flow factors are skipped on this bundle; northbound and "
            "margin are market-level macro series", readme=True)
    ctx.step("assemble")
    meta = {"src": str(src), "restricted": {"etfs": list(etfs) if etfs is not None else None,
                                            "stocks": list(stocks) if stocks is not None else None},
            "calendar": [f"{cal[0]:%Y-%m-%d}", f"{cal[-1]:%Y-%m-%d}"], "quality_report": "quality_report.md",
            "notes": "real A-share data to 2022-12-30; aum unknown (NaN); SW industry weights derived from CSI 300"}
    bundle = write_bundle(out, tables, source="real:../shared/data/real", meta=meta)
    ctx.step("write")
    rep.write(out)
    crosswalk.to_csv(out / "sw_crosswalk.csv", index=False)
    dropped.to_csv(out / "dropped_etfs.csv", index=False)
    (out / "build_timings.json").write_text(json.dumps(ctx.timings, indent=1))
    return RealBuild(bundle=bundle, report=rep, timings=ctx.timings, dropped_etfs=dropped)


def _relimit(bars: pd.DataFrame, ipo: dict) -> pd.DataFrame:
    """Switch limit flags off on the listing days of ``ipo`` stocks (no price limit there)."""
    if not ipo or bars.empty:
        return bars
    b = bars.sort_values(["code", "date"])
    ld = b["code"].map(pd.Series(ipo, dtype="datetime64[ns]"))
    nolim = bs.no_limit_rows(b["code"], b["date"], ld)
    b = b.copy()
    b.loc[nolim, "limit_up"] = False
    b.loc[nolim, "limit_down"] = False
    return b.sort_values(["date", "code"]).reset_index(drop=True)


__all__ = ["build_real", "RealBuild", "QualityReport", "derived_sw_weights", "RELEASE_DAY"]
