"""``etfrot data import-qlib``: a qlib ``cn_data`` dump (read by :mod:`etfrot.data.sources.qlib`) → a bundle.

* **Stocks** → ``stock_bars`` with raw prices: raw = adjusted / factor (qlib stores backward-adjusted prices;
  ``adj_factor`` = qlib's ``factor``, so close·adj_factor gives the dump's adjusted close back). ``volume`` is the
  stored share count (``volume_adjusted=True`` for dumps that divide it by the factor: raw = volume·factor).
  ``amount`` = the dump's ``amount``, else vwap/factor·volume from its ``vwap``, else NaN (then VWAP is
  unavailable: the AGRU model uses the close in its place, :mod:`etfrot.model.dataset`, and amount-based factors
  are NaN). is_suspended = volume 0 or NaN; is_st = False (qlib has no ST flags); limit flags from the close
  vs round(pre_close·(1 ± board limit), 2), pre_close = previous adjusted close / today's factor.
* **Indices** (SH000xxx, SZ399xxx, BJ899xxx) → ``index_bars`` (levels; ``factor`` ignored).
* **Instrument files** other than ``all.txt`` → ``index_members`` (csi300 → 000300.SH …); an interval ending on
  the window's last day is open (end_date NaN). ``members=DIR`` adds the ``DIR/<name>.txt`` files of the same
  layout (e.g. ``index_membership_qlib`` with csi500.txt, csi1000.txt); a name in both replaces the dump's file.
* ETF folders, stubs (series shorter than ``min_days`` that stop before the dump's last day), folders missing a
  required field and unknown codes are not imported: each is listed in the quality report and ``skipped.csv``.
* **Survivorship**: stocks whose series stop while the dump goes on are delisted; when none do, the manifest's
  ``caveats`` say the dump lacks delisted stocks, and every report built on the bundle carries it (``Bundle.label``).
* **Incremental update**: importing into a bundle written by this importer appends only the days after its last
  day (earlier rows never change); the write is atomic like every bundle write.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from etfrot.data.bundle import MANIFEST, Bundle, write_bundle
from etfrot.data.qlib_quality import (
    in_range,
    index_rules,
    membership_rules,
    stock_rules,
)
from etfrot.data.quality import QualityReport
from etfrot.data.quality import examples as _ex
from etfrot.data.real.context import Ctx, source_end
from etfrot.data.schema import TABLES
from etfrot.data.sources._assemble import index_info_frame
from etfrot.data.sources._common import limit_pct, round_price, stock_code
from etfrot.data.sources.qlib import (
    Folders,
    cut_qlib,
    read_calendar,
    read_instruments,
    read_matrix,
)
from etfrot.errors import SourceError

#: qlib instrument-file names → the index whose members they list.
INSTRUMENT_INDEX = {"csi300": "000300.SH", "csi500": "000905.SH", "csi800": "000906.SH", "csi1000": "000852.SH",
                    "csi100": "000903.SH", "sse50": "000016.SH", "sse180": "000010.SH", "szse100": "399330.SZ"}
STOCK_FIELDS = ("open", "high", "low", "close", "volume", "factor")
CHINEXT_REFORM = pd.Timestamp("2020-08-24")

__all__ = ["INSTRUMENT_INDEX", "QlibImport", "cut_qlib", "import_qlib"]


@dataclass
class QlibImport:
    bundle: Bundle
    report: QualityReport
    appended_days: int | None  # days added by an incremental update (None: a fresh import)
    skipped: pd.DataFrame  # folders not imported, with the reason
    timings: dict


@contextmanager
def _bar(show: bool, total: int):
    if not show:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("reading qlib features"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as p:
        t = p.add_task("read", total=total)
        yield lambda: p.advance(t)


def _wanted(spec: str, inst: dict, src: Path) -> set | None:
    """Stock codes (qlib spelling) chosen by ``--instruments``: None = all; an instrument-file name; or a file."""
    if spec in (None, "", "all"):
        return None
    if spec.lower() in inst:
        return set(inst[spec.lower()]["qlib"])
    p = Path(spec)
    if not p.exists():
        raise SourceError(f"--instruments {spec!r}: neither 'all', an instrument file of {src / 'instruments'} "
                          f"({sorted(inst)}) nor an existing file of codes")
    first = pd.read_csv(p, sep=r"[\t,;\s]+", header=None, dtype=str, engine="python", usecols=[0])[0]
    codes = stock_code(first)
    return {c[-2:] + c[:6] for c in codes.dropna()}


def _classify(ctx: Ctx, f: pd.DataFrame, want: set | None, inst: dict) -> pd.DataFrame:
    """Add ``use`` (stock / index / '') and ``why`` (reason for not importing) to the folder list."""
    rep = ctx.report
    f = f.copy()
    f["use"], f["why"] = "", ""
    has = lambda names: f["fields"].map(lambda t: all(n in t for n in names)).to_numpy(bool)
    other = (f["kind"] == "other").to_numpy()
    f.loc[other, "why"] = "code outside the stock / index / ETF ranges"
    rep.add("qlib_other_codes", "qlib", "folders whose code is neither a stock, an index nor an ETF (B shares, bonds, "
            "unknown spellings)", _ex(f.loc[other, "folder"]), 0, int(other.sum()), "not imported (skipped.csv)")
    etf = (f["kind"] == "etf").to_numpy()
    f.loc[etf, "why"] = "ETF (the bundle's ETF tables come from the ETF sources)"
    stock = (f["kind"] == "stock").to_numpy()
    miss = stock & ~has(STOCK_FIELDS)
    f.loc[miss, "why"] = "stock folder without " + f.loc[miss, "fields"].map(
        lambda t: "/".join(n for n in STOCK_FIELDS if n not in t))
    rep.add("qlib_missing_fields", "qlib", f"stock folders missing a field needed for raw bars ({', '.join(STOCK_FIELDS)})",
            _ex(f.loc[miss, "folder"] + ": " + f.loc[miss, "why"].str.replace("stock folder without ", "no ")), 0,
            int(miss.sum()), "not imported (skipped.csv)")
    index = (f["kind"] == "index").to_numpy()
    inoc = index & ~has(("close",))
    f.loc[inoc, "why"] = "index folder without close"
    unsel = stock & ~miss & (np.zeros(len(f), bool) if want is None else ~f["qlib"].isin(want).to_numpy())
    if want is not None:
        f.loc[unsel, "why"] = "not in --instruments"
    f.loc[stock & ~miss & ~unsel, "use"] = "stock"
    f.loc[index & ~inoc, "use"] = "index"
    if "all" in inst:
        listed, folders = set(inst["all"]["qlib"]), set(f["qlib"])
        rep.add("qlib_all_vs_folders", "qlib", "instruments/all.txt and the feature folders disagree",
                f"in all.txt without a folder: {_ex(sorted(listed - folders))}; folders not in all.txt: "
                f"{_ex(sorted(folders - listed))}", 0, len(listed ^ folders), "feature folders are what is read")
    return f


def _etf_report(ctx: Ctx, src: Path, f: pd.DataFrame, cal: pd.DatetimeIndex) -> None:
    etf = f[f["kind"] == "etf"]
    if etf.empty:
        ctx.report.add("qlib_etfs", "qlib", "ETF folders (51xxxx / 15xxxx …)", "", 0, 0, "none in the dump")
        return
    _, s, n = read_matrix(src, list(etf["folder"]), "close", len(cal))
    spans = [f"{c} {cal[a]:%Y-%m-%d}→{cal[min(a + b, len(cal)) - 1]:%Y-%m-%d} ({b} days)" if a >= 0 else f"{c} (no close)"
             for c, a, b in zip(etf["qlib"], s, n)]
    ctx.report.add("qlib_etfs", "qlib", "ETF folders (often a sliver of history in stock dumps)", _ex(spans, 8), int(n.sum()),
                   len(etf), "not imported: build ETF tables from an ETF source (build-real, fetch); listed in skipped.csv")


def _stub_mask(close: np.ndarray, win: np.ndarray, min_days: int) -> np.ndarray:
    """Columns whose series in the window has < ``min_days`` closes and stops before the window's last day."""
    c = np.isfinite(close[win])
    n = c.sum(axis=0)
    last_row = np.where(c.any(axis=0), len(c) - 1 - np.argmax(c[::-1], axis=0), -1)
    return (n > 0) & (n < min_days) & (last_row < len(c) - 1)


def _stock_bars(m: dict, dates: np.ndarray, codes: np.ndarray, win: np.ndarray, volume_adjusted: bool) -> pd.DataFrame:
    """Long stock_bars (date, code order) from the dense adjusted matrices (raw = adjusted / factor)."""
    close = m["close"]
    fac = pd.DataFrame(m["factor"]).ffill().to_numpy(dtype=np.float32)
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(close) & np.isfinite(fac) & (close > 0) & (fac > 0) & win[:, None]
        for k in ("open", "high", "low"):
            keep &= ~(m[k] <= 0)
    r, c = np.nonzero(keep)
    f = fac[keep].astype(np.float64)
    take = lambda a: a[keep].astype(np.float64)
    cl = take(close)
    px = {k: np.where(np.isfinite(v := take(m[k])), v, cl) / f for k in ("open", "high", "low")}
    cl_raw = cl / f
    v_in = take(m["volume"])
    vol = np.nan_to_num(v_in * f if volume_adjusted else v_in, nan=0.0)
    if "amount" in m:
        amount = take(m["amount"])
    elif "vwap" in m:
        amount = take(m["vwap"]) / f * vol
    else:
        amount = np.full(len(cl), np.nan)
    prev = np.vstack([np.full((1, close.shape[1]), np.nan, np.float32), close[:-1]])
    pre_close = take(prev) / f
    susp = (vol == 0) | np.isnan(v_in)
    lim = _limits(codes, dates)  # (2, n_codes): before / from the ChiNext reform
    p = np.where(dates[r] >= CHINEXT_REFORM.to_datetime64(), lim[1][c], lim[0][c])
    with np.errstate(invalid="ignore"):
        ok = ~susp & np.isfinite(pre_close)
        up = ok & (cl_raw >= round_price(pre_close * (1 + p)) - 0.005)
        dn = ok & (cl_raw <= round_price(pre_close * (1 - p)) + 0.005)
    hi = np.fmax.reduce([px["high"], px["open"], cl_raw])
    lo = np.fmin.reduce([px["low"], px["open"], cl_raw])
    return pd.DataFrame({"date": dates[r], "code": pd.array(codes, dtype="string").take(c), "open": px["open"],
                         "high": hi, "low": lo, "close": cl_raw, "volume": vol, "amount": amount, "adj_factor": f,
                         "is_st": np.zeros(len(r), bool), "is_suspended": susp, "limit_up": up, "limit_down": dn})


def _limits(codes: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """Board price limits per code before and from the ChiNext reform (:func:`limit_pct` on the distinct codes)."""
    s = pd.Series(codes, dtype="string")
    no_st = pd.Series(np.zeros(len(s), bool))
    return np.vstack([limit_pct(s, pd.Series([CHINEXT_REFORM - pd.Timedelta(days=1)] * len(s)), no_st),
                      limit_pct(s, pd.Series([CHINEXT_REFORM] * len(s)), no_st)])


def _index_bars(m: dict, dates: np.ndarray, codes: np.ndarray, win: np.ndarray) -> pd.DataFrame:
    close = m["close"]
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(close) & (close > 0) & win[:, None]
    r, c = np.nonzero(keep)
    take = lambda k: m[k][keep].astype(np.float64) if k in m else np.full(len(r), np.nan)
    o, h, lo, cl = (np.where(v > 0, v, np.nan) for v in (take("open"), take("high"), take("low"), take("close")))
    with np.errstate(invalid="ignore"):
        tol = 1e-6 * cl
        bad = (h < lo - tol) | (h < np.fmax(o, cl) - tol) | (lo > np.fmin(o, cl) + tol)
    h, lo = np.where(bad, np.fmax.reduce([h, o, cl]), h), np.where(bad, np.fmin.reduce([lo, o, cl]), lo)
    return pd.DataFrame({"date": dates[r], "code": pd.array(codes, dtype="string").take(c), "open": o, "high": h,
                         "low": lo, "close": cl, "volume": take("volume"), "amount": take("amount")})


def _members(ctx: Ctx, inst: dict, cal: pd.DatetimeIndex, stock_folders: set) -> pd.DataFrame:
    rows = []
    for name, iv in inst.items():
        if name == "all":
            continue
        idx = INSTRUMENT_INDEX.get(name)
        if idx is None:
            ctx.report.add(f"qlib_instruments_{name}", "qlib", f"instruments/{name}.txt: no known index for this name",
                           f"known: {sorted(INSTRUMENT_INDEX)}", len(iv), iv["qlib"].nunique(), "not imported")
            continue
        membership_rules(ctx.report, name, iv, stock_folders, cal)
        iv = iv[(iv["start"] <= cal[-1]) & (iv["end"] >= cal[0]) & iv["code"].notna()]
        rows.append(pd.DataFrame({"index_code": idx, "stock_code": iv["code"].to_numpy(),
                                  "start_date": iv["start"].to_numpy(),
                                  "end_date": iv["end"].where(iv["end"] < cal[-1]).to_numpy()}))
    out = pd.concat(rows, ignore_index=True) if rows else _empty("index_members")
    out = ctx.dedupe(out, ["index_code", "stock_code", "start_date"], "qlib/instruments", keep="last")
    return out.sort_values(["index_code", "stock_code", "start_date"]).reset_index(drop=True)


def _empty(name: str) -> pd.DataFrame:
    kinds = {"date": "datetime64[ns]", "str": "string", "float": "float64", "bool": "bool"}
    return pd.DataFrame({c.name: pd.Series([], dtype=kinds[c.kind]) for c in TABLES[name].columns})


def import_qlib(src: str | Path, out: str | Path, *, start=None, end=None, instruments: str = "all",
                min_days: int = 20, volume_adjusted: bool = False, full: bool = False, progress: bool = False,
                echo=None, members: str | Path | None = None) -> QlibImport:
    """Import the qlib directory ``src`` into the bundle ``out`` (module docstring); an existing bundle written by
    this importer is updated incrementally (only days after its last day are added) unless ``full``."""
    src, out = Path(src).resolve(), Path(out)
    rep = QualityReport()
    ctx = Ctx(src, rep, echo)
    cal_all = read_calendar(src)
    lo = pd.Timestamp(start) if start is not None else cal_all[0]
    hi = pd.Timestamp(end) if end is not None else cal_all[-1]
    win = np.asarray((cal_all >= lo) & (cal_all <= hi))
    if not win.any():
        raise SourceError(f"{src}: no trading day between {lo:%Y-%m-%d} and {hi:%Y-%m-%d} (the dump's calendar runs "
                          f"{cal_all[0]:%Y-%m-%d} → {cal_all[-1]:%Y-%m-%d})")
    old = _old_bundle(out) if not full else None
    q = read_qlib(ctx, src, cal_all, win, instruments=instruments, min_days=min_days, volume_adjusted=volume_adjusted,
                  progress=progress, members=members)
    tables, meta, caveats, skipped = q.tables, q.meta, q.caveats, q.skipped
    appended = None
    if old is not None:
        from etfrot.data.qlib_update import append_new_days

        tables, appended, meta = append_new_days(ctx, old, tables, meta)
    ctx.step("assemble")
    bundle = write_bundle(out, tables, source=f"qlib:{src}", meta=meta, caveats=caveats, sort=False)
    rep.write(out)
    skipped.to_csv(out / "skipped.csv", index=False)
    ctx.step("write")
    return QlibImport(bundle=bundle, report=rep, appended_days=appended, skipped=skipped, timings=ctx.timings)


@dataclass
class QlibTables:
    tables: dict[str, pd.DataFrame]  # calendar, stock/index bars and info, index_members, empty ETF tables
    meta: dict
    caveats: list[str]  # the survivorship caveat when no stock of the dump stops early
    skipped: pd.DataFrame  # folders not imported, with the reason


def read_qlib(ctx: Ctx, src: Path, cal_all: pd.DatetimeIndex, win: np.ndarray, *, instruments: str = "all",
              min_days: int = 20, volume_adjusted: bool = False, progress: bool = False,
              members: str | Path | None = None) -> QlibTables:
    """The tables of the qlib dump ``src`` on the calendar days ``cal_all[win]`` (module docstring), with the
    quality rules reported into ``ctx.report``; used by :func:`import_qlib` and by ``build-real --stock-source qlib``."""
    rep = ctx.report
    cal = cal_all[win]
    inst = read_instruments(src)
    extra = _extra_members(members, rep)
    members_meta = {"dir": str(Path(members).resolve()), "files": sorted(extra)} if members is not None else None
    inst.update(extra)
    f = _classify(ctx, Folders.scan(src).frame, _wanted(instruments, inst, src), inst)
    _etf_report(ctx, src, f, cal_all)
    ctx.step("scan")
    stocks = f[f["use"] == "stock"].sort_values("code")
    indices = f[f["use"] == "index"].sort_values("code")
    s_fields = [k for k in ("open", "high", "low", "close", "volume", "factor", "amount", "vwap")
                if stocks["fields"].map(lambda t, k=k: k in t).any()]
    i_fields = [k for k in ("open", "high", "low", "close", "volume", "amount")
                if indices["fields"].map(lambda t, k=k: k in t).any()]
    dates = cal_all.to_numpy()
    with _bar(progress, len(stocks) * len(s_fields) + len(indices) * len(i_fields)) as adv:
        sm, ss, sl = {}, None, None
        for k in s_fields:
            sm[k], s0, l0 = read_matrix(src, list(stocks["folder"]), k, len(dates), adv)
            if k == "close":
                ss, sl = s0, l0
        im, i_s, i_l = {}, None, None
        for k in i_fields:
            im[k], s0, l0 = read_matrix(src, list(indices["folder"]), k, len(dates), adv)
            if k == "close":
                i_s, i_l = s0, l0
    ctx.step("read")
    for k in ("open", "high", "low", "volume"):
        im.setdefault(k, np.full(im["close"].shape, np.nan, np.float32))
    stub = _stub_mask(sm["close"], win, min_days)
    rep.add("qlib_stubs", "qlib", f"stub folders: fewer than {min_days} days in the window and stopping before its "
            "last day", _ex(stocks.loc[stub, "qlib"]), int(np.isfinite(sm["close"][win][:, stub]).sum()), int(stub.sum()),
            "not imported (skipped.csv)")
    f.loc[stocks.index[stub], ["use", "why"]] = ["", f"stub (< {min_days} days)"]
    for k in sm:
        sm[k] = sm[k][:, ~stub]
    ss, sl, stocks = ss[~stub], sl[~stub], stocks[~stub]
    s_codes, i_codes = stocks["code"].to_numpy(dtype=object), indices["code"].to_numpy(dtype=object)
    # quality rules on the window's rows
    s_rng, i_rng = in_range(ss, sl, len(dates))[win], in_range(i_s, i_l, len(dates))[win]
    stock_rules(rep, cal, stocks["qlib"].to_numpy(), {k: v[win].astype(np.float64) for k, v in sm.items()}, s_rng)
    index_rules(rep, cal, indices["qlib"].to_numpy(), {k: v[win].astype(np.float64) for k, v in im.items()}, i_rng)
    past = int(np.maximum(0, ss + sl - len(dates)).sum() + np.maximum(0, i_s + i_l - len(dates)).sum())
    rep.add("qlib_past_calendar", "qlib", ".bin series longer than the calendar", "", past, 0, "values past the last "
            "calendar day ignored")
    absent = [k for k in ("amount", "vwap") if k not in s_fields]
    vwap_note = ("from the dump's amount / volume" if "amount" in s_fields else "from the dump's vwap (amount = "
                 "vwap / factor × volume)" if "vwap" in s_fields else "unavailable: the AGRU model uses the close in "
                 "place of VWAP; amount-based factors (flows, crowding) are NaN")
    rep.add("qlib_no_amount", "qlib", f"fields absent from the dump: {', '.join(absent) or 'none'}",
            f"stock fields read: {', '.join(s_fields)}", 0, len(absent), f"amount NaN where absent; VWAP {vwap_note}",
            readme=bool(absent), readme_count="no amount or VWAP" if absent else "")
    rep.add("qlib_no_st", "qlib", "qlib dumps carry no ST flags and no stock names", f"{len(stocks)} stocks", 0,
            len(stocks), "is_st = False (ST stocks' 5 % limits read as the board's limit); name = code")
    stock_bars = _stock_bars(sm, dates, s_codes, win, volume_adjusted)
    index_bars = _index_bars(im, dates, i_codes, win)
    del sm, im
    ctx.step("bars")
    members = _members(ctx, inst, cal, set(f.loc[f["kind"] == "stock", "qlib"]))
    first = stock_bars.groupby("code", sort=True)["date"].agg(["min", "max"])
    delisted, _ = source_end(ctx, "qlib", first["max"])
    ctx.note_span("qlib stock_bars", stock_bars["date"])
    ctx.note_span("qlib index_bars", index_bars["date"])
    only_members = sorted(set(members["stock_code"]) - set(first.index))
    mfirst = members.groupby("stock_code")["start_date"].min()
    codes = sorted(set(first.index) | set(only_members))
    stock_info = pd.DataFrame({"code": codes, "name": codes,
                               "list_date": [first["min"].get(c, mfirst.get(c)) for c in codes],
                               "delist_date": pd.to_datetime((delisted + pd.Timedelta(days=1)).reindex(codes).to_numpy()),
                               "industry_l1": pd.Series([None] * len(codes), dtype="string")})
    index_info = index_info_frame(set(index_bars["code"]) | set(members["index_code"]))
    rep.add("qlib_survivorship", "qlib", "survivorship: stocks whose series stop while the dump goes on (delisted); "
            "index members without any data", f"{len(delisted)} delisted; members without data: {_ex(only_members)}",
            0, len(delisted) + len(only_members), "none delisted: the manifest's caveats and every report say so"
            if len(delisted) == 0 else "delisted stocks kept with their delist_date", readme=True,
            readme_count="no delisted stock; 90 of the 1,434 CSI 300/500 members absent")
    caveats = []
    if len(delisted) == 0 and len(first):
        caveats.append(f"survivorship bias: no stock of the qlib dump stops trading before its last day "
                       f"({cal[-1]:%Y-%m-%d}) — delisted stocks are absent"
                       + (f"; {len(only_members)} index members have no data" if only_members else ""))
    tables = {"calendar": pd.DataFrame({"date": cal}), "stock_bars": stock_bars, "stock_info": stock_info,
              "index_bars": index_bars, "index_info": index_info.sort_values("code").reset_index(drop=True),
              "index_members": members, "etf_bars": _empty("etf_bars"), "etf_info": _empty("etf_info")}
    skipped = f.loc[f["use"] == "", ["folder", "code", "kind", "why"]].reset_index(drop=True)
    meta = {"importer": "import-qlib", "src": str(src), "window": [f"{cal[0]:%Y-%m-%d}", f"{cal[-1]:%Y-%m-%d}"],
            "calendar": [f"{cal[0]:%Y-%m-%d}", f"{cal[-1]:%Y-%m-%d}"], "instruments": instruments,
            "members": members_meta,
            "fields": {"stocks": s_fields, "indices": i_fields, "absent": absent}, "vwap": vwap_note,
            "volume_adjusted": volume_adjusted, "survivorship": caveats[0] if caveats else
            f"{len(delisted)} stocks stop trading before the dump's last day (delisted)",
            "inputs": ctx.ends, "quality_report": "quality_report.md", "skipped": len(skipped), "updates": []}
    return QlibTables(tables=tables, meta=meta, caveats=caveats, skipped=skipped)


def _extra_members(members, rep: QualityReport) -> dict[str, pd.DataFrame]:
    """``members/<name>.txt`` instrument files (none without ``members``); ``all.txt`` ignored."""
    if members is None:
        return {}
    d = Path(members)
    extra = {k: v for k, v in read_instruments(d, "").items() if k != "all"}
    if not extra:
        raise SourceError(f"--members {d}: no <name>.txt instrument file (CODE<TAB>start<TAB>end) in it")
    rep.add("qlib_extra_members", "qlib", f"membership files from {d}", ", ".join(sorted(extra)),
            sum(len(v) for v in extra.values()), len(extra), "imported as index_members (replace the dump's file "
            "of the same name)")
    return extra


def _old_bundle(out: Path) -> Bundle | None:
    if not (out / MANIFEST).exists():
        return None
    b = Bundle.open(out, validate=False)
    if (b.manifest.get("meta") or {}).get("importer") != "import-qlib":
        raise SourceError(f"{out} holds a bundle from source {b.source!r}, not one written by import-qlib: give a new "
                          "--out folder (or --full to replace it)")
    return b
