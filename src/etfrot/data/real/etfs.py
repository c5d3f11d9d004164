"""ETF bars (tushare set, Eastmoney set where it adds days) and the ETF → tracked-index mapping."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from etfrot.data.quality import examples as _ex
from etfrot.data.quality import span as _span
from etfrot.data.real.context import Ctx, cal_align, read_many, source_end
from etfrot.data.sources import akshare as ak
from etfrot.data.sources import tushare as ts
from etfrot.data.sources._common import (
    etf_code,
    index_code,
    infer_asset_class,
    repair_ohlc,
    to_dates,
    to_float,
)


@dataclass
class EtfData:
    bars: pd.DataFrame
    names: dict
    em_used: list
    delisted: pd.Series  # code → last traded day, for ETFs that stopped while their source went on


def _ts_etf_frame(ctx: Ctx, etfs) -> tuple[pd.DataFrame, pd.Series]:
    """The tushare ETF rows (only ``etfs`` when given) and the last priced day of every ETF of the set (the
    source end and delistings are judged on the whole set, also in a restricted build)."""
    folder = ctx.folder("etf_tushare_unadj_883") / "etf"
    paths = sorted(folder.glob("*.csv.gz"))
    key = lambda p: p.name[:9]  # noqa: E731
    sel = paths if etfs is None else [p for p in paths if p.name[:9] in set(etfs)]
    df = read_many(sel, key, strings=("code", "name", "date"))
    df["date"] = pd.to_datetime(df["date"])
    df = ctx.dedupe(df, ["_file", "date"], "etf_tushare_unadj_883", label={"_file": "code"})
    allv = df if etfs is None else read_many(paths, key, strings=("date",), columns=["date", "close"])
    d = pd.to_datetime(allv["date"]).where(allv["close"].notna().to_numpy())
    return df, d.groupby(allv["_file"].astype(str)).max().dropna()


def build_etfs(ctx: Ctx, cal: pd.DatetimeIndex, etfs=None) -> EtfData:
    rep = ctx.report
    raw, last_all = _ts_etf_frame(ctx, etfs)
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
    rep.add("etf_ts_empty", "etf_tushare_unadj_883", "ETF files without a single priced row (listed after the data's end)",
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
    delisted, ts_end = source_end(ctx, "etf_tushare_unadj_883", last_all, readme_count="73")
    delisted = delisted[delisted.index.isin(bars["code"].unique())]
    ctx.note_span("etf_tushare_unadj_883", [bars["date"].min(), ts_end])
    _check_adj_factor(ctx, bars)
    _ts_index_file(ctx)

    # ---- Eastmoney set: defects, the days it adds before a tushare series, and after the tushare set ends
    em_used: list = []
    em = _em_etfs(ctx, cal, set(bars["code"]) | set(empty_codes), etfs)
    if em is not None and len(em):
        add, em_used = _em_checks(ctx, em, bars, cal)
        if len(add):
            bars = _splice_em(ctx, bars, add)
        tail, em_delisted = _em_after_end(ctx, em, bars, ts_end)
        if len(tail):
            bars = pd.concat([bars, tail], ignore_index=True).sort_values(["date", "code"]).reset_index(drop=True)
            em_used = sorted(set(em_used) | set(tail["code"]))
            delisted = pd.concat([delisted, em_delisted])
            names.update(_em_names(ctx, tail["code"].unique()))
    bars = bars[bars["code"].notna()]
    bars, n_bad = repair_ohlc(bars, nullable=True)
    if n_bad:
        rep.add("etf_ohlc_inconsistent", "etf bars", "high < low or close outside [low, high]", "", n_bad, 0,
                "open/high/low set to NaN (close kept)")
    bars = cal_align(ctx, bars, cal, "etf bars")
    ctx.step("etfs")
    return EtfData(bars=bars, names=names, em_used=em_used, delisted=delisted)


def _check_adj_factor(ctx: Ctx, bars: pd.DataFrame) -> None:
    """Cross-check: the derived adj_factor against tushare's own fund_adj (quantsplaybook_misc)."""
    p = ctx.folder("quantsplaybook_misc") / "etf_adjfactor.parquet"
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


def _ts_index_file(ctx: Ctx) -> None:
    p = ctx.folder("etf_tushare_unadj_883") / "sh000300.csv"
    if not p.exists():
        return
    d = pd.read_csv(p)
    dates = to_dates(d["date"], fmt="%Y/%m/%d")
    b = pd.read_csv(ctx.folder("index_csindex_tr") / "sh000300.csv", parse_dates=["date"]).set_index("date")
    vol_lots = pd.Series(to_float(d["amount"]).to_numpy(), index=dates)
    ratio = (b["volume"].reindex(vol_lots.index) / vol_lots).median()
    ctx.report.add("etf_ts_sh000300_layout", "etf_tushare_unadj_883/sh000300.csv", "dates like 2005/1/4; column "
                   "'amount' is the volume in lots", _span(dates), len(d), 1,
                   f"parsed with format %Y/%m/%d; amount × 100 = volume in shares (median ratio to BaoStock's volume "
                   f"{ratio:.1f}); not used for bars (index_csindex_tr has CSI 300 with amount)", readme=True)


def _em_etfs(ctx: Ctx, cal, ts_codes: set, etfs) -> pd.DataFrame | None:
    """Eastmoney rows of the ETFs (``_file`` = our code; codes absent from the tushare set get their exchange from
    the first digit: 5 → SH, else SZ), restricted to ``etfs`` when given."""
    folder = ctx.folder("etf_em_qfq_800") / "etf"
    if not folder.is_dir():
        return None
    by6 = {c[:6]: c for c in ts_codes}
    code = lambda p: by6.get(p.name[:6]) or f"{p.name[:6]}.{'SH' if p.name[0] == '5' else 'SZ'}"  # noqa: E731
    paths = [p for p in sorted(folder.glob("*.csv.gz")) if etfs is None or code(p) in set(etfs)]
    em = read_many(paths, code, strings=("datetime",))
    if em.empty:
        return em
    em["date"] = pd.to_datetime(em["datetime"])
    return ctx.dedupe(em, ["_file", "date"], "etf_em_qfq_800", label={"_file": "code"})


def _em_checks(ctx: Ctx, em: pd.DataFrame, bars: pd.DataFrame, cal) -> tuple[pd.DataFrame, list]:
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
    # days the tushare set lacks before an ETF's first tushare bar (ETFs of the tushare set only; days after the
    # tushare set's end are :func:`_em_after_end`'s)
    first_ts = bars.groupby("code")["date"].min()
    e2 = em[["_file", "date"]].assign(first=em["_file"].astype(str).map(first_ts).astype("datetime64[ns]"))
    add_mask = e2["first"].notna() & (e2["date"] < e2["first"]) & ~em["_file"].isin(unusable.index) & (em["close"] > 0)
    add = em[add_mask.to_numpy()]
    rep.add("etf_em_added_coverage", "etf_em_qfq_800", "Eastmoney rows on days the tushare set lacks (used)",
            _ex([f"{c}: {_span(g['date'])}" for c, g in add.groupby("_file")]), len(add), add["_file"].nunique(),
            "used, flagged: additively forward-adjusted prices (adj_factor 1 on these rows, chained into the tushare "
            "factor at the junction); 成交量 lots × 100 → shares", readme=True,
            note="the additive adjustment is a known defect of these rows' returns")
    return add, sorted(add["_file"].unique())


def _splice_em(ctx: Ctx, bars: pd.DataFrame, add: pd.DataFrame) -> pd.DataFrame:
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


def _em_after_end(ctx: Ctx, em: pd.DataFrame, bars: pd.DataFrame, ts_end) -> tuple[pd.DataFrame, pd.Series]:
    """Splice the Eastmoney rows after the tushare set's last day (usable, README: additively adjusted prices).

    An ETF of the tushare set that was still trading on its last day continues with Eastmoney's returns, chained
    at that day: adj_factor = (tushare close × adj_factor) / Eastmoney close on the junction day, constant after
    it; an ETF that lists after the tushare set ends enters with adj_factor 1. Returns (the spliced rows, the
    ETFs that then stop while the Eastmoney set goes on: code → last day).
    """
    em_end = em["date"].max()
    ctx.note_span("etf_em_qfq_800", em["date"])
    if em_end <= ts_end:
        return bars.iloc[:0], pd.Series(dtype="datetime64[ns]")
    ok = em[(em["close"] > 0)]
    after = ok[ok["date"] > ts_end]
    b = bars[bars["date"] == ts_end].set_index("code")
    junction = ok[ok["date"] == ts_end].set_index("_file")["close"]
    cont = b.index.intersection(junction.index)
    k = (b.loc[cont, "close"] * b.loc[cont, "adj_factor"] / junction[cont])
    first_bar = bars.groupby("code")["date"].min()
    code = after["_file"].astype(str)
    known = code.isin(first_bar.index)
    use = code.isin(cont) | ~known  # a tushare ETF without a junction row (stopped before ts_end) is not revived
    after = after[use.to_numpy()]
    lib = after.rename(columns={"open": "开盘", "close": "收盘", "high": "最高", "low": "最低", "volume": "成交量"})
    lib["日期"] = lib["date"]
    tail = pd.concat([ak.parse_fund_etf_hist_em(g, c) for c, g in lib.groupby("_file", observed=True)], ignore_index=True) \
        if len(lib) else bars.iloc[:0]
    tail["adj_factor"] = tail["code"].map(k).fillna(1.0).to_numpy(dtype=float)
    last = em.groupby(em["_file"].astype(str))["date"].max()
    ended = last[last.index.isin(tail["code"].unique())]
    em_del, _ = source_end(ctx, "etf_em_qfq_800", last)
    em_del = em_del[em_del.index.isin(ended.index)]
    ctx.report.add("etf_splice_em_after_tushare", "etf_tushare_unadj_883 → etf_em_qfq_800", "the tushare ETF set ends "
                   f"{ts_end:%Y-%m-%d}, the Eastmoney set goes on to {em_end:%Y-%m-%d}: ETFs spliced onto Eastmoney",
                   f"{len(cont.intersection(tail['code'].unique()))} ETFs continued, "
                   f"{tail.loc[~tail['code'].isin(first_bar.index), 'code'].nunique()} listed after the tushare end",
                   len(tail), tail["code"].nunique(), "spliced: Eastmoney returns chained at the junction day (additively "
                   "adjusted prices: returns on distribution days distorted, README)", readme=True)
    return tail, em_del


def _em_names(ctx: Ctx, codes) -> dict:
    """Names of ETFs from the Eastmoney spot list (``etf.csv``: 代码 like sh510300, 名称)."""
    p = ctx.folder("etf_em_qfq_800") / "etf.csv"
    if not p.exists():
        return {}
    s = pd.read_csv(p, dtype=str, usecols=["代码", "名称"])
    m = dict(zip(etf_code(s["代码"]), s["名称"]))
    return {c: m[c] for c in codes if c in m}


def _pre_close_of(ctx: Ctx, code: str, date) -> float | None:
    d = pd.read_csv(ctx.folder("etf_tushare_unadj_883") / "etf" / f"{code}.csv.gz", parse_dates=["date"])
    r = d.loc[d["date"] == date, "pre_close"]
    return float(r.iloc[0]) if len(r) and pd.notna(r.iloc[0]) else None


def etf_mapping(ctx: Ctx, codes: list[str], names: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept etf list with tracked index & metadata, dropped ETFs with reason)."""
    rep = ctx.report
    meta = pd.read_csv(ctx.folder("etf_meta_snapshot_2025") / "etf_list_size_tracking_index.csv", dtype=str)
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


def _check_wind_mapping(ctx: Ctx, kept: pd.DataFrame) -> None:
    p = ctx.folder("etf_index_wind_15") / "index" / "TOTAL.csv"
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
