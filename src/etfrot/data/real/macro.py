"""Monthly macro series with conservative release dates, and market-level daily series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.data.quality import examples as _ex
from etfrot.data.quality import span as _span
from etfrot.data.real.context import Ctx
from etfrot.data.sources import tushare as ts
from etfrot.data.sources._common import (
    to_dates,
    to_float,
)

#: Day of the next month on which a monthly series counts as released (None = last day of the month).
RELEASE_DAY = {"cpi_yoy": 10, "ppi_yoy": 10, "pmi": None, "pmi_nonmfg": None, "m1_yoy": 15, "m2_yoy": 15,
               "m1_level": 15, "m2_level": 15, "new_loans": 15, "tsf_flow": 15, "tsf_rmb_loans": 15, "tsf_stock": 15,
               "tsf_yoy": 15, "industrial_profit_yoy": 27, "exports_yoy": 15, "imports_yoy": 15,
               "exports_ytd_yoy": 15, "imports_ytd_yoy": 15, "retail_sales_yoy": 20, "retail_sales_ytd_yoy": 20,
               "fixed_asset_investment_yoy": 20, "fiscal_revenue_yoy": 25, "fiscal_revenue_ytd_yoy": 25}



def _monthly(period, series: str, value, day=None) -> pd.DataFrame:
    p = pd.to_datetime(pd.Series(period)).dt.to_period("M").dt.to_timestamp()
    df = pd.DataFrame({"period": p.to_numpy(), "series": series, "value": pd.Series(value).to_numpy(dtype=float)})
    df["release_date"] = ts.release_date(df["period"], RELEASE_DAY.get(series, day))
    return df


def build_macro(ctx: Ctx, cal) -> pd.DataFrame:
    rep = ctx.report
    em = ctx.folder("macro_cn_em")
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
    wind = ctx.folder("macro_cn_wind_1986_2017")
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
    pr = pd.read_csv(ctx.folder("macro_cn_industrial_profit_2012_2019") / "profit.csv", parse_dates=["date"])
    parts["industrial_profit_yoy"] = _monthly(pr["date"], "industrial_profit_yoy", pr["cumTB"])
    rep.add("macro_industrial_profit", "macro_cn_industrial_profit_2012_2019/profit.csv", "cumulative YoY only "
            "2012-02 → 2019-12, no January rows (Jan–Feb published together)", _span(pr["date"]), len(pr), 1,
            "used as industrial_profit_yoy (cumTB, not recomputed from levels); an earnings proxy must combine it "
            "with ppi_yoy outside 2012–2019", readme=True)
    # social financing stock (tushare sf_month)
    sfm = pd.read_csv(ctx.folder("macro_cn_tsf_stock_tushare") / "sf_month.csv", dtype={"month": str})
    tsf = ts.parse_sf_month(sfm, release_day=RELEASE_DAY["tsf_stock"], yoy_valid_from="2018-01-01")
    jump = sfm.set_index("month")["stk_endval"].astype(float)
    rep.add("macro_tsf_definition_change", "macro_cn_tsf_stock_tushare/sf_month.csv", "the stock jumps 18 % in 2017-01 "
            "(definition change); quarterly until 2015-09", f"{int(jump.isna().sum())} months without a stock value",
            int(jump.isna().sum()), 1, "tsf_yoy computed from levels only from 2018-01; tsf_stock in CNY (× 1e12); "
            "tsf_flow from sf_month not used (macro_cn_em has it)", readme=True)
    parts["tsf_stock"] = tsf[tsf["series"] == "tsf_stock"]
    parts["tsf_yoy"] = tsf[tsf["series"] == "tsf_yoy"]
    # daily market series: northbound (CNY million) and margin (1e8 CNY)
    nm = pd.read_parquet(ctx.folder("quantsplaybook_misc") / "north_money.parquet").reset_index()
    north = ts.parse_moneyflow_hsgt(nm, amount_unit="million_cny")
    rep.add("units_north_money", "quantsplaybook_misc/north_money.parquet", "daily net flows in CNY million",
            _span(north["period"]), len(nm), 6, "× 1e6 → CNY; macro series north_money, hgt, sgt, south_money, ggt_ss, "
            "ggt_sz (market level, visible from the trade date)", readme=True)
    mg = pd.read_csv(ctx.folder("csi_theme") / "margin.csv", parse_dates=["date"])
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
    allm = ctx.dedupe(allm.sort_values(["series", "period"], kind="stable"), ["series", "period"], "macro")
    for name, g in allm.groupby("series"):
        ctx.note_span(f"macro:{name}", g["period"], released=f"{g['release_date'].max():%Y-%m-%d}")
    rep.add("macro_release_lags", "macro", "reference periods are months (date = first day), not release dates",
            ", ".join(f"{k}: {'month end' if v is None else f'day {v}'}" for k, v in
                      {"pmi": None, "cpi/ppi": 10, "money/loans/tsf": 15, "industrial_profit": 27, "trade": 15,
                       "retail/fai": 20, "fiscal": 25}.items()), len(allm), allm["series"].nunique(),
            "release_date = conservative lag (README); visible only from then", readme=True)
    ctx.step("macro")
    return allm.reset_index(drop=True)
