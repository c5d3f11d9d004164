"""Backtest inputs (SPEC §7, §10): validation of prices and weights, the window, delisting and execution prices.

:func:`prepare_inputs` checks the weights and prices and returns the (rebalance × code) arrays both
engines (weight-based :mod:`etfrot.backtest.engine`, lot-based :mod:`etfrot.backtest.lots`) start from;
:func:`execution_prices` gives the price each execution trades at (close or open of the execution day,
the last price where there is none), which assets can trade, and the price relatives between executions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from etfrot.errors import DataMissingError, ValidationError

EXECUTIONS = ("next_close", "next_open", "same_close")


@dataclass
class Inputs:
    """Checked inputs on the calendar: ``W`` (R × N) targets of the executable rebalances, ``exec_pos`` their
    calendar positions, ``P`` adjusted closes with prices after a delisting masked, ``Pf`` the same forward-filled,
    ``dl_pos`` first calendar position not listed per code (None = no delisting rule), ``lo``/``hi`` the window."""

    weights: pd.DataFrame
    cal: pd.DatetimeIndex
    codes: pd.Index
    sig: pd.DatetimeIndex
    exec_pos: np.ndarray
    pending: pd.DatetimeIndex
    W: np.ndarray
    P: np.ndarray
    Pf: np.ndarray
    dl_pos: np.ndarray | None
    lo: int
    hi: int


@dataclass
class ExecPrices:
    """Per execution j and code i: ``M`` mark/trade price (adjusted), ``avail`` a price that day, ``T`` can trade,
    ``Dl`` delisted by then, ``REL`` = M_j / M_{j−1} (1 where unknown)."""

    M: np.ndarray
    avail: np.ndarray
    T: np.ndarray
    Dl: np.ndarray
    REL: np.ndarray


def prepare_inputs(weights: pd.DataFrame, prices: pd.DataFrame, *, execution: str = "next_close",
                   delisted=None, start=None, end=None) -> Inputs:
    """Validate ``weights`` and adjusted ``prices`` and cut the window (see :func:`etfrot.backtest.run_backtest`)."""
    if execution not in EXECUTIONS:
        raise ValidationError("backtest", "execution", f"unknown execution {execution!r}", fix=f"use one of {list(EXECUTIONS)}")
    cal, px_all = _check_prices(prices, "prices", values=False)
    weights = _check_weights(weights, cal, px_all.columns)

    # Only the codes that are ever targeted matter for the account (and only their prices are checked).
    used = weights.columns[(np.nan_to_num(weights.to_numpy()) > 0).any(axis=0)]
    codes = pd.Index(used, name="code")
    _check_prices(px_all.reindex(columns=codes), "prices")
    P_full = px_all.reindex(columns=codes).to_numpy(dtype=float, copy=True)

    # Delisting: a listing end masks every later price; the value is paid out at the last price.
    dl_pos = _delist_positions(delisted, cal, codes, P_full)  # index into cal of the first day not listed (len(cal) = never)
    if dl_pos is not None:
        P_full[np.arange(len(cal))[:, None] >= dl_pos[None, :]] = np.nan

    # Window.
    sig_all = weights.index
    lo = cal.searchsorted(pd.Timestamp(start)) if start is not None else cal.get_loc(sig_all[0])
    hi = cal.searchsorted(pd.Timestamp(end), side="right") if end is not None else len(cal)
    if hi <= lo:
        raise ValidationError("backtest", "start", f"empty window {start} → {end}", fix="choose start < end inside the price calendar")
    sig_pos_all = cal.get_indexer(sig_all)
    shift = 0 if execution == "same_close" else 1
    exec_pos_all = sig_pos_all + shift
    keep = (sig_pos_all >= lo) & (exec_pos_all < hi)
    pending = sig_all[(sig_pos_all >= lo) & (exec_pos_all >= hi) & (sig_pos_all < hi)]
    W = np.nan_to_num(weights.reindex(columns=codes).to_numpy(dtype=float)[keep])
    if W.shape[0] == 0:
        raise ValidationError("weights", "date", "no rebalance can be executed inside the backtest window",
                              examples=[f"{d:%Y-%m-%d}" for d in sig_all[:5]],
                              fix="give signal dates at least one trading day before the end of the prices (or widen start/end)")
    return Inputs(weights=weights, cal=cal, codes=codes, sig=sig_all[keep], exec_pos=exec_pos_all[keep],
                  pending=pd.DatetimeIndex(pending), W=W, P=P_full, Pf=_ffill(P_full), dl_pos=dl_pos, lo=lo, hi=hi)


def execution_prices(inp: Inputs, *, execution: str, opens: pd.DataFrame | None = None,
                     tradable: pd.DataFrame | None = None) -> ExecPrices:
    """Trade/mark prices of every execution, availability and price relatives (module docstring)."""
    cal, codes, exec_pos, dl_pos = inp.cal, inp.codes, inp.exec_pos, inp.dl_pos
    R, N = inp.W.shape
    if execution == "next_open":
        if opens is None:
            raise ValidationError("backtest", "opens", "execution='next_open' needs the adjusted open prices",
                                  fix="pass opens=bundle.panel('etf_bars', 'open', adjusted=True)")
        _, op = _check_prices(opens.reindex(columns=codes), "opens")
        O = op.reindex(index=cal, columns=codes).to_numpy(dtype=float, copy=True)
        if dl_pos is not None:
            O[np.arange(len(cal))[:, None] >= dl_pos[None, :]] = np.nan
        o_ex = O[exec_pos]
        avail = np.isfinite(o_ex) & np.isfinite(inp.P[exec_pos])
        M = np.where(np.isfinite(o_ex), o_ex, inp.Pf[exec_pos - 1])
    else:
        avail = np.isfinite(inp.P[exec_pos])
        M = inp.Pf[exec_pos].copy()
    T = avail
    if tradable is not None:
        tr = tradable.reindex(index=cal, columns=codes, fill_value=False).fillna(False).to_numpy(dtype=bool)
        T = T & tr[exec_pos]
    Dl = (exec_pos[:, None] >= dl_pos[None, :]) if dl_pos is not None else np.zeros((R, N), bool)
    T = T & ~Dl
    REL = np.ones((R, N))
    if R > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            r = M[1:] / M[:-1]
        REL[1:] = np.where(np.isfinite(r), r, 1.0)
    return ExecPrices(M=M, avail=avail, T=T, Dl=Dl, REL=REL)


def benchmark_levels(benchmark: pd.Series | None, dates: pd.DatetimeIndex, is_returns: bool = False) -> pd.Series | None:
    """The benchmark normalised to 1 on the first date (returns compounded first when ``is_returns``)."""
    if benchmark is None:
        return None
    if is_returns:
        benchmark = (1.0 + benchmark.astype(float).fillna(0.0)).cumprod().rename(benchmark.name)
    return _benchmark(benchmark, dates)


# --------------------------------------------------------------------------------------------- checks
def _check_prices(prices: pd.DataFrame, what: str, values: bool = True) -> tuple[pd.DatetimeIndex, pd.DataFrame]:
    if not isinstance(prices, pd.DataFrame) or not isinstance(prices.index, pd.DatetimeIndex):
        raise ValidationError(what, None, "must be a DataFrame indexed by trading date (DatetimeIndex)",
                              fix="use bundle.panel('etf_bars', 'close', adjusted=True)")
    idx = prices.index
    if idx.has_duplicates:
        raise ValidationError(what, "date", "duplicate dates", examples=[str(d.date()) for d in idx[idx.duplicated()][:5]],
                              fix="keep one row per trading day")
    if not idx.is_monotonic_increasing:
        raise ValidationError(what, "date", "dates not sorted", fix="sort the panel by date (sort_index())")
    if prices.columns.has_duplicates:
        raise ValidationError(what, "code", "duplicate codes", examples=list(prices.columns[prices.columns.duplicated()][:5]),
                              fix="one column per code")
    if not values:
        return idx, prices
    try:
        v = prices.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(what, None, "non-numeric values", fix="prices must be float") from None
    bad = np.isfinite(v) & (v <= 0) | np.isinf(v)
    if bad.any():
        r, c = np.nonzero(bad)
        ex = [f"date={idx[a]:%Y-%m-%d}, code={prices.columns[b]}, value={v[a, b]}" for a, b in zip(r[:5], c[:5])]
        raise ValidationError(what, None, "non-positive or infinite prices", examples=ex, count=int(bad.sum()),
                              fix="prices must be > 0 (NaN = no price that day)")
    return idx, prices


def _check_weights(weights: pd.DataFrame, cal: pd.DatetimeIndex, codes: pd.Index) -> pd.DataFrame:
    if not isinstance(weights, pd.DataFrame) or not isinstance(weights.index, pd.DatetimeIndex):
        raise ValidationError("weights", None, "must be a DataFrame indexed by rebalance date (DatetimeIndex)",
                              fix="one row per rebalance date, one column per code")
    if len(weights) == 0:
        raise ValidationError("weights", None, "no rebalance dates", fix="give at least one row of target weights")
    idx = weights.index
    if idx.has_duplicates:
        raise ValidationError("weights", "date", "duplicate rebalance dates",
                              examples=[f"{d:%Y-%m-%d}" for d in idx[idx.duplicated()][:5]], fix="one row per rebalance date")
    if not idx.is_monotonic_increasing:
        raise ValidationError("weights", "date", "rebalance dates not sorted", fix="sort_index() the weights")
    off = idx[~idx.isin(cal)]
    if len(off):
        raise ValidationError("weights", "date", "rebalance dates that are not trading days of the price panel",
                              examples=[f"{d:%Y-%m-%d}" for d in off[:5]], count=len(off),
                              fix="use etfrot.data.calendar.rebalance_dates(bundle.calendar, freq)")
    unknown = weights.columns[~weights.columns.isin(codes)]
    if len(unknown):
        raise ValidationError("weights", "code", "codes without prices", examples=list(unknown[:5]), count=len(unknown),
                              fix="give prices for every code you may hold, or drop these columns")
    try:
        v = weights.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ValidationError("weights", None, "non-numeric weights", fix="weights must be floats") from None
    vv = np.nan_to_num(v)
    if np.isinf(v).any() or (vv < 0).any():
        r, c = np.nonzero(np.isinf(v) | (vv < 0))
        ex = [f"date={idx[a]:%Y-%m-%d}, code={weights.columns[b]}, weight={v[a, b]}" for a, b in zip(r[:5], c[:5])]
        raise ValidationError("weights", None, "negative or infinite weights (the engine is long-only)", examples=ex,
                              count=len(r), fix="weights must be in [0, 1]; NaN means 0")
    s = vv.sum(axis=1)
    over = s > 1 + 1e-9
    if over.any():
        ex = [f"date={d:%Y-%m-%d}, sum={x:.6f}" for d, x in zip(idx[over][:5], s[over][:5])]
        raise ValidationError("weights", None, "rows sum to more than 1 (no leverage)", examples=ex, count=int(over.sum()),
                              fix="normalise each row to sum ≤ 1 (the rest is cash)")
    return weights.astype(float)


def _delist_positions(delisted, cal, codes, P) -> np.ndarray | None:
    """Calendar position of each code's first day not listed (len(cal) = still listed)."""
    n = len(cal)
    if delisted is None:
        return None
    if isinstance(delisted, str):
        if delisted != "infer":
            raise ValidationError("backtest", "delisted", f"unknown value {delisted!r}", fix="use 'infer', None or a Series code → date")
        ok = np.isfinite(P)
        any_ok = ok.any(axis=0)
        last = n - 1 - np.argmax(ok[::-1], axis=0)
        pos = np.where(any_ok & (last < n - 1), last + 1, n)
        return pos.astype(np.int64)
    d = pd.Series(delisted).reindex(codes)
    d = pd.to_datetime(d)
    pos = np.full(len(codes), n, dtype=np.int64)
    has = d.notna().to_numpy()
    pos[has] = cal.searchsorted(pd.DatetimeIndex(d[has]))
    return pos


def _benchmark(bench: pd.Series, dates: pd.DatetimeIndex) -> pd.Series:
    if not isinstance(bench, pd.Series):
        raise ValidationError("benchmark", None, "must be a Series of price/NAV levels indexed by date",
                              fix="use etfrot.backtest.benchmarks.benchmark_nav(bundle, ...)")
    b = bench.astype(float)
    if (b.dropna() <= 0).any():
        raise ValidationError("benchmark", None, "non-positive levels: a benchmark is a price or NAV level, not returns",
                              fix="pass (1 + returns).cumprod() for a return series")
    b = b[~b.index.duplicated(keep="last")].sort_index()
    b = b.reindex(b.index.union(dates)).ffill().reindex(dates)
    if not np.isfinite(b.iloc[0]):
        first = bench.dropna().index.min()
        raise DataMissingError(f"benchmark '{bench.name}' has no value on the first backtest date {dates[0]:%Y-%m-%d} "
                               f"(its data start {first}); start the backtest later or choose another benchmark.")
    out = (b / b.iloc[0]).rename("benchmark")
    out.index.name = "date"
    return out




def _ffill(a: np.ndarray) -> np.ndarray:
    """Forward-fill NaN down the rows of a 2-D array (pandas' C loop; twice as fast as an index scan here)."""
    return pd.DataFrame(a).ffill().to_numpy(dtype=float, copy=True)


