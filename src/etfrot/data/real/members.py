"""Index constituent weights (tushare index_weight layout) and membership intervals (qlib instruments + exact change events)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from etfrot.data.quality import QualityReport
from etfrot.data.quality import examples as _ex
from etfrot.data.real.context import Ctx
from etfrot.data.sources import tushare as ts
from etfrot.data.sources._common import index_code, stock_code, to_dates, to_float
from etfrot.errors import SourceError


#: The constituent-weight files (tushare index_weight layout): dataset folder → its date column.
WEIGHT_FILES = {"csi300_weights": "datetime", "index_weight_csi500_sse50_2016_2019": "trade_date"}


def build_weights(ctx: Ctx) -> pd.DataFrame:
    """Every constituent-weight file of the source, one snapshot per (date, index): partial snapshots dropped,
    missing months flagged, weights in % → fractions renormalised per snapshot (tushare ``index_weight``)."""
    parts = []
    for folder, date_col in WEIGHT_FILES.items():
        try:
            f = ctx.folder(folder) / "index_weight.csv"
        except SourceError:
            ctx.report.add(f"weights_absent_{folder}", folder, "weight folder not in the source", "", 0, 0, "skipped")
            continue
        lib = pd.read_csv(f, dtype=str).rename(columns={date_col: "trade_date"})
        parts.append(_weights_file(ctx, lib, f"{f.parent.name}/{f.name}"))
    out = pd.concat(parts, ignore_index=True).sort_values(["date", "index_code", "stock_code"]).reset_index(drop=True)
    ctx.step("weights")
    return out


def _weights_file(ctx: Ctx, lib: pd.DataFrame, dataset: str) -> pd.DataFrame:
    rep = ctx.report
    lib = ctx.dedupe(lib, ["trade_date", "index_code", "con_code"], dataset)
    raw = pd.DataFrame({"date": to_dates(lib["trade_date"]), "index": index_code(lib["index_code"]), "n": 1,
                        "w": to_float(lib["weight"])})
    snap = raw.groupby(["index", "date"]).agg(n=("n", "size"), s=("w", "sum"))
    med = snap.groupby(level="index")["n"].transform("median")
    partial = snap[(snap["n"] < 0.5 * med) | (snap["s"] < 90)]
    key = dataset.split("/")[0]
    rep.add(f"weights_partial_snapshot_{key}", dataset, "snapshots with too few names (< half the index's usual count "
            "or weights summing < 90 %)", _ex([f"{i} {d:%Y-%m-%d}: {int(r.n)} names, {r.s:.1f} %" for (i, d), r in
                                              partial.iterrows()]), int(partial["n"].sum()), len(partial),
            "snapshot dropped", readme=key == "csi300_weights",
            readme_count="2009-12-03: 6 names (16.4 %)" if key == "csi300_weights" else "")
    missing = []
    for i, g in snap.groupby(level="index"):  # a few indices
        d = g.index.get_level_values("date")
        have = set(d.to_period("M"))
        missing += [f"{i} {m}" for m in pd.period_range(d.min(), d.max(), freq="M") if m not in have]
    rep.add(f"weights_missing_months_{key}", dataset, "months without a weight snapshot", _ex(missing, 12), 0,
            len(missing), "flagged: the previous snapshot stays in force", readme=key == "csi300_weights",
            readme_count="2016-01/02 among them" if key == "csi300_weights" else "",
            note=("missing: " + ", ".join(missing)) if missing else "")
    off = snap[(snap["s"] - 100).abs() > 0.01]
    rep.add(f"weights_units_{key}", dataset, "weights in % (tushare index_weight layout), dates YYYYMMDD",
            f"{len(off)} snapshots not summing to 100.00 %; indices {', '.join(snap.index.unique('index'))}",
            len(lib), len(snap), "÷ 100 and renormalised per snapshot" + ("; 399300.SZ → 000300.SH" if
                                                                       key == "csi300_weights" else ""), readme=True)
    ctx.note_span(dataset, raw["date"])
    bad = pd.MultiIndex.from_frame(raw[["index", "date"]]).isin(partial.index)
    return ts.parse_index_weight(lib[~bad])


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
    rep = ctx.report
    q = ctx.folder("index_membership_qlib")
    parts = []
    lags_all = {}
    for name, idx, events in (("csi300", "000300.SH", "HS300_history.csv"), ("csi500", "000905.SH", "ZZ500_history.csv"),
                              ("csi800", "000906.SH", None), ("csi1000", "000852.SH", None)):
        iv = _qlib(q / f"{name}.txt", idx, rep)
        file_end = iv["end_date"].max()  # intervals still open when the file was written end on its last day
        ctx.note_span(f"index_membership_qlib/{name}.txt", [iv["start_date"].min(), file_end])
        if events is None:
            iv.loc[iv["end_date"] >= file_end, "end_date"] = pd.NaT
            parts.append(iv)
            continue
        ev = pd.read_csv(ctx.folder("fundamentals_bao_670") / events, dtype=str)
        ev = pd.DataFrame({"date": pd.to_datetime(ev["chang_date"], format="%Y/%m/%d"),
                           "stock_code": stock_code(ev["code"].str.zfill(6)), "in_out": ev["in_out"].str.strip()})
        ev = ctx.dedupe(ev, ["date", "stock_code"], f"fundamentals_bao_670/{events}")
        out, lag, bad = _events_to_intervals(iv, ev)
        out = _qlib_after_events(ctx, out, iv, ev["date"].max(), file_end, name)
        out.loc[out["end_date"] >= file_end, "end_date"] = pd.NaT
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
    out = pd.concat(parts, ignore_index=True).sort_values(["index_code", "stock_code", "start_date"], kind="stable")
    out = ctx.dedupe(out, ["index_code", "stock_code", "start_date"], "index_membership_qlib")
    ctx.step("members")
    return out


def _qlib_after_events(ctx: Ctx, out: pd.DataFrame, iv: pd.DataFrame, ev_end, file_end, name: str) -> pd.DataFrame:
    """Splice: when the membership file goes on after the last exact change event, its (lagged) intervals carry
    the changes after it — entries that start later are added, and members whose file interval ends before the
    file does leave then."""
    if pd.isna(file_end) or file_end <= ev_end + pd.Timedelta(days=31):
        return out
    new = iv[iv["start_date"] > ev_end]
    left = iv[(iv["start_date"] <= ev_end) & (iv["end_date"] > ev_end) & (iv["end_date"] < file_end)]
    out = out.copy()
    close = out["end_date"].isna() & out["stock_code"].isin(left["stock_code"])
    out.loc[close, "end_date"] = out.loc[close, "stock_code"].map(left.set_index("stock_code")["end_date"]).to_numpy()
    ctx.report.add(f"members_splice_{name}", f"index_membership_qlib/{name}.txt", f"the exact change events end "
                   f"{ev_end:%Y-%m-%d}, the membership file goes on to {file_end:%Y-%m-%d}",
                   f"{len(new)} entries, {int(close.sum())} exits after the events' end", len(new) + int(close.sum()),
                   1, "spliced: the file's intervals (lagged a median 17 days, README) carry the later changes")
    return pd.concat([out, new], ignore_index=True)


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
