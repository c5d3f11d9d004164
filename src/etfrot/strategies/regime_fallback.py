"""Words and compact tables for the dates on which ``regime_rotation`` falls back (seed 002; issue 13 item 7).

On a rebalance date whose current quadrant has no factor with |t| > τ (and, with ``rotation.fallback:
full_sample``, none over all past periods either) the strategy holds the benchmark — the industry equal
weight, 1/n over the n eligible ETFs — or cash. The signal and the report say so in words, list those
dates, and print the holdings compactly (one line per distinct weight) instead of n rows of empty scores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FALLBACK_RULES = ("benchmark", "cash")


def fallback_reason(rule: str | None, regime: str | None, mode: str = "full_sample") -> str | None:
    """The sentence for a fallback date (``None`` when ``rule`` is a factor rule).

    e.g. "no significant factor in quadrant E+C-: holding the industry equal weight (none over the full
    sample either)"; ``mode`` = the configured ``rotation.fallback``."""
    if rule not in FALLBACK_RULES:
        return None
    hold = "holding the industry equal weight" if rule == "benchmark" else "holding cash"
    also = " (none over the full sample either)" if mode == "full_sample" else ""
    return f"no significant factor in quadrant {regime or 'unknown'}: {hold}{also}"


def compact_weights(weights: pd.Series, names: pd.Series | None = None, *, label: str = "ETFs") -> str:
    """Holdings in one line per distinct weight: "37 ETFs at 2.70 % each: 159801.SZ 芯片ETF, …" (weights
    equal to 1e-9 are one group; zero weights are left out)."""
    w = pd.Series(weights, dtype=float)
    w = w[w > 0]
    if w.empty:
        return "no holdings (all cash)"
    key = np.round(w.to_numpy() / 1e-9).astype(np.int64)
    lines = []
    for k in sorted(set(key.tolist()), reverse=True):
        codes = w.index[key == k]
        shown = [f"{c} {names.get(c)}" if names is not None and pd.notna(names.get(c)) else str(c) for c in codes]
        lines.append(f"{len(codes)} {label} at {100 * k * 1e-9:.2f} % each: {', '.join(shown)}")
    return "\n".join(lines)


def fallback_table(res, mode: str = "full_sample") -> pd.DataFrame:
    """Per traded fallback date (signal date ≥ the backtest start): quadrant, rule, number of holdings,
    the weight each (when equal) and the reason in words."""
    rules = res.rules[res.rules.index >= res.start] if res.start is not None else res.rules
    d = rules.index[rules.isin(FALLBACK_RULES).to_numpy()]
    w = res.weights[res.main].reindex(d).fillna(0.0)
    pos = w.where(w > 0)
    n = pos.count(axis=1)
    each = pos.max(axis=1).where(np.isclose(pos.max(axis=1), pos.min(axis=1)))
    regime = res.regimes["regime"].reindex(d)
    return pd.DataFrame({
        "regime": regime.fillna("unknown").astype(object).to_numpy(), "rule": rules.reindex(d).to_numpy(),
        "holdings": n.to_numpy(), "weight each": each.to_numpy(),
        "reason": [fallback_reason(r, q if isinstance(q, str) else None, mode) for r, q in zip(rules.reindex(d), regime)],
    }, index=pd.DatetimeIndex(d, name="signal date"))


def fallback_months_note(table: pd.DataFrame) -> str | None:
    """One sentence listing the fallback months ("… on 3 rebalance date(s): 2015-03, 2015-04, 2016-01")."""
    if table.empty:
        return None
    fmt = "%Y-%m" if table.index.to_period("M").is_unique else "%Y-%m-%d"
    months = ", ".join(f"{d:{fmt}}" for d in table.index)
    return f"Fallback (no significant factor) on {len(table)} rebalance date(s): {months}."
