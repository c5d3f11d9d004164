"""SW industry history (three code systems mapped to the SW2021 level-1 names) and derived SW level-1 weights."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.data.pit import asof_panel
from etfrot.data.real.context import Ctx
from etfrot.data.sources._assemble import SW_L1_NAMES
from etfrot.data.sources._common import (
    stock_code,
)

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



def sw_industry_history(ctx: Ctx) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(stock_industry rows in SW2021 level-1 names, crosswalk table)."""
    rep = ctx.report
    cls = pd.read_csv(ctx.folder("sw_classification") / "StockClassifyUse_stock.csv", dtype=str)
    codes21 = pd.read_csv(ctx.folder("sw_classification") / "SwClassCode_2021.csv", dtype=str)
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
