"""Fund-flow factors (SPEC §2.3; seed 001 §3 table 3; seed 002 北向资金).

Raw flows are in CNY (or shares for large-order volume) and grow with an asset's size, so each is
scaled by the asset's own trading over the same window, which makes stocks and indices of any size
comparable: flow_N = Σ_{t−N+1..t} flow / Σ_{t−N+1..t} amount (volume for DDE). Sums run over days
where both the flow and the traded amount are known; at least half the window must be known.

Windows: seed 001 table 3 defines net buy, net active buy and main-force inflow on "最新一期" (the latest
period); at its weekly rebalancing that is the last week, so their default is N = 5 trading days (pass
``n=20`` — in a config ``scores.params: {main_inflow: {n: 20}}`` — for a monthly period). DDE10 is a
10-day sum by definition (10 日大单净买入量). Northbound (seed 002, monthly) keeps N = 20.
Computed on a stock's (or an index's own) flows and bars; an index without flows rows of its own
gets its constituents' weighted average of the scaled stock values (SPEC §2.5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.errors import ConfigError
from etfrot.factors.registry import factor

_SEED1 = ("seed001",)


def scaled_flow(flow: pd.DataFrame, scale: pd.DataFrame, n: int) -> pd.DataFrame:
    """Σ_N flow / Σ_N scale over days where both are known (≥ ⌈N/2⌉ of them); NaN where Σ scale ≤ 0."""
    if int(n) != n or n < 1:
        raise ConfigError(f"flow window must be a positive integer, got {n!r}")
    flow, scale = flow.align(scale, join="left")
    ok = flow.notna() & scale.notna() & (scale > 0)
    f = flow.where(ok, 0.0).rolling(n, min_periods=1).sum()
    s = scale.where(ok, 0.0).rolling(n, min_periods=1).sum()
    cnt = ok.astype(float).rolling(n, min_periods=1).sum()
    out = f / s.where(s > 0)
    return out.where(cnt >= int(np.ceil(n / 2)))


@factor("net_buy", category="flow", level="stock", needs=("flows.net_buy_amount", "bars.amount"), sets=_SEED1,
        label="净买入额")
def net_buy(x, n: int = 5) -> pd.DataFrame:
    """Σ_N net_buy_amount / Σ_N amount, N = 5 (指数最新一期净买入额: the last week, scaled by traded amount; seed 001)."""
    return scaled_flow(x.dated("flows", "net_buy_amount"), x.bars("amount"), n)


@factor("net_active_buy", category="flow", level="stock", needs=("flows.net_active_buy_amount", "bars.amount"),
        sets=_SEED1, label="净主动买入额")
def net_active_buy(x, n: int = 5) -> pd.DataFrame:
    """Σ_N net_active_buy_amount / Σ_N amount, N = 5 (最新一期净主动买入额: the last week, scaled by amount; seed 001)."""
    return scaled_flow(x.dated("flows", "net_active_buy_amount"), x.bars("amount"), n)


@factor("main_inflow", category="flow", level="stock", needs=("flows.main_net_inflow", "bars.amount"), sets=_SEED1,
        label="主力净流入")
def main_inflow(x, n: int = 5) -> pd.DataFrame:
    """Σ_N main_net_inflow / Σ_N amount, N = 5 (最新一期主力净流入: the last week, scaled by traded amount; seed 001)."""
    return scaled_flow(x.dated("flows", "main_net_inflow"), x.bars("amount"), n)


@factor("dde10", category="flow", level="stock", needs=("flows.large_order_net_volume", "bars.volume"), sets=_SEED1,
        label="DDE10")
def dde10(x, n: int = 10) -> pd.DataFrame:
    """DDE10 = Σ_10 large_order_net_volume / Σ_10 volume (10 日大单净买入量 scaled by volume; seed 001)."""
    return scaled_flow(x.dated("flows", "large_order_net_volume"), x.bars("volume"), n)


@factor("northbound", category="flow", level="stock", needs=("flows.northbound_value", "bars.amount"),
        sets=("seed002",), label="北向资金")
def northbound(x, n: int = 20) -> pd.DataFrame:
    """Σ_N northbound_value / Σ_N amount, N = 20: northbound net buying (holding change) per traded CNY (seed 002).

    ``northbound_value`` is read as the day's northbound net purchase value in CNY (the change of
    the northbound holding net of price moves), as the synthetic source and akshare deliver it.
    """
    return scaled_flow(x.dated("flows", "northbound_value"), x.bars("amount"), n)
