"""Data sources (SPEC §1.3): ``files`` (a folder in the bundle's layout) and the AKShare, tushare and
BaoStock adapters.

Each adapter module has two layers:

* **fetch** — ``fetch(out, kinds=…, …)`` downloads the library's own frames into a resumable raw store
  ``<out>/raw/<source>/<kind>/<key>.parquet`` with retries, back-off, a rate limit and a progress bar
  (:mod:`._fetch`); the libraries are optional (``pip install etfrot[data]``);
* **parse** — ``parse_*`` pure functions from those frames (their column names, units and date
  formats) to bundle tables, unit conversions explicit.

:func:`fetch_source` runs one adapter's fetch and then :func:`assemble_bundle`, which parses every raw
store present under ``<out>/raw`` (so several sources can fill one bundle) and writes the bundle at
``<out>`` when the required tables are there.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from etfrot.errors import SourceError

SOURCES = ("tushare", "baostock", "akshare")  # priority order when two sources have the same row


def _module(source: str):
    if source not in SOURCES:
        raise SourceError(f"unknown source {source!r}; use one of {list(SOURCES)}")
    import importlib

    return importlib.import_module(f"etfrot.data.sources.{source}")


def fetch_source(source: str, out, *, kinds=None, etfs=None, stocks=None, start=None, end=None, per_minute=None,
                 retries: int = 4, progress: bool = True, etf_index_map=None, client=None, sleep=None, echo=None,
                 build: bool = True):
    """Fetch ``kinds`` of ``source`` into ``<out>/raw`` and (``build``) assemble the bundle at ``out``.

    Returns (FetchSummary, Bundle or None). The tushare token is read from ``TUSHARE_TOKEN``.
    """
    mod = _module(source)
    kw = dict(kinds=tuple(kinds) if kinds else mod.DEFAULT_KINDS, start=start, end=end, retries=retries,
              progress=progress, client=client, sleep=sleep, echo=echo)
    if per_minute:
        kw["per_minute"] = per_minute
    if source != "baostock":
        kw["etfs"] = etfs
    kw["stocks"] = stocks
    unknown = [k for k in kw["kinds"] if k not in mod.KINDS]
    if unknown:
        raise SourceError(f"{source} cannot fetch {unknown}; it knows {list(mod.KINDS)}")
    summary = mod.fetch(out, **kw)
    bundle = assemble_bundle(out, etf_index_map=etf_index_map, echo=echo) if build else None
    return summary, bundle


def assemble_bundle(out, *, etf_index_map=None, echo=None):
    """Parse every raw store under ``<out>/raw`` and write the bundle at ``out``.

    ETFs need a tracked index: from ``etf_index_map`` (a CSV with ``code, tracked_index``, or a
    mapping), else from tushare's fund_basic benchmark text matched exactly to index_basic names;
    ETFs without one are left out and listed. Raises a SourceError naming the missing required
    tables when the sources fetched so far cannot make a bundle.
    """
    from etfrot.data.bundle import write_bundle
    from etfrot.data.schema import TABLES
    from etfrot.data.sources._assemble import (
        align_to_calendar,
        etf_info_frame,
        index_info_frame,
        key_of,
        merge_priority,
        read_index_map,
        stock_info_frame,
    )
    from etfrot.data.sources._fetch import RawStore
    from etfrot.data.sources.tushare import map_benchmark_to_index

    out = Path(out)
    parts: dict[str, list[pd.DataFrame]] = {}
    used = []
    for src in SOURCES:
        if (out / "raw" / src).is_dir():
            used.append(src)
            for name, df in _module(src).assemble(RawStore(out / "raw", src)).items():
                parts.setdefault(name, []).append(df)
    if not used:
        raise SourceError(f"{out / 'raw'} holds no fetched data; run `etfrot data fetch --source … --out {out}` first")
    say = echo or (lambda m: None)
    t: dict[str, pd.DataFrame] = {}
    for name in ("etf_bars", "index_bars", "stock_bars", "index_weights", "index_members", "fundamentals", "valuation",
                 "flows", "macro"):
        if name in parts:
            t[name] = merge_priority(parts[name], key_of(name))
    cal = merge_priority(parts.get("calendar", []), ["date"])
    if cal.empty:
        dates = pd.concat([t[n]["date"] for n in ("index_bars", "etf_bars", "stock_bars") if n in t] or [pd.Series([], dtype="datetime64[ns]")],
                          ignore_index=True)
        cal = pd.DataFrame({"date": pd.DatetimeIndex(dates.unique()).sort_values()})
        say("no calendar fetched: using the union of the bar dates")
    have_bars = [t[n]["date"] for n in ("index_bars", "etf_bars", "stock_bars") if n in t and len(t[n])]
    if not have_bars:
        raise SourceError(f"the data fetched into {out / 'raw'} ({', '.join(used)}) hold no bars yet: fetch index_bars "
                          "and etf_bars (the raw data are kept; fetch more into the same --out)")
    bar_dates = pd.concat(have_bars, ignore_index=True)
    if len(bar_dates):
        cal = cal[(cal["date"] >= bar_dates.min()) & (cal["date"] <= bar_dates.max())]
    cal_idx = pd.DatetimeIndex(cal["date"])
    for name in ("etf_bars", "index_bars", "stock_bars", "valuation", "flows"):
        if name in t:
            t[name], dropped = align_to_calendar(t[name], cal_idx)
            if len(dropped):
                say(f"{name}: {len(dropped)} rows on non-trading days dropped")
    # ETFs and their indices
    etf_list = merge_priority(parts.get("etf_list", []), ["code"])
    tracked = pd.Series(dtype="string")
    if etf_index_map is not None:
        tracked = read_index_map(etf_index_map) if not isinstance(etf_index_map, (dict, pd.Series)) else pd.Series(etf_index_map)
    elif "benchmark" in etf_list.columns and "index_list" in parts:
        idx_list = merge_priority(parts["index_list"], ["code"])
        tracked = pd.Series(map_benchmark_to_index(etf_list["benchmark"], idx_list).to_numpy(), index=etf_list["code"])
    tracked = tracked.dropna()
    if "etf_bars" in t:
        no_idx = sorted(set(t["etf_bars"]["code"]) - set(tracked.index))
        if no_idx:
            say(f"{len(no_idx)} ETFs without a tracked index left out (pass --etf-index-map): {no_idx[:10]}")
        t["etf_bars"] = t["etf_bars"][t["etf_bars"]["code"].isin(tracked.index)].reset_index(drop=True)
        t["etf_info"] = etf_info_frame(etf_list, t["etf_bars"], tracked, cal_idx[-1])
    names = {}
    if "index_list" in parts:
        il = merge_priority(parts["index_list"], ["code"])
        names = dict(zip(il["code"], il["name"]))
    idx_codes = set(t["index_bars"]["code"]) if "index_bars" in t else set()
    if "etf_info" in t:
        idx_codes |= set(t["etf_info"]["tracked_index"])
    for n, c in (("index_weights", "index_code"), ("index_members", "index_code")):
        if n in t:
            idx_codes |= set(t[n][c])
    t["index_info"] = index_info_frame(idx_codes, names=names)
    stock_codes = set()
    for n, c in (("stock_bars", "code"), ("index_weights", "stock_code"), ("index_members", "stock_code"),
                 ("fundamentals", "code")):
        if n in t:
            stock_codes |= set(t[n][c])
    if stock_codes:
        sl = merge_priority(parts.get("stock_list", []), ["code"])
        first = pd.concat([t[n].groupby(c)[d].min() for n, c, d in (("stock_bars", "code", "date"),
                                                                      ("index_weights", "stock_code", "date"),
                                                                      ("index_members", "stock_code", "start_date"))
                           if n in t]).groupby(level=0).min()
        ld = {**first.to_dict(), **(dict(zip(sl["code"], sl["list_date"])) if len(sl) else {})}
        t["stock_info"] = stock_info_frame(stock_codes, names=dict(zip(sl["code"], sl["name"])) if len(sl) else None,
                                           list_dates={k: v for k, v in ld.items() if pd.notna(v)},
                                           delist_dates=dict(zip(sl["code"], sl["delist_date"])) if len(sl) else None)
    t["calendar"] = cal.reset_index(drop=True)
    missing = [n for n, s in TABLES.items() if s.required and (n not in t or t[n].empty)]
    if missing:
        hint = {"etf_bars": "fetch ETFs with --source tushare or akshare (kinds etf_list, etf_bars)",
                "etf_info": "ETFs need a tracked index: pass --etf-index-map CSV (code,tracked_index)",
                "index_bars": "fetch index_bars"}
        raise SourceError(f"the data fetched into {out / 'raw'} ({', '.join(used)}) cannot make a bundle yet: missing "
                          f"{missing}. " + "; ".join(hint.get(m, "") for m in missing if m in hint) +
                          ". The raw data are kept: fetch more into the same --out and it is assembled again.")
    t = {k: v for k, v in t.items() if not v.empty}
    return write_bundle(out, t, source="fetch:" + "+".join(used), meta={"sources": used})


__all__ = ["SOURCES", "fetch_source", "assemble_bundle"]
