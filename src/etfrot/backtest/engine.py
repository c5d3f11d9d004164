"""The backtest engine (SPEC §7): target weights on rebalance dates → the daily NAV of a real long-only account.

Timing (seed 000 §4: "调仓价格使用收盘价", weekly, 双边千一): a signal dated t uses data up to the close
of t and is traded at the close of t+1 (``execution="next_close"``, default), at the open of t+1
(``"next_open"``) or — for studies only, it peeks at the close it trades at — the close of t
(``"same_close"``). Costs: ``(fee + slippage) × |traded value|`` on every buy and every sell (seed 000:
0.1 % round trip ⇒ fee = 0.0005 per side).

Accounting, per execution j (V = NAV, w = weights as fractions of V, cash = 1 − Σw):

* drift: between executions each holding keeps its units; its value moves with the adjusted price
  (a missing price carries the last one), cash earns nothing:
  ``w_pre_j = w_post_{j−1} · rel_j / (Σ w_post_{j−1} · rel_j + cash_{j−1})``, ``rel_j = M_j / M_{j−1}``;
  M = execution price (close or open of the execution day), or the last price where there is none.
* trade: tradable assets move to their target weight of the post-cost NAV; an asset that cannot trade
  that day (no price / suspended / not listed / ``tradable`` False) keeps its holding (the trade is
  *skipped* and reported). If the frozen holdings leave less room than the tradable targets need, the
  tradable targets are scaled down by the same factor; cash absorbs the rest (no leverage, no
  redistribution of a skipped buy to other assets).
* costs, self-financing: ``k = V_post / V_pre`` solves ``k = 1 − (fee + slippage) · Σ_tradable |x_i·k − w_pre_i|``
  (x = post-trade weights of the tradable assets), a contraction solved to 1e-15 by fixed-point iteration.
* delisting: an asset whose listing ends (``delisted`` dates, or inferred: no price after its last
  one) is paid out at its last price — NAV is unchanged, the value is cash from the delist date on,
  without a trading cost, free for the next rebalance (reported in ``Result.delistings``).
* daily NAV: ``V_t = V_post_j · (Σ_i u_ji · P_ti + cash_j)`` for e_j ≤ t < e_{j+1}, u = units per unit NAV.

Vectorised: the weights and costs of all executions are computed at once as (rebalance × code)
arrays under the assumption that the previous execution reached its targets; only executions where
a held asset cannot trade (and the one after each) are recomputed in a loop over those rebalance
dates with numpy bodies. The daily pass is one gather over (day × code). No Python loop over days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from etfrot.errors import DataMissingError, ValidationError

EXECUTIONS = ("next_close", "next_open", "same_close")
_EPS = 1e-12


# --------------------------------------------------------------------------------------------- result
@dataclass
class Result:
    """What a backtest returns.

    ``nav`` daily NAV (1.0 at the close of the first signal date), ``benchmark_nav`` normalised the same
    way, ``trades`` one row per (execution, code) that changed or was meant to change, ``rebalances`` one
    row per execution, ``skipped`` the trades that could not be made, ``delistings`` the holdings paid out
    at their last price, ``pending`` signals whose execution day lies after the data. ``weights`` (daily
    held weights, end of day) and ``cash`` are computed on first use.
    """

    nav: pd.Series
    benchmark_nav: pd.Series | None
    targets: pd.DataFrame
    trades: pd.DataFrame
    rebalances: pd.DataFrame
    delistings: pd.DataFrame
    pending: pd.DatetimeIndex
    execution: str
    fee: float
    slippage: float
    scores: pd.DataFrame | None = None
    names: pd.Series | None = None
    benchmark_name: str = "benchmark"
    _seg: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ derived series
    @property
    def skipped(self) -> pd.DataFrame:
        """Trades that could not be made (asset suspended, without a price, or not tradable that day)."""
        return self.trades[self.trades["status"].str.startswith("skipped")].reset_index(drop=True)

    @property
    def costs(self) -> pd.Series:
        """Cost of each execution as a fraction of the NAV before it, indexed by execution date."""
        return self.rebalances.set_index("exec_date")["cost"]

    @property
    def turnover(self) -> pd.Series:
        """One-way turnover of each execution: ½ Σ_i |w_post − w_pre| (a full switch = 1, first purchase = 0.5)."""
        return self.rebalances.set_index("exec_date")["turnover"]

    def relative_nav(self) -> pd.Series:
        """Strategy NAV / benchmark NAV (seed 000: 超额净值); needs a benchmark."""
        if self.benchmark_nav is None:
            raise DataMissingError("this backtest has no benchmark; pass benchmark= to run_backtest for relative NAV.")
        return (self.nav / self.benchmark_nav).rename("relative_nav")

    @cached_property
    def weights(self) -> pd.DataFrame:
        """Daily held weights at each close (fractions of NAV; delisted holdings count as cash)."""
        s = self._seg
        w = _daily_weights(s["units"], s["vpost"], s["seg"], s["px"], self.nav.to_numpy())
        if s["delist_pos"] is not None:
            after = np.arange(len(self.nav))[:, None] >= s["delist_pos"][None, :]
            w[after] = 0.0
        return pd.DataFrame(w, index=self.nav.index, columns=s["codes"])

    @property
    def cash(self) -> pd.Series:
        return (1.0 - self.weights.sum(axis=1)).rename("cash")

    # ------------------------------------------------------------------ tables
    def metrics(self, *, ci: bool = True, n_boot: int = 1000, block: int = 20, seed: int = 0,
                periods: int = 252) -> pd.Series:
        """The summary metrics of SPEC §7 (formulas in :mod:`etfrot.backtest.metrics`)."""
        from etfrot.backtest.metrics import summary

        return summary(self.nav, self.benchmark_nav, period_ends=self._period_ends(),
                       turnover=self.turnover, costs=self.costs, ci=ci, n_boot=n_boot, block=block,
                       seed=seed, periods=periods)

    def yearly(self) -> pd.DataFrame:
        """Per calendar year: return, benchmark, excess (relative NAV), vol, Sharpe, max DD, excess max DD, IR."""
        from etfrot.backtest.metrics import yearly_table

        return yearly_table(self.nav, self.benchmark_nav)

    def holdings(self, last: int | None = None) -> pd.DataFrame:
        """Holdings per rebalance: signal and execution date, code, name, target and held weight, score, rank.

        ``held`` is the weight right after the execution (differs from ``target`` where a trade was skipped).
        """
        held = self._held_after()
        if last is not None:
            keep = self.rebalances["signal_date"].iloc[-last:]
            held = held[held["signal_date"].isin(keep)]
        out = held.copy()
        if self.names is not None:
            out.insert(3, "name", out["code"].map(self.names).astype("string"))
        if self.scores is not None:
            sc = self.scores.reindex(index=pd.DatetimeIndex(out["signal_date"].unique()))
            long = sc.stack(future_stack=True).rename("score").rename_axis(["signal_date", "code"]).reset_index()
            long["rank"] = long.groupby("signal_date")["score"].rank(ascending=False, method="min")
            out = out.merge(long, on=["signal_date", "code"], how="left")
        return out.reset_index(drop=True)

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> None:
        """Write the result to a folder (Parquet tables + one npz of the segment arrays + meta JSON)."""
        import json
        import os
        from pathlib import Path

        d = Path(path)
        d.mkdir(parents=True, exist_ok=True)
        frames = {"nav": self.nav.to_frame(), "targets": self.targets, "trades": self.trades,
                  "rebalances": self.rebalances, "delistings": self.delistings}
        if self.benchmark_nav is not None:
            frames["benchmark_nav"] = self.benchmark_nav.to_frame()
        if self.scores is not None:
            frames["scores"] = self.scores
        if self.names is not None:
            frames["names"] = self.names.astype("string").rename("name").to_frame()
        for k, f in frames.items():
            f = f.copy()
            f.columns = [str(c) for c in f.columns]
            tmp = d / f".{k}.parquet.tmp"
            f.to_parquet(tmp)
            os.replace(tmp, d / f"{k}.parquet")
        s = self._seg
        arrays = {k: s[k] for k in ("units", "vpost", "seg", "px", "post", "tgt")}
        arrays["codes"] = np.array([str(c) for c in s["codes"]], dtype=str)
        if s["delist_pos"] is not None:
            arrays["delist_pos"] = s["delist_pos"]
        with open(d / ".segments.npz.tmp", "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(d / ".segments.npz.tmp", d / "segments.npz")
        meta = {"execution": self.execution, "fee": self.fee, "slippage": self.slippage,
                "benchmark_name": self.benchmark_name, "pending": [f"{x:%Y-%m-%d}" for x in self.pending]}
        (d / "result.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, path) -> "Result":
        """Read a result written by :meth:`save`."""
        import json
        from pathlib import Path

        d = Path(path)
        if not (d / "result.json").is_file():
            raise DataMissingError(f"{d} holds no saved backtest result (no result.json); run `etfrot backtest CONFIG` first.")
        meta = json.loads((d / "result.json").read_text())
        rd = lambda k: pd.read_parquet(d / f"{k}.parquet") if (d / f"{k}.parquet").exists() else None  # noqa: E731
        nav = rd("nav")["nav"]
        bench = rd("benchmark_nav")
        names = rd("names")
        z = np.load(d / "segments.npz", allow_pickle=False)
        seg = {k: z[k] for k in ("units", "vpost", "seg", "px", "post", "tgt")}
        seg["codes"] = pd.Index(z["codes"].astype(str), name="code")
        seg["delist_pos"] = z["delist_pos"] if "delist_pos" in z.files else None
        return cls(nav=nav, benchmark_nav=None if bench is None else bench["benchmark"], targets=rd("targets"),
                   trades=rd("trades"), rebalances=rd("rebalances"), delistings=rd("delistings"),
                   pending=pd.DatetimeIndex(meta["pending"]), execution=meta["execution"], fee=meta["fee"],
                   slippage=meta["slippage"], scores=rd("scores"), names=None if names is None else names["name"],
                   benchmark_name=meta["benchmark_name"], _seg=seg)

    def _held_after(self) -> pd.DataFrame:
        s = self._seg
        post, tgt = s["post"], s["tgt"]
        j, i = np.nonzero((post > _EPS) | (tgt > _EPS))
        order = np.lexsort((i, -post[j, i], j))  # by rebalance, then held weight (largest first), then code
        j, i = j[order], i[order]
        reb = self.rebalances
        return pd.DataFrame({
            "signal_date": reb["signal_date"].to_numpy()[j],
            "exec_date": reb["exec_date"].to_numpy()[j],
            "code": pd.array(s["codes"].to_numpy()[i], dtype="string"),
            "target": tgt[j, i],
            "held": post[j, i],
        })

    def _period_ends(self) -> pd.DatetimeIndex:
        ex = pd.DatetimeIndex(self.rebalances["exec_date"])
        return ex.append(self.nav.index[-1:]).unique()


# --------------------------------------------------------------------------------------------- engine
def run_backtest(
    weights: pd.DataFrame,
    prices: pd.DataFrame,
    *,
    opens: pd.DataFrame | None = None,
    execution: str = "next_close",
    fee: float = 0.0005,
    slippage: float = 0.0,
    tradable: pd.DataFrame | None = None,
    delisted: pd.Series | str | None = "infer",
    benchmark: pd.Series | None = None,
    benchmark_name: str | None = None,
    benchmark_is_returns: bool = False,
    scores: pd.DataFrame | None = None,
    names: pd.Series | None = None,
    start=None,
    end=None,
    _sequential: bool = False,
) -> Result:
    """Backtest target ``weights`` (rebalance date × code, rows sum ≤ 1, rest cash) on adjusted ``prices``.

    Formula: see the module docstring (drift by units, self-financing costs per side, skipped trades
    for assets that cannot trade, delisting paid out at the last price). Source: SPEC §7, seed 000 §4.

    ``prices``: adjusted closes (date × code, the trading calendar); ``opens``: adjusted opens (needed for
    ``execution="next_open"``); ``tradable``: bool panel, False = cannot trade that day (suspended, not
    listed) — combined with "has a price"; ``delisted``: Series code → first day not listed, ``"infer"``
    (no price after the last one ⇒ delisted the next trading day) or None; ``benchmark``: a price/NAV
    level series (any scale), normalised to 1 at the start — or daily returns with
    ``benchmark_is_returns=True`` (compounded: level_t = Π(1 + r)). ``scores`` and ``names`` are kept for the
    holdings table. ``start``/``end`` clip the NAV (default: first signal date → last price date).
    """
    if execution not in EXECUTIONS:
        raise ValidationError("backtest", "execution", f"unknown execution {execution!r}", fix=f"use one of {list(EXECUTIONS)}")
    rate = float(fee) + float(slippage)
    if not (0.0 <= fee < 0.5 and 0.0 <= slippage < 0.5):
        raise ValidationError("backtest", "fee", f"fee={fee}, slippage={slippage} must be in [0, 0.5) per side",
                              fix="give costs as fractions, e.g. fee=0.0005 for 5 bp per side")
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
    sig = sig_all[keep]
    exec_pos = exec_pos_all[keep]
    W = np.nan_to_num(weights.reindex(columns=codes).to_numpy(dtype=float)[keep])
    R, N = W.shape
    if R == 0:
        raise ValidationError("weights", "date", "no rebalance can be executed inside the backtest window",
                              examples=[f"{d:%Y-%m-%d}" for d in sig_all[:5]],
                              fix="give signal dates at least one trading day before the end of the prices (or widen start/end)")

    Pf_full = _ffill(P_full)
    # Execution / mark prices M (R × N) and availability.
    if execution == "next_open":
        if opens is None:
            raise ValidationError("backtest", "opens", "execution='next_open' needs the adjusted open prices",
                                  fix="pass opens=bundle.panel('etf_bars', 'open', adjusted=True)")
        _, op = _check_prices(opens.reindex(columns=codes), "opens")
        O = op.reindex(index=cal, columns=codes).to_numpy(dtype=float, copy=True)
        if dl_pos is not None:
            O[np.arange(len(cal))[:, None] >= dl_pos[None, :]] = np.nan
        o_ex = O[exec_pos]
        avail = np.isfinite(o_ex) & np.isfinite(P_full[exec_pos])
        M = np.where(np.isfinite(o_ex), o_ex, Pf_full[exec_pos - 1])
    else:
        avail = np.isfinite(P_full[exec_pos])
        M = Pf_full[exec_pos].copy()
    T = avail
    if tradable is not None:
        tr = tradable.reindex(index=cal, columns=codes, fill_value=False).fillna(False).to_numpy(dtype=bool)
        T = T & tr[exec_pos]
    Dl = (exec_pos[:, None] >= dl_pos[None, :]) if dl_pos is not None else np.zeros((R, N), bool)
    T = T & ~Dl
    M_ok = np.isfinite(M)

    # Price relatives between executions.
    REL = np.ones((R, N))
    if R > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            r = M[1:] / M[:-1]
        REL[1:] = np.where(np.isfinite(r), r, 1.0)

    # ---- vectorised pass: assume every previous execution reached its (tradable) targets.
    E = np.where(T, W, 0.0)
    prev = np.vstack([np.zeros((1, N)), E[:-1]])
    num = prev * REL
    denom = num.sum(axis=1) + (1.0 - prev.sum(axis=1))
    Wpre = num / denom[:, None]
    bad = ((Wpre > 0) & ~T & ~Dl).any(axis=1)
    post = E.copy()
    k = _solve_k(E, np.where(T, Wpre, 0.0), rate)
    if _sequential:
        bad[:] = True

    # ---- sequential fix-ups where a held asset could not trade (loop over those rebalance dates only).
    fixed = np.zeros(R, bool)
    j = int(np.argmax(bad)) if bad.any() else R
    while j < R:
        if j > 0 and fixed[j - 1]:
            n_ = post[j - 1] * REL[j]
            Wpre[j] = n_ / (n_.sum() + (1.0 - post[j - 1].sum()))
        post[j], k[j], fixed[j] = _step(Wpre[j], W[j], T[j], Dl[j], rate)
        if fixed[j] or (j + 1 < R and bad[j + 1]):
            j += 1
        else:
            nxt = np.flatnonzero(bad[j + 1:])
            j = j + 1 + int(nxt[0]) if nxt.size else R

    # ---- segment values: V_pre_{j+1} = V_post_j · g_j, V_post_j = V_pre_j · k_j.
    cash_post = 1.0 - post.sum(axis=1)
    g = (post[:-1] * REL[1:]).sum(axis=1) + cash_post[:-1]
    vpost = np.cumprod(k * np.concatenate([[1.0], g]))
    vpre = vpost / k
    units = np.divide(post, M, out=np.zeros_like(post), where=(post > 0) & M_ok)

    # ---- daily NAV on the window.
    px_win = np.nan_to_num(Pf_full[lo:hi])
    dates = cal[lo:hi]
    D = hi - lo
    ex_w = exec_pos - lo
    seg = np.searchsorted(ex_w, np.arange(D), side="right") - 1
    nav = np.ones(D)
    on = seg >= 0
    if on.any() and R:
        s_on = seg[on]
        nav[on] = vpost[s_on] * (np.einsum("ij,ij->i", units[s_on], px_win[on]) + cash_post[s_on])

    if benchmark is not None and benchmark_is_returns:
        benchmark = (1.0 + benchmark.astype(float).fillna(0.0)).cumprod().rename(benchmark.name)
    bench = _benchmark(benchmark, dates) if benchmark is not None else None

    # ---- tables.
    traded = np.where(T, np.abs(post * k[:, None] - Wpre), 0.0)  # fraction of V_pre
    skipped = ~T & ~Dl & (np.abs(W - Wpre) > 1e-10) & ((W > 0) | (Wpre > 0))
    paid_out = Dl & (Wpre > 0)
    exec_dates = cal[exec_pos]
    trades = _trades_table(sig, exec_dates, codes, Wpre, post, W, traded, rate, skipped, paid_out, avail, vpre)
    rebal = pd.DataFrame({
        "signal_date": sig,
        "exec_date": exec_dates,
        "nav_before": vpre,
        "traded": traded.sum(axis=1),
        "turnover": 0.5 * traded.sum(axis=1),
        "cost": 1.0 - k,
        "n_held": (post > _EPS).sum(axis=1),
        "n_skipped": skipped.sum(axis=1),
        "cash_after": cash_post,
    })
    delist_tbl = _delistings_table(dl_pos, lo, hi, cal, codes, units, vpost, seg, px_win, nav)
    nav_s = pd.Series(nav, index=dates, name="nav")
    nav_s.index.name = "date"
    return Result(
        nav=nav_s, benchmark_nav=bench, targets=weights.loc[sig], trades=trades, rebalances=rebal,
        delistings=delist_tbl, pending=pd.DatetimeIndex(pending), execution=execution, fee=float(fee),
        slippage=float(slippage), scores=scores, names=names,
        benchmark_name=benchmark_name or (getattr(benchmark, "name", None) or "benchmark"),
        _seg={"units": units, "vpost": vpost, "seg": seg, "px": px_win, "codes": codes, "post": post, "tgt": W,
              "delist_pos": None if dl_pos is None else dl_pos - lo},
    )


# --------------------------------------------------------------------------------------------- kernels
def _solve_k(x: np.ndarray, w_pre: np.ndarray, rate: float, frozen: np.ndarray | None = None) -> np.ndarray:
    """Post/pre NAV ratio of each execution: k = 1 − rate · Σ|x·k − w_pre| (rows), fixed-point to 1e-15."""
    k = np.ones(x.shape[0])
    if rate == 0.0:
        return k
    for _ in range(100):
        k_new = 1.0 - rate * np.abs(x * k[:, None] - w_pre).sum(axis=1)
        if np.max(np.abs(k_new - k), initial=0.0) < 1e-15:
            return k_new
        k = k_new
    return k


def _step(w_pre, w_tgt, T, Dl, rate):
    """One execution with frozen holdings: returns (post weights of V_post, k, had_frozen)."""
    frozen = ~T & ~Dl & (w_pre > 0)
    fz = np.where(frozen, w_pre, 0.0)
    fz_sum = fz.sum()
    tgt = np.where(T, w_tgt, 0.0)
    pre_tr = np.where(T, w_pre, 0.0)
    s = tgt.sum()
    k = 1.0
    x = tgt
    for _ in range(100):
        budget = max(0.0, 1.0 - fz_sum / k)
        x = tgt * min(1.0, budget / s) if s > budget else tgt
        k_new = 1.0 - rate * np.abs(x * k - pre_tr).sum()
        if abs(k_new - k) < 1e-15:
            k = k_new
            break
        k = k_new
    budget = max(0.0, 1.0 - fz_sum / k)
    x = tgt * min(1.0, budget / s) if s > budget else tgt
    return x + fz / k, k, bool(frozen.any())


def _daily_weights(units, vpost, seg, px, nav):
    D = len(nav)
    out = np.zeros((D, units.shape[1]))
    on = seg >= 0
    if on.any():
        s = seg[on]
        out[on] = units[s] * px[on] * (vpost[s] / nav[on])[:, None]
    return out


def _ffill(a: np.ndarray) -> np.ndarray:
    """Forward-fill NaN down the rows of a 2-D array (pandas' C loop; twice as fast as an index scan here)."""
    return pd.DataFrame(a).ffill().to_numpy(dtype=float, copy=True)


# --------------------------------------------------------------------------------------------- inputs
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


def _trades_table(sig, exec_dates, codes, Wpre, post, W, traded, rate, skipped, paid_out, avail, vpre) -> pd.DataFrame:
    changed = traded > 1e-14
    mask = changed | skipped | paid_out
    j, i = np.nonzero(mask)
    status = np.where(skipped[j, i], np.where(avail[j, i], "skipped: not tradable", "skipped: no price"),
                      np.where(paid_out[j, i], "delisted: paid out at last price", "traded"))
    tv = traded[j, i]
    return pd.DataFrame({
        "signal_date": sig.to_numpy()[j],
        "exec_date": exec_dates.to_numpy()[j],
        "code": pd.array(codes.to_numpy()[i], dtype="string"),
        "w_from": Wpre[j, i],
        "w_to": post[j, i],
        "w_target": W[j, i],
        "traded": tv,
        "cost": rate * tv,
        "cost_nav": rate * tv * vpre[j],
        "status": pd.array(status, dtype="string"),
    })


def _delistings_table(dl_pos, lo, hi, cal, codes, units, vpost, seg, px, nav) -> pd.DataFrame:
    cols = {"code": pd.array([], dtype="string"), "last_price_date": pd.DatetimeIndex([]), "delist_date": pd.DatetimeIndex([]),
            "weight": np.array([], float)}
    if dl_pos is None:
        return pd.DataFrame(cols)
    inside = (dl_pos > lo) & (dl_pos < hi)
    ci = np.flatnonzero(inside)
    if not ci.size:
        return pd.DataFrame(cols)
    day = dl_pos[ci] - 1 - lo  # window position of the last listed day
    s = seg[day]
    w = np.where(s >= 0, units[np.clip(s, 0, None), ci] * px[day, ci] * vpost[np.clip(s, 0, None)] / nav[day], 0.0)
    held = w > _EPS
    return pd.DataFrame({
        "code": pd.array(codes.to_numpy()[ci][held], dtype="string"),
        "last_price_date": cal[dl_pos[ci][held] - 1],
        "delist_date": cal[dl_pos[ci][held]],
        "weight": w[held],
    })
