"""This period's picks for any strategy (SPEC §9 ``signal``).

A strategy module may define ``signal(bundle, config, date=None) -> DataFrame`` (index code; columns
name, weight, score and the ranks or scores of the factors behind each pick, as seed 002's ranking
table). Otherwise the strategy is run up to ``date`` and the targets of its last rebalance are read,
with the scores and ranks the backtest kept.
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
