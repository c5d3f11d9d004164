"""Tear-sheet tables of a backtest (issue 14 item 3): pure functions of NAVs, rebalances and holdings.

* :func:`monthly_returns` — year × month table, month m's return = NAV(last day of m) / NAV(last day of
  m − 1) − 1 (the first month from the first NAV); :func:`monthly_excess` = the same of the relative NAV
  (strategy / benchmark, :func:`etfrot.backtest.metrics.relative_nav`). Same as ``empyrical.aggregate_returns
  (r, "monthly")`` laid out as a grid (checked in tests/test_backtest_empyrical.py).
* :func:`drawdown_periods` — the worst underwater spells: start = the peak before the fall, trough = the
  lowest close, recovery = first close back at or above the peak (NaT while under water), depth =
  trough / peak − 1, days = trading days from start to recovery (to the last date when not recovered).
  As pyfolio's ``gen_drawdown_table`` but in trading days and with spells split at every new high.
* :func:`rolling_excess` — over windows of 21·m trading days (m = 6, 12 months): the relative NAV's
  return over the window and the IR mean(e) / std(e, ddof=1) · √252 of its daily returns e in the window
  (without a benchmark: the NAV's return and Sharpe).
* :func:`activity` / :func:`activity_by_year` — turnover (one-way, ½ Σ|Δw|) and number of holdings per
  execution, and per calendar year (Σ turnover, mean / min / max holdings, executions).
* :func:`industry_exposure` — Σ_code w_code(t) · share_{index(code), ind}(t): the holdings' weight in each
  SW level-1 industry through the index each holding tracks; weight whose mapping is missing (no tracked
  index, no weight snapshot in force, a constituent without an industry) is ``unclassified``.
  :func:`index_industry_shares` gives the shares point-in-time from a bundle's tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.backtest.metrics import P_YEAR, _nav, relative_nav

UNCLASSIFIED = "unclassified"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# ------------------------------------------------------------------------------------------- monthly
def monthly_returns(nav: pd.Series) -> pd.DataFrame:
    """Year × month (1–12) compounded returns; months without data are NaN; a ``total`` column (the calendar year)."""
    s = _nav(nav)
    key = [s.index.year, s.index.month]
    last = s.groupby(key).last()
    prev = last.shift(1)
    prev.iloc[0] = s.iloc[0]
    m = (last / prev - 1).rename("return")
    m.index.names = ["year", "month"]
    grid = m.unstack("month").reindex(columns=range(1, 13))
    ylast = s.groupby(s.index.year).last()
    yprev = ylast.shift(1)
    yprev.iloc[0] = s.iloc[0]
    grid["total"] = (ylast / yprev - 1).to_numpy()
    grid.columns = [*MONTHS, "total"]
    grid.index.name = "year"
    grid.attrs["kinds"] = dict.fromkeys(grid.columns, "percent")
    return grid


def monthly_excess(nav: pd.Series, benchmark: pd.Series) -> pd.DataFrame:
    """:func:`monthly_returns` of the relative NAV (excess = relative NAV's return, not r_s − r_b)."""
    return monthly_returns(relative_nav(nav, benchmark))


# ------------------------------------------------------------------------------------------- drawdowns
def drawdown_periods(nav: pd.Series, top: int = 5) -> pd.DataFrame:
    """The ``top`` deepest drawdown spells (start, trough, recovery, depth, days), deepest first."""
    s = _nav(nav)
    v = s.to_numpy()
    peak = np.maximum.accumulate(v)
    dd = v / peak - 1
    spell = np.cumsum(v >= peak) - 1  # a new spell starts at every close at (or above) the running peak
    n_sp = spell[-1] + 1
    pos = np.arange(len(v))
    start = np.zeros(n_sp, dtype=np.int64)
    start[spell[::-1]] = pos[::-1]  # first position of each spell
    order = np.lexsort((pos, dd, spell))  # by spell, then depth (deepest first), then date
    first_in_spell = np.r_[True, spell[order][1:] != spell[order][:-1]]
    trough = order[first_in_spell]
    depth = dd[trough]
    nxt = np.r_[start[1:], -1]
    keep = np.flatnonzero(depth < 0)
    keep = keep[np.lexsort((start[keep], depth[keep]))][:top]
    idx = s.index
    rec = nxt[keep]
    end = np.where(rec >= 0, rec, len(v) - 1)
    out = pd.DataFrame({
        "start": idx[start[keep]],
        "trough": idx[trough[keep]],
        "recovery": pd.DatetimeIndex(np.where(rec >= 0, idx[np.clip(rec, 0, None)], pd.NaT)),
        "depth": depth[keep],
        "days": end - start[keep],
    }, index=pd.RangeIndex(1, len(keep) + 1, name="rank"))
    return out


# ------------------------------------------------------------------------------------------- rolling
def rolling_excess(nav: pd.Series, benchmark: pd.Series | None = None, months=(6, 12),
                   periods: int = P_YEAR) -> pd.DataFrame:
    """Columns ``excess {m}m`` and ``IR {m}m`` per window (``return {m}m`` / ``Sharpe {m}m`` without a
    benchmark); a window of m months is 21·m trading days (P / 12 per month); NaN until a window is full."""
    base = _nav(nav) if benchmark is None else relative_nav(nav, benchmark)
    e = base / base.shift(1) - 1
    ret_name, ir_name = ("return", "Sharpe") if benchmark is None else ("excess", "IR")
    cols = {}
    for m in months:
        w = round(m * periods / 12)
        cols[f"{ret_name} {m}m"] = base / base.shift(w) - 1
        r = e.rolling(w, min_periods=w)
        cols[f"{ir_name} {m}m"] = r.mean() / r.std(ddof=1) * np.sqrt(periods)
    out = pd.DataFrame(cols)
    out.index.name = "date"
    return out


# ------------------------------------------------------------------------------------------- activity
def activity(rebalances: pd.DataFrame) -> pd.DataFrame:
    """Per execution (index exec_date): one-way turnover, number of holdings after it, cost (fraction of NAV)."""
    cols = [c for c in ("turnover", "n_held", "cost") if c in rebalances.columns]
    out = rebalances.set_index("exec_date")[cols].copy()
    out.index = pd.DatetimeIndex(out.index, name="exec_date")
    return out


def activity_by_year(rebalances: pd.DataFrame) -> pd.DataFrame:
    """Per calendar year of execution: Σ turnover (one-way), mean / min / max holdings, executions."""
    a = activity(rebalances)
    g = a.groupby(a.index.year)
    out = pd.DataFrame({"turnover": g["turnover"].sum(), "mean holdings": g["n_held"].mean(),
                        "min holdings": g["n_held"].min(), "max holdings": g["n_held"].max(),
                        "executions": g.size()})
    out.index.name = "year"
    out.attrs["kinds"] = {"mean holdings": "ratio", "min holdings": "count", "max holdings": "count",
                          "executions": "count", "turnover": "percent"}
    return out


# ------------------------------------------------------------------------------------------- industries
def industry_exposure(weights: pd.DataFrame, code_index: pd.Series, shares: pd.DataFrame) -> pd.DataFrame:
    """Date × industry weight of the holdings (fractions of NAV) plus ``unclassified``.

    ``weights``: date × code held weights; ``code_index``: code → the index it tracks (an index maps to
    itself); ``shares``: long table (date, index, industry, share) with Σ_industry share ≤ 1 for each
    (date, index) — the shortfall is constituent weight without a known industry. Rows sum to Σ_code w.
    """
    w = weights.rename_axis(index="date", columns="code").stack().rename("w").reset_index()
    w = w[w["w"] > 0]
    w["index"] = w["code"].map(code_index).astype(object)
    sh = shares[["date", "index", "industry", "share"]]
    j = w.merge(sh, on=["date", "index"], how="left")
    j["x"] = j["w"] * j["share"]
    known = j.dropna(subset=["industry"]).pivot_table(index="date", columns="industry", values="x", aggfunc="sum",
                                                      fill_value=0.0)
    dates = pd.DatetimeIndex(weights.index, name="date")
    known = known.reindex(dates, fill_value=0.0)
    known = known[known.sum().sort_values(ascending=False).index]
    known[UNCLASSIFIED] = (weights.clip(lower=0).sum(axis=1).to_numpy() - known.sum(axis=1).to_numpy()).clip(min=0)
    known.columns.name = "industry"
    known.attrs["kinds"] = dict.fromkeys(known.columns, "percent")
    return known


def index_industry_shares(index_weights: pd.DataFrame, industry: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Long (date, index, industry, share) for the (date, index) ``pairs``, point-in-time.

    ``index_weights``: the bundle table (date, index_code, stock_code, weight); ``industry``: date × stock
    SW level-1 names as known on each date (``Bundle.industry_panel``), or a function (dates, stocks) → the
    names of those pairs (:func:`bundle_industry_lookup`: no date × stock panel). The snapshot used on t is the
    index's latest on or before t while in force (:func:`etfrot.data.pit.snapshot_expiry`); share =
    Σ weight of the constituents in the industry / Σ weight of all constituents (unknown ones included).
    """
    cols = ["date", "index", "industry", "share"]
    iw = index_weights[index_weights["index_code"].isin(pd.unique(pairs["index"]))]
    if iw.empty or pairs.empty:
        return pd.DataFrame(columns=cols)
    snaps = iw[["index_code", "date"]].drop_duplicates().rename(columns={"index_code": "index", "date": "snap"})
    # snapshot_expiry's rule for every index at once: last snapshot + max(31 days, 2 × median gap)
    snaps = snaps.sort_values(["index", "snap"])
    g = snaps.assign(gap=snaps.groupby("index")["snap"].diff()).groupby("index")
    expiry = g["snap"].max() + (2 * g["gap"].median()).fillna(pd.Timedelta(0)).clip(lower=pd.Timedelta(days=31))
    q = pairs[["date", "index"]].drop_duplicates().astype({"index": object})
    q["date"] = pd.to_datetime(q["date"])
    q = pd.merge_asof(q.sort_values("date"), snaps.astype({"index": object}).sort_values("snap"), left_on="date",
                      right_on="snap", by="index", direction="backward")
    q = q[q["snap"].notna() & (q["date"] <= q["index"].map(expiry)).to_numpy()]
    rows = q.merge(iw.rename(columns={"index_code": "index", "date": "snap"}).astype({"index": object}),
                   on=["index", "snap"])
    if callable(industry):  # looked up for these (date, stock) rows only
        rows["industry"] = industry(pd.DatetimeIndex(rows["date"]), pd.Index(rows["stock_code"]))
    else:  # each row's industry straight from the panel (row = its date, column = its stock; absent → None)
        i = industry.index.get_indexer(pd.DatetimeIndex(rows["date"]))
        j = industry.columns.get_indexer(rows["stock_code"])
        ok = (i >= 0) & (j >= 0)
        lab = np.full(len(rows), None, dtype=object)
        lab[ok] = industry.to_numpy(dtype=object)[i[ok], j[ok]]
        rows["industry"] = lab
    total = rows.groupby(["date", "index"])["weight"].transform("sum")
    rows["share"] = rows["weight"] / total
    out = rows.dropna(subset=["industry"]).groupby(["date", "index", "industry"], as_index=False)["share"].sum()
    return out[cols]


def industry_exposure_from_bundle(bundle, weights: pd.DataFrame, max_dates: int = 120) -> pd.DataFrame | None:
    """:func:`industry_exposure` of ``weights`` (date × code) with the bundle's tables: ETF → ``tracked_index``
    (``etf_info``), an index → itself, index → industries by its weight snapshots and the stocks' SW level-1
    industry on the date. Sampled at the last row of each month when there are more than ``max_dates`` rows.
    None when the bundle has no ``index_weights`` table."""
    if not bundle.has("index_weights"):
        return None
    w = weights[(weights > 0).any(axis=1)]
    if len(w) > max_dates:
        w = w.groupby([w.index.year, w.index.month]).tail(1)
    if w.empty:
        return None
    codes = w.columns[(w > 0).any(axis=0).to_numpy()]
    w = w[codes]
    code_index = pd.Series(pd.NA, index=codes, dtype=object)
    if bundle.has("etf_info"):
        code_index = code_index.fillna(bundle.info("etf")["tracked_index"].reindex(codes).astype(object))
    if bundle.has("index_info"):
        is_idx = codes.isin(bundle.info("index").index)
        code_index[is_idx] = codes[is_idx]
    pairs = w.rename_axis(index="date", columns="code").stack().rename("w").reset_index()
    pairs = pairs[pairs["w"] > 0]
    pairs["index"] = pairs["code"].map(code_index)
    pairs = pairs.dropna(subset=["index"])
    shares = index_industry_shares(bundle.table("index_weights"), bundle_industry_lookup(bundle), pairs)
    return industry_exposure(w, code_index, shares)


def bundle_industry_lookup(bundle):
    """A function (dates, stocks) → object array of each pair's SW level-1 industry as known on the date (None:
    unknown), by the rule of ``Bundle.industry_panel``: the ``stock_industry`` row with the latest effective day
    ≤ the date's day (ties: the last row in table order; :func:`etfrot.data.pit.asof_panel`), else the static
    ``stock_info.industry_l1``. One ``merge_asof`` over the pairs asked for instead of a date × stock panel."""
    if bundle.has("stock_industry"):
        ev = bundle.table("stock_industry")[["code", "date", "industry_l1"]].dropna(subset=["code", "date"])
        ev = ev.assign(day=ev["date"].dt.floor("D"), code=ev["code"].astype(object),
                       industry_l1=ev["industry_l1"].astype(object)).drop(columns="date")
        ev = ev.sort_values("day", kind="stable")

        def lookup(dates: pd.DatetimeIndex, stocks: pd.Index) -> np.ndarray:
            q = pd.DataFrame({"day": dates.floor("D"), "code": stocks.astype(object), "pos": np.arange(len(dates))})
            m = pd.merge_asof(q.sort_values("day", kind="stable"), ev, on="day", by="code", direction="backward")
            out = np.full(len(dates), None, dtype=object)
            got = m["industry_l1"].notna().to_numpy()
            out[m["pos"].to_numpy()[got]] = m["industry_l1"].to_numpy(dtype=object)[got]
            return out
        return lookup
    info = bundle.table("stock_info")
    static = pd.Series(info["industry_l1"].astype(object).to_numpy(), index=pd.Index(info["code"].astype(object)))

    def lookup_static(dates: pd.DatetimeIndex, stocks: pd.Index) -> np.ndarray:
        got = static.reindex(stocks.astype(object))
        return np.where(got.notna().to_numpy(), got.to_numpy(dtype=object), None)
    return lookup_static
