"""This period's picks for any strategy (SPEC §9 ``signal``).

A strategy module may define ``signal(bundle, config, date=None) -> DataFrame`` (index code; columns
name, weight, score and the ranks or scores of the factors behind each pick, as seed 002's ranking
table). Otherwise the strategy is run up to ``date`` and the targets of its last rebalance are read,
with the scores and ranks the backtest kept.

:func:`current_orders` turns the picks into the orders that get an account of ``capital`` CNY there
from its current holdings (whole lots at the last close; :mod:`etfrot.portfolio.orders`).
"""

from __future__ import annotations

import pandas as pd

from etfrot.errors import ConfigError


def current_picks(bundle, config, date=None) -> pd.DataFrame:
    """Picks as of ``date`` (default: the bundle's last trading day); ``attrs`` holds date and strategy."""
    from etfrot.strategies import get_strategy, load_config

    raw = load_config(config) if not isinstance(config, dict) else dict(config)
    name = raw.get("strategy", "backtest")
    mod = get_strategy(name)
    d = pd.Timestamp(date) if date is not None else bundle.calendar[-1]
    if d < bundle.calendar[0] or d > bundle.calendar[-1]:
        raise ConfigError(f"signal date {d:%Y-%m-%d} is outside the bundle ({bundle.calendar[0]:%Y-%m-%d} → "
                          f"{bundle.calendar[-1]:%Y-%m-%d})")
    if hasattr(mod, "signal"):
        out = mod.signal(bundle, raw, d)
    else:
        raw["end"] = d.date().isoformat()
        res, _ = mod.run(bundle, mod.validate_config(raw), None)
        h = res.holdings(last=1)
        h = h[h["target"] > 0]
        out = h.set_index("code")[[c for c in ("name", "target", "score", "rank") if c in h.columns]].rename(columns={"target": "weight"})
        out.attrs["date"] = pd.Timestamp(h["signal_date"].iloc[0]) if len(h) else d
    out.attrs.setdefault("date", d)
    out.attrs["strategy"] = name
    return out


def current_orders(bundle, picks: pd.DataFrame, capital: float, holdings: pd.Series | None = None, *,
                   lot_size: int = 100, fee: float = 0.0005, min_fee: float = 5.0, slippage: float = 0.0,
                   stamp_duty: float = 0.0, date=None):
    """Orders (:class:`etfrot.portfolio.orders.Orders`) from ``holdings`` (code → shares) to the ``picks``' weights,
    priced at each ETF's last raw close on or before ``date`` (default: the bundle's last trading day) — the
    estimate of the next trade price."""
    import numpy as np

    from etfrot.errors import ValidationError
    from etfrot.portfolio.orders import plan_orders

    if "weight" not in picks.columns:
        raise ValidationError("picks", "weight", f"the picks have no weight column (columns {list(picks.columns)})",
                              fix="a strategy's signal() must return code → weight (and name, score)")
    d = pd.Timestamp(date) if date is not None else bundle.calendar[-1]
    close = bundle.panel("etf_bars", "close")
    codes = pd.Index(picks.index).union(pd.Index([] if holdings is None else holdings.index))
    unknown = codes[~codes.isin(close.columns)]
    if len(unknown):
        what = "picks" if unknown.isin(picks.index).any() else "holdings"
        raise ValidationError(what, "code", "codes that are not ETFs of the bundle (orders need ETF prices)",
                              examples=list(unknown[:5]), count=len(unknown),
                              fix="check the holdings file's codes; for an index-level strategy (universe.kind: index) "
                                  "map the picked indices to ETFs first")
    last = close.loc[:d, codes].ffill()
    px = last.iloc[-1] if len(last) else pd.Series(np.nan, index=codes)
    names = bundle.info("etf").get("name")
    out = plan_orders(picks["weight"], px, capital, holdings, names=names, lot_size=lot_size, fee=fee,
                      min_fee=min_fee, slippage=slippage, stamp_duty=stamp_duty)
    out.table.attrs["price_date"] = d
    return out
