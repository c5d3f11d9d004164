"""The lot-based engine (SPEC §7 "optional realism"): an account in shares and CNY, whole lots, minimum fees.

Per execution j, with the account's shares s, cash C (CNY), trade prices X (raw, unadjusted) and marks M
(adjusted, as the weight engine):

* holdings drift with the adjusted price (dividends stay in the holding, as in the weight engine):
  value_i = a_i · M_ji with a the adjusted units; the shares held are value_i / X_ji;
* a delisted holding is paid out at its last price into cash, without a cost (as the weight engine);
* the orders come from :func:`lot_orders` — the rule of ``LOT_RULE`` below; the post-trade cash is never
  negative: every order's cost (fee, minimum fee, slippage, stamp duty on sells) is paid from it;
* the daily NAV is ``Σ_i a_i · P_ti + C`` between executions (one gather over day × code, as the weight engine).

Costs of one order of |Δ| shares at price X (value v = |Δ|·X): ``max(min_fee, fee·v) + slippage·v``
plus ``stamp_duty·v`` on a sell (stamp duty is 0 for ETFs in China; 0.05 % on A-share stock sells since
2023-08-28). With ``max_participation`` each order is capped at that fraction of the asset's 20-day average
traded amount (CNY, the days up to the signal date; an asset with no amount known cannot be traded); the rest
of the trade waits for the next rebalance.

As capital → ∞ (lots and minimum fees negligible) this engine reaches the weight-based one: the target value of
each tradable asset is ``w_i · V_pre · k`` with ``k = 1 − cost/V_pre``, the same fixed point as the weight engine's
``k`` (tested to 1e-9 at 1e12 CNY).

Loops: one Python loop over the executions (the account of j depends on the lots bought at j − 1); its body
is numpy over the assets (a bounded fixed point for k and at most a few repair passes). No loop over days or assets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from etfrot.errors import ValidationError

#: the rounding rule, stated in every output that shows orders
LOT_RULE = ("orders in whole lots (a sell that closes a position may include an odd lot); the ideal trade of each "
            "asset is rounded down to a lot, then one more lot goes to the assets with the largest remainders, in that "
            "order, while the cash left after every fee stays ≥ 0 (largest remainder; never above capital after fees)")


@dataclass(frozen=True)
class LotRules:
    """Account rules of the lot-based engine: ``capital`` CNY at the start, ``lot_size`` shares per lot,
    ``min_fee`` CNY per order (commission minimum), ``stamp_duty`` fraction of each sell's value,
    ``max_participation`` cap per order as a fraction of the 20-day average traded amount (None = no cap)."""

    capital: float = 1e6
    lot_size: int = 100
    min_fee: float = 0.0
    stamp_duty: float = 0.0
    max_participation: float | None = None
    window: int = 20

    def __post_init__(self):
        bad = []
        if not (np.isfinite(self.capital) and self.capital > 0):
            bad.append(("capital", self.capital, "a positive amount of CNY, e.g. 1e6"))
        if not (isinstance(self.lot_size, (int, np.integer)) and self.lot_size >= 1):
            bad.append(("lot_size", self.lot_size, "a whole number of shares ≥ 1 (100 on SSE/SZSE)"))
        if not (np.isfinite(self.min_fee) and self.min_fee >= 0):
            bad.append(("min_fee", self.min_fee, "CNY ≥ 0 (5.0 is common)"))
        if not (0.0 <= self.stamp_duty < 0.05):
            bad.append(("stamp_duty", self.stamp_duty, "a fraction in [0, 0.05): 0 for ETFs"))
        if self.max_participation is not None and not (0.0 < self.max_participation <= 1.0):
            bad.append(("max_participation", self.max_participation, "a fraction in (0, 1], e.g. 0.2, or None"))
        if not (isinstance(self.window, (int, np.integer)) and self.window >= 1):
            bad.append(("window", self.window, "a number of trading days ≥ 1"))
        if bad:
            k, v, fix = bad[0]
            raise ValidationError("lots", k, f"bad value {v!r}", fix=f"give {fix}")


@dataclass
class OrderPlan:
    """Orders of one rebalance: ``shares`` signed (+ buy), ``fee`` CNY per order (all costs), ``cash`` after."""

    shares: np.ndarray
    fee: np.ndarray
    cash: float
    capped: np.ndarray | None = None  # the ideal trade was larger than the participation cap


def order_costs(shares: np.ndarray, price: np.ndarray, *, fee: float, slippage: float, min_fee: float,
                stamp_duty: float) -> np.ndarray:
    """Cost in CNY of each order: ``max(min_fee, fee·v) + slippage·v + stamp_duty·v·[sell]``, v = |shares|·price; 0 if no order
    (prices finite)."""
    v = np.abs(shares) * price
    c = np.maximum(min_fee, fee * v) + slippage * v + np.where(shares < 0, stamp_duty * v, 0.0)
    return np.where(shares != 0, c, 0.0)


def lot_orders(cur: np.ndarray, weights: np.ndarray, price: np.ndarray, tradable: np.ndarray, cash: float, *,
               lot_size: int, fee: float, slippage: float = 0.0, min_fee: float = 0.0, stamp_duty: float = 0.0,
               frozen_value: float = 0.0, cap: np.ndarray | None = None) -> OrderPlan:
    """Orders (whole lots, :data:`LOT_RULE`) that take ``cur`` shares towards target ``weights`` of the account.

    ``cur`` shares held, ``price`` trade price (CNY), ``tradable`` can trade now, ``cash`` CNY; ``frozen_value``
    value of holdings outside these assets (or that cannot trade) counted in the account; ``cap`` max |shares|
    per order (NaN/None = no cap). Target value of tradable i: ``w_i · V · k`` with V = Σ cur·price + cash +
    frozen_value and k = 1 − (estimated cost)/V (fixed point), scaled down when frozen holdings leave less room.
    """
    cur = np.asarray(cur, float)
    px = np.where(tradable, price, np.nan)
    ok = tradable & np.isfinite(px) & (px > 0)
    L = float(lot_size)
    val = np.where(ok, cur * np.nan_to_num(px), 0.0)
    V = val.sum() + cash + frozen_value
    w = np.where(ok, np.nan_to_num(weights), 0.0)
    kw = {"fee": fee, "slippage": slippage, "min_fee": min_fee, "stamp_duty": stamp_duty}
    pxs = np.where(ok, px, 1.0)

    def ideal(k):
        tau = w * V * k
        room = max(0.0, V * k - frozen_value)
        s = tau.sum()
        if s > room:
            tau = tau * (room / s)
        return tau / pxs - np.where(ok, cur, 0.0)

    k = 1.0
    for _ in range(60):  # k = 1 − cost(ideal trades)/V: a contraction (cost rate ≪ 1)
        k_new = 1.0 - order_costs(np.where(ok, ideal(k), 0.0), pxs, **kw).sum() / V if V > 0 else 1.0
        if abs(k_new - k) < 1e-15:
            k = k_new
            break
        k = k_new
    d = np.where(ok, ideal(k), 0.0)
    capped = np.full(d.shape, np.inf) if cap is None else np.where(np.isfinite(cap), np.maximum(cap, 0.0), np.inf)
    was_capped = np.abs(d) > capped
    d = np.clip(d, -capped, capped)
    q = d / L
    n = np.floor(q + 1e-9)  # a trade within 1e-9 lot of a whole lot counts as that lot
    rho = np.where(ok, q - n, 0.0)
    order = n * L
    close = ok & (w == 0) & (cur > 0)
    order = np.where(close, -np.minimum(cur, np.where(np.isfinite(capped), np.floor(capped / L) * L, cur)), order)
    order = np.maximum(order, -np.where(ok, cur, 0.0))  # never sell more than is held
    order = np.where(ok, order, 0.0)
    extra_ok = ok & ~close & (rho > 1e-9) & (np.abs(order + L) <= capped + 1e-9)

    def flow(o, at=slice(None)):  # cash change of each order (+ = cash in)
        return -o * pxs[at] - order_costs(o, pxs[at], **kw)

    cash_after = cash + flow(order).sum()
    # repair: fees could overdraw the cash by a rounding; take back buy lots, smallest remainder first
    for _ in range(50):
        if cash_after >= 0:
            break
        cand = np.flatnonzero(ok & (order >= L))
        if not cand.size:
            break
        cand = cand[np.argsort(rho[cand], kind="stable")]
        gain = flow(order[cand] - L, cand) - flow(order[cand], cand)
        take = np.searchsorted(np.cumsum(gain), -cash_after) + 1
        pick = cand[:take]
        order[pick] -= L
        extra_ok[pick] = False
        cash_after = cash + flow(order).sum()
    # largest remainder: one more lot each, in order of remainder, while the cash stays ≥ 0
    cand = np.flatnonzero(extra_ok)
    if cand.size and cash_after > 0:
        cand = cand[np.argsort(-rho[cand], kind="stable")]
        need = flow(order[cand], cand) - flow(order[cand] + L, cand)
        fits = np.cumprod(np.cumsum(need) <= cash_after).astype(bool)
        order[cand[fits]] += L
        cash_after = cash + flow(order).sum()
    return OrderPlan(shares=order, fee=order_costs(order, pxs, **kw), cash=float(cash_after), capped=was_capped)


def trailing_amount(amount: pd.DataFrame, cal: pd.DatetimeIndex, codes: pd.Index, window: int = 20) -> np.ndarray:
    """Mean traded amount (CNY/day) over the last ``window`` trading days up to each date (calendar × code);
    days without a value are skipped (at least one needed)."""
    a = amount.reindex(index=cal, columns=codes).astype(float)
    return a.rolling(window, min_periods=1).mean().to_numpy()


def run_lots(inp, ex, rules: LotRules, *, fee: float, slippage: float, execution: str, raw_prices=None,
             raw_opens=None, amount=None, meta: dict):
    """Run the account of :class:`LotRules` on the checked inputs (module docstring); returns a ``Result``."""
    from etfrot.backtest.engine import assemble_result
    from etfrot.backtest.inputs import _ffill

    if not isinstance(rules, LotRules):
        raise ValidationError("backtest", "lots", f"expected LotRules, got {type(rules).__name__}",
                              fix="pass lots=etfrot.backtest.lots.LotRules(capital=1e6, lot_size=100, min_fee=5.0)")
    cal, codes, exec_pos = inp.cal, inp.codes, inp.exec_pos
    R, N = inp.W.shape
    M, T, Dl = ex.M, ex.T, ex.Dl
    # trade prices X (CNY per share): raw close / open of the execution day, the adjusted ones when no raw given
    raw = raw_opens if execution == "next_open" else raw_prices
    if raw is None:
        X = M.copy()
    else:
        Xr = raw.reindex(index=cal, columns=codes).to_numpy(dtype=float)
        X = _ffill(Xr)[exec_pos]
        miss = T & ~(np.isfinite(Xr[exec_pos]) & (Xr[exec_pos] > 0))
        if miss.any():
            j, i = np.nonzero(miss)
            raise ValidationError("raw prices", codes[i[0]], "no raw (unadjusted) price on a day the asset trades",
                                  examples=[f"date={cal[exec_pos[a]]:%Y-%m-%d}, code={codes[b]}" for a, b in zip(j[:5], i[:5])],
                                  count=int(miss.sum()), fix="give raw_prices=bundle.panel('etf_bars', 'close') on the same calendar")
    cap_all = None
    if rules.max_participation is not None and amount is not None:
        sig_pos = cal.get_indexer(inp.sig)
        cap_all = rules.max_participation * np.nan_to_num(trailing_amount(amount, cal, codes, rules.window)[sig_pos]) / X

    a = np.zeros(N)  # adjusted units held
    shares = np.zeros(N)
    cash = float(rules.capital)
    Wpre, post = np.zeros((R, N)), np.zeros((R, N))
    k, vpost, cash_post = np.ones(R), np.ones(R), np.zeros(R)
    units, order_sh, fees, lots_held = np.zeros((R, N)), np.zeros((R, N)), np.zeros((R, N)), np.zeros((R, N))
    sh_from, capped = np.zeros((R, N)), np.zeros((R, N), bool)
    for j in range(R):
        Mj = np.nan_to_num(M[j])
        value = a * Mj
        paid = Dl[j] & (value > 0)
        cash += value[paid].sum()  # delisted: paid out at the last price, no cost
        a[paid] = 0.0
        shares[paid] = 0.0
        value[paid] = 0.0
        v_pre = value.sum() + cash
        Wpre[j] = value / v_pre
        tj = T[j]
        cur = np.where(tj, value / np.where(tj, X[j], 1.0), shares)
        frozen = value[~tj].sum()
        act = np.flatnonzero(tj & ((inp.W[j] > 0) | (cur > 0)))  # only these can have an order
        sub = lot_orders(cur[act], inp.W[j, act], X[j, act], np.ones(act.size, bool), cash, lot_size=rules.lot_size,
                         fee=fee, slippage=slippage, min_fee=rules.min_fee, stamp_duty=rules.stamp_duty,
                         frozen_value=frozen + value[tj].sum() - value[act].sum(),
                         cap=None if cap_all is None else cap_all[j, act])
        plan = OrderPlan(np.zeros(N), np.zeros(N), sub.cash, np.zeros(N, bool))
        plan.shares[act], plan.fee[act], plan.capped[act] = sub.shares, sub.fee, sub.capped
        sh_from[j] = cur
        new = np.where(tj, cur + plan.shares, shares)
        a = np.where(tj, new * np.where(tj, X[j], 0.0) / np.where(Mj > 0, Mj, 1.0), a)
        shares = new
        cash = plan.cash
        v_post = (a * Mj).sum() + cash
        k[j] = v_post / v_pre
        vpost[j] = v_post / rules.capital
        post[j] = a * Mj / v_post
        units[j] = a / v_post
        cash_post[j] = cash / v_post
        order_sh[j], fees[j], lots_held[j], capped[j] = plan.shares, plan.fee, shares, plan.capped
    vpre_cny = vpost * rules.capital / k
    Xn = np.nan_to_num(X)
    traded = np.abs(order_sh) * Xn / vpre_cny[:, None]
    settings = {**asdict(rules), "capital": float(rules.capital), "rule": LOT_RULE}
    return assemble_result(
        inp, ex, Wpre=Wpre, post=post, k=k, vpost=vpost, units=units, cash_post=cash_post, traded=traded,
        cost=fees / vpre_cny[:, None], lots=pd.DataFrame(lots_held, index=inp.sig, columns=codes),
        lot_settings=settings,
        trade_columns={"shares_from": sh_from, "shares": order_sh, "shares_to": lots_held, "price": X,
                       "value": order_sh * Xn, "fee_cny": fees,
                       "capped": capped}, **meta)
