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

Opt-in realism (SPEC §7 "whole lots of 100 shares, a minimum fee per order, capital"): pass
``lots=LotRules(capital=1e6, lot_size=100, min_fee=5.0)`` and the raw (unadjusted) prices; the account is
then run in shares and CNY by :func:`etfrot.backtest.lots.run_lots` and reported in the same
:class:`Result` (plus ``Result.lots``). The weight-based engine stays the default.

Module split: :mod:`~etfrot.backtest.inputs` (checks, window, execution prices), this module (the
weight-based kernel and :func:`assemble_result`, shared by both engines), :mod:`~etfrot.backtest.lots`
(the lot-based kernel), :mod:`~etfrot.backtest.result` (the Result type).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.backtest.inputs import (
    EXECUTIONS,
    ExecPrices,
    Inputs,
    benchmark_levels,
    execution_prices,
    prepare_inputs,
)
from etfrot.backtest.result import _EPS, Result
from etfrot.errors import ValidationError

__all__ = ["EXECUTIONS", "Result", "assemble_result", "run_backtest"]


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
    lots=None,
    raw_prices: pd.DataFrame | None = None,
    raw_opens: pd.DataFrame | None = None,
    amount: pd.DataFrame | None = None,
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

    ``lots``: a :class:`etfrot.backtest.lots.LotRules` switches to the lot-based engine; it trades at
    ``raw_prices`` / ``raw_opens`` (unadjusted; default: the adjusted ones) and caps each order at
    ``max_participation`` × the 20-day average of ``amount`` (CNY traded per day) when both are given.
    """
    rate = float(fee) + float(slippage)
    if not (0.0 <= fee < 0.5 and 0.0 <= slippage < 0.5):
        raise ValidationError("backtest", "fee", f"fee={fee}, slippage={slippage} must be in [0, 0.5) per side",
                              fix="give costs as fractions, e.g. fee=0.0005 for 5 bp per side")
    inp = prepare_inputs(weights, prices, execution=execution, delisted=delisted, start=start, end=end)
    ex = execution_prices(inp, execution=execution, opens=opens, tradable=tradable)
    meta = {"execution": execution, "fee": float(fee), "slippage": float(slippage), "scores": scores, "names": names,
            "benchmark": benchmark_levels(benchmark, inp.cal[inp.lo:inp.hi], benchmark_is_returns),
            "benchmark_name": benchmark_name or (getattr(benchmark, "name", None) or "benchmark")}
    if lots is not None:
        from etfrot.backtest.lots import run_lots

        return run_lots(inp, ex, lots, fee=float(fee), slippage=float(slippage), execution=execution,
                        raw_prices=raw_prices, raw_opens=raw_opens, amount=amount, meta=meta)
    return _run_weights(inp, ex, rate, _sequential, meta)


def _run_weights(inp: Inputs, ex: ExecPrices, rate: float, sequential: bool, meta: dict) -> Result:
    """The weight-based kernel (module docstring): post-trade weights, cost factors k and segment values."""
    W, T, Dl, REL, M = inp.W, ex.T, ex.Dl, ex.REL, ex.M
    R, N = W.shape
    # ---- vectorised pass: assume every previous execution reached its (tradable) targets.
    E = np.where(T, W, 0.0)
    prev = np.vstack([np.zeros((1, N)), E[:-1]])
    num = prev * REL
    denom = num.sum(axis=1) + (1.0 - prev.sum(axis=1))
    Wpre = num / denom[:, None]
    bad = ((Wpre > 0) & ~T & ~Dl).any(axis=1)
    post = E.copy()
    k = _solve_k(E, np.where(T, Wpre, 0.0), rate)
    if sequential:
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
    units = np.divide(post, M, out=np.zeros_like(post), where=(post > 0) & np.isfinite(M))
    traded = np.where(T, np.abs(post * k[:, None] - Wpre), 0.0)  # fraction of V_pre
    return assemble_result(inp, ex, Wpre=Wpre, post=post, k=k, vpost=vpost, units=units, cash_post=cash_post,
                           traded=traded, cost=rate * traded, **meta)


def assemble_result(inp: Inputs, ex: ExecPrices, *, Wpre, post, k, vpost, units, cash_post, traded, cost,
                    execution, fee, slippage, benchmark, benchmark_name, scores, names,
                    trade_columns: dict | None = None, lots=None, lot_settings=None) -> Result:
    """Daily NAV and the tables of a run from its per-execution arrays (both engines).

    ``Wpre``/``post`` weights before/after each execution (fractions of V_pre / V_post), ``k`` = V_post/V_pre,
    ``vpost`` V_post relative to the start, ``units`` per unit of V_post, ``cash_post`` cash fraction of V_post,
    ``traded``/``cost`` per (execution, code) as fractions of V_pre; ``trade_columns``: extra (R × N) arrays
    added to the trades table (the lot engine's shares, price, value, fee).
    """
    cal, codes, exec_pos, lo, hi, W, dl_pos = inp.cal, inp.codes, inp.exec_pos, inp.lo, inp.hi, inp.W, inp.dl_pos
    T, Dl = ex.T, ex.Dl
    vpre = vpost / k
    # ---- daily NAV on the window: V_t = V_post_j · (Σ_i u_ji · P_ti + cash_j).
    px_win = np.nan_to_num(inp.Pf[lo:hi])
    dates = cal[lo:hi]
    D = hi - lo
    ex_w = exec_pos - lo
    seg = np.searchsorted(ex_w, np.arange(D), side="right") - 1
    nav = np.ones(D)
    on = seg >= 0
    if on.any():
        s_on = seg[on]
        nav[on] = vpost[s_on] * (np.einsum("ij,ij->i", units[s_on], px_win[on]) + cash_post[s_on])

    # ---- tables.
    skipped = ~T & ~Dl & (np.abs(W - Wpre) > 1e-10) & ((W > 0) | (Wpre > 0))
    paid_out = Dl & (Wpre > 0)
    exec_dates = cal[exec_pos]
    trades = _trades_table(inp.sig, exec_dates, codes, Wpre, post, W, traded, cost, skipped, paid_out, ex.avail, vpre,
                           trade_columns or {})
    rebal = pd.DataFrame({
        "signal_date": inp.sig,
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
        nav=nav_s, benchmark_nav=benchmark, targets=inp.weights.loc[inp.sig], trades=trades, rebalances=rebal,
        delistings=delist_tbl, pending=inp.pending, execution=execution, fee=fee, slippage=slippage, scores=scores,
        names=names, benchmark_name=benchmark_name, lots=lots, lot_settings=lot_settings,
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



# --------------------------------------------------------------------------------------------- tables
def _trades_table(sig, exec_dates, codes, Wpre, post, W, traded, cost, skipped, paid_out, avail, vpre, extra) -> pd.DataFrame:
    changed = traded > 1e-14
    mask = changed | skipped | paid_out
    j, i = np.nonzero(mask)
    status = np.where(skipped[j, i], np.where(avail[j, i], "skipped: not tradable", "skipped: no price"),
                      np.where(paid_out[j, i], "delisted: paid out at last price", "traded"))
    tv = traded[j, i]
    out = pd.DataFrame({
        "signal_date": sig.to_numpy()[j],
        "exec_date": exec_dates.to_numpy()[j],
        "code": pd.array(codes.to_numpy()[i], dtype="string"),
        "w_from": Wpre[j, i],
        "w_to": post[j, i],
        "w_target": W[j, i],
        "traded": tv,
        "cost": cost[j, i],
        "cost_nav": cost[j, i] * vpre[j],
        "status": pd.array(status, dtype="string"),
    })
    for name, arr in extra.items():
        out[name] = arr[j, i]
    return out


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
