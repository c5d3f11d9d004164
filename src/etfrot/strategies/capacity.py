"""Capacity of a strategy (SPEC §7; seed 000 §3.5): the capacity report section of a run, and the capital sweep.

:func:`capacity_sections` adds the trade-participation section (:mod:`etfrot.backtest.capacity`) to an ETF run.
:func:`capital_sweep` runs one strategy's target weights through the lot-based engine at several capitals
(default 1e5 … 1e9 CNY) with whole lots, a minimum fee and a participation cap, so that the excess can be read
against capital: small accounts lose to lots and minimum fees, large ones to the cap (orders above
``max_participation`` × amount20 wait for the next rebalance, the rest stays in cash).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.backtest.capacity import capacity_thresholds, trade_participation

CAPITALS = (1e5, 1e6, 1e7, 1e8, 1e9)


def capacity_of(result, inst, capital: float = 1e6, window: int = 20):
    """(per-trade participation table, capital thresholds) of a run on ETF instruments (None for indices)."""
    if inst.amount is None:
        return None
    part = trade_participation(result, inst.amount, inst.aum, capital=capital, window=window)
    return part, capacity_thresholds(part)


def capacity_sections(result, inst, capital: float, *, title: str, synthetic: bool) -> list:
    """``[capacity Section]`` for an ETF run, ``[]`` for an index run (index levels have no traded amount of shares)."""
    from etfrot.report.sections import capacity_section

    got = capacity_of(result, inst, capital)
    if got is None:
        return []
    part, th = got
    return [capacity_section(part, th, title=title, synthetic=synthetic, capital=capital)]


def capital_sweep(bundle, config, capitals=CAPITALS, *, lot_size: int = 100, min_fee: float = 5.0,
                  max_participation: float | None = 0.2, stamp_duty: float = 0.0, progress=None) -> pd.DataFrame:
    """One row per capital (plus the weight-based engine as ``capital = inf``): annual return and excess, IR,
    cost drag, mean cash after trading, median / worst participation, share of orders capped;
    ``attrs["thresholds"]``: the capital at which the weight-based run's median / worst trade reaches 5 % / 20 %.

    The strategy is run once (its own pipeline, weight-based) for its target weights and benchmark; each capital
    then re-runs only the engine on those weights (``etfrot.backtest.run_backtest(..., lots=LotRules(...))``).
    """
    from etfrot.backtest import run_backtest
    from etfrot.backtest.lots import LotRules
    from etfrot.strategies import get_strategy, load_config
    from etfrot.strategies.runner import instruments

    raw = load_config(config) if not isinstance(config, dict) else dict(config)
    mod = get_strategy(raw.get("strategy", "backtest"))
    cfg = mod.validate_config(raw)
    step = progress or (lambda _m: None)
    step("strategy run (weight-based)")
    base, _ = mod.run(bundle, cfg, None)
    inst = instruments(bundle, "etf")
    ex = cfg.execution
    common = {"opens": inst.opens if ex.price == "next_open" else None, "execution": ex.price,
              "fee": cfg.costs.fee_per_side, "slippage": cfg.costs.slippage, "tradable": inst.tradable,
              "delisted": inst.delisted, "benchmark": base.benchmark_nav, "end": cfg.end}
    rows = [_row(base, np.inf, inst)]
    for c in capitals:
        step(f"capital {c:,.0f}")
        rules = LotRules(capital=float(c), lot_size=lot_size, min_fee=min_fee, stamp_duty=stamp_duty,
                         max_participation=max_participation)
        res = run_backtest(base.targets, inst.prices, **common, lots=rules, raw_prices=inst.raw_prices,
                           raw_opens=inst.raw_opens, amount=inst.amount)
        rows.append(_row(res, float(c), inst))
    out = pd.DataFrame(rows).set_index("capital")
    out.attrs.update({"lot_size": lot_size, "min_fee": min_fee, "max_participation": max_participation,
                      "strategy": getattr(cfg, "name", ""),
                      "thresholds": capacity_thresholds(trade_participation(base, inst.amount, inst.aum))})
    return out


def _row(res, capital: float, inst) -> dict:
    m = res.metrics(ci=False)
    part = trade_participation(res, inst.amount, inst.aum, capital=capital if np.isfinite(capital) else 1.0)
    t = res.trades[res.trades["status"] == "traded"]
    return {
        "capital": capital, "engine": "weights" if res.lots is None else "lots",
        "annual_return": m.get("annual_return"), "annual_excess": m.get("annual_excess"),
        "information_ratio": m.get("information_ratio"), "cost_drag": m.get("cost_drag"),
        "mean_cash": float(res.rebalances["cash_after"].mean()),
        "median_participation": float(part["participation"].median()) if np.isfinite(capital) else np.nan,
        "worst_participation": float(part["participation"].max()) if np.isfinite(capital) else np.nan,
        "orders_capped": float(t["capped"].mean()) if "capped" in t.columns and len(t) else 0.0,
    }
