"""Index constituent weights (tushare index_weight layout) and membership intervals (qlib instruments + exact change events)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from etfrot.data.quality import QualityReport
from etfrot.data.quality import examples as _ex
from etfrot.data.real.calendar import DATA_END
from etfrot.data.real.context import Ctx
from etfrot.data.sources import tushare as ts
from etfrot.data.sources._common import (
    stock_code,
    to_dates,
    to_float,
)


def build_weights(ctx: Ctx) -> pd.DataFrame:
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


def build_members(ctx: Ctx) -> pd.DataFrame:
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
