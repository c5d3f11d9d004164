"""Assembling bundle tables from several sources: priority merges, calendar alignment, info tables.

Used by the fetch commands (raw stores of akshare / tushare / baostock → one bundle) and by the
real-data builder (:mod:`etfrot.data.real`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from etfrot.data.schema import TABLES
from etfrot.data.sources._common import infer_asset_class, infer_category, infer_region
from etfrot.errors import SourceError

#: Total-return indices and the price index they belong to.
TOTAL_RETURN_OF = {"H00300.CSI": "000300.SH", "H00905.CSI": "000905.SH", "H00852.CSI": "000852.SH"}

#: Names and categories of the indices the adapters and the real data provide bars for.
KNOWN_INDICES = {
    "000001.SH": ("上证指数", "broad"), "000016.SH": ("上证50", "broad"), "000300.SH": ("沪深300", "broad"),
    "000680.SH": ("科创综指", "broad"), "000688.SH": ("科创50", "broad"), "000852.SH": ("中证1000", "broad"),
    "000905.SH": ("中证500", "broad"), "000906.SH": ("中证800", "broad"), "399001.SZ": ("深证成指", "broad"),
    "399006.SZ": ("创业板指", "broad"), "399303.SZ": ("国证2000", "broad"), "399673.SZ": ("创业板50", "broad"),
    "000985.CSI": ("中证全指", "broad"), "H00300.CSI": ("沪深300全收益", "broad"),
    "H00905.CSI": ("中证500全收益", "broad"), "H00852.CSI": ("中证1000全收益", "broad"),
    "HSI.HI": ("恒生指数", "broad"),
}
SW_L1_NAMES = {
    "801010.SI": "农林牧渔", "801030.SI": "基础化工", "801040.SI": "钢铁", "801050.SI": "有色金属", "801080.SI": "电子",
    "801110.SI": "家用电器", "801120.SI": "食品饮料", "801130.SI": "纺织服饰", "801140.SI": "轻工制造",
    "801150.SI": "医药生物", "801160.SI": "公用事业", "801170.SI": "交通运输", "801180.SI": "房地产",
    "801200.SI": "商贸零售", "801210.SI": "社会服务", "801230.SI": "综合", "801710.SI": "建筑材料",
    "801720.SI": "建筑装饰", "801730.SI": "电力设备", "801740.SI": "国防军工", "801750.SI": "计算机",
    "801760.SI": "传媒", "801770.SI": "通信", "801780.SI": "银行", "801790.SI": "非银金融", "801880.SI": "汽车",
    "801890.SI": "机械设备", "801950.SI": "煤炭", "801960.SI": "石油石化", "801970.SI": "环保", "801980.SI": "美容护理",
}


def key_of(name: str) -> list[str]:
    return list(TABLES[name].key)


def merge_priority(frames: list[pd.DataFrame], key: list[str]) -> pd.DataFrame:
    """Concatenate ``frames`` (highest priority first) and keep the first row per ``key``."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return pd.DataFrame()
    out = pd.concat([f.assign(_prio=i) for i, f in enumerate(frames)], ignore_index=True)
    out = out.sort_values(["_prio"], kind="stable").drop_duplicates(key, keep="first").drop(columns="_prio")
    return out.sort_values(key, kind="stable").reset_index(drop=True)


def align_to_calendar(df: pd.DataFrame, cal: pd.DatetimeIndex, col: str = "date") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``df`` into (rows on the calendar window's trading days, rows dropped: non-trading days
    inside the window or outside it)."""
    on = df[col].isin(cal).to_numpy()
    return df[on].reset_index(drop=True), df[~on].reset_index(drop=True)


def index_info_frame(codes, names: dict | None = None, categories: dict | None = None,
                     regions: dict | None = None) -> pd.DataFrame:
    """index_info rows for ``codes``: names and categories from the arguments, then the known tables,
    then the keyword rules (:func:`._common.infer_category`, :func:`._common.infer_region`)."""
    names, categories, regions = names or {}, categories or {}, regions or {}
    rows = []
    for c in sorted(set(codes)):
        known = KNOWN_INDICES.get(c)
        name = names.get(c) or (known[0] if known else None) or SW_L1_NAMES.get(c) or c
        if c in categories:
            cat = categories[c]
        elif known:
            cat = known[1]
        elif c in SW_L1_NAMES:
            cat = "industry_theme"
        else:
            cat = infer_category(name)
        region = regions.get(c) or infer_region(c, name)
        rows.append((c, name, cat, region, TOTAL_RETURN_OF.get(c)))
    return pd.DataFrame(rows, columns=["code", "name", "category", "region", "total_return_of"])


def etf_info_frame(etf_list: pd.DataFrame, bars: pd.DataFrame, tracked: pd.Series, data_end) -> pd.DataFrame:
    """etf_info for ETFs with bars and a tracked index. list_date = first bar; delist_date = the day
    after the last bar when that is before ``data_end``; category = asset class."""
    g = bars.groupby("code")["date"].agg(["min", "max"])
    lst = etf_list.set_index("code") if len(etf_list) else pd.DataFrame(index=pd.Index([], name="code"))
    codes = [c for c in g.index if isinstance(tracked.get(c), str)]
    rows = []
    end = pd.Timestamp(data_end)
    for c in codes:  # one row per ETF (a few hundred)
        r = lst.loc[c] if c in lst.index else {}
        name = r.get("name") if hasattr(r, "get") else None
        last = g.loc[c, "max"]
        rows.append({"code": c, "name": name if isinstance(name, str) else c, "tracked_index": tracked[c],
                     "list_date": g.loc[c, "min"], "delist_date": last + pd.Timedelta(days=1) if last < end else pd.NaT,
                     "manager": r.get("manager") if hasattr(r, "get") else None,
                     "fee_rate": r.get("fee_rate") if hasattr(r, "get") else np.nan,
                     "category": infer_asset_class(name if isinstance(name, str) else "", tracked[c], None)})
    return pd.DataFrame(rows, columns=TABLES["etf_info"].names)


def stock_info_frame(codes, names: dict | None = None, list_dates: dict | None = None,
                     delist_dates: dict | None = None, industries: dict | None = None) -> pd.DataFrame:
    names, list_dates, delist_dates, industries = names or {}, list_dates or {}, delist_dates or {}, industries or {}
    codes = sorted(set(codes))
    return pd.DataFrame({"code": codes, "name": [names.get(c) or c for c in codes],
                         "list_date": [list_dates.get(c) for c in codes],
                         "delist_date": [delist_dates.get(c) for c in codes],
                         "industry_l1": [industries.get(c) for c in codes]})


def read_index_map(path: str | Path) -> pd.Series:
    """An ETF → tracked-index CSV: columns ``code`` and ``tracked_index`` (or the 2025 snapshot's
    ``tracking_index_code``)."""
    from etfrot.data.sources._common import etf_code, index_code

    df = pd.read_csv(path, dtype=str)
    col = "tracked_index" if "tracked_index" in df.columns else "tracking_index_code"
    if "code" not in df.columns or col not in df.columns:
        raise SourceError(f"{path}: an ETF → index map needs columns 'code' and 'tracked_index' (it has {list(df.columns)})")
    df = df.dropna(subset=["code", col])
    return pd.Series(index_code(df[col]).to_numpy(), index=etf_code(df["code"]).to_numpy())
