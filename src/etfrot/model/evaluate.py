"""Stock factor tests of model scores per stock pool (seed 000 §2 tables; SPEC §3, §4).

For each model's score panel and each pool (all, CSI 300 / 500 / 1000 members point-in-time, always
excluding stocks suspended, ST or closed at a limit on the rebalance date — ``evaluation.stock_pool``):
IC and Rank IC against the return to the next rebalance date (mean, ICIR, share > 0 = win rate),
and a ``quantiles``-group equal-weight backtest (seed 000: ten groups, monthly): the top group's
annual excess return, excess max drawdown, IR and per-period win rate against the pool's equal
weight, and the long–short (top − bottom) annual return and Sharpe.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.errors import ConfigError, DataMissingError

TABLE_COLUMNS = ["model", "pool", "ic_mean", "icir", "ic_t_nw", "ic_win_rate", "rank_ic_mean", "rank_icir", "long_excess_annual",
                 "long_excess_max_drawdown", "long_ir", "long_win_rate", "long_short_annual", "long_short_sharpe",
                 "periods", "stocks_per_date"]


def stock_factor_table(bundle, factors: dict[str, pd.DataFrame], *, pools=("all", "csi300", "csi500", "csi1000"),
                       freq: str = "monthly", quantiles: int = 10, start=None, end=None) -> tuple[pd.DataFrame, dict, list[str]]:
    """One row per (model, pool); returns (table, {(model, pool): FactorTestResult}, notes on skipped pools).

    The rebalance dates are the ``freq`` dates within [start, end] on which every model has scores.
    """
    from etfrot.data.calendar import rebalance_dates
    from etfrot.evaluation import factor_test, stock_pool

    if not factors:
        raise ConfigError("no score panels to test")
    dates = rebalance_dates(bundle.calendar, freq, start, end)
    for name, p in factors.items():
        have = p.index[p.notna().any(axis=1)]
        dates = dates[dates.isin(have)]
    if len(dates) < 3:
        raise DataMissingError(f"only {len(dates)} {freq} rebalance dates carry scores of every model "
                               f"({list(factors)}); predict on the {freq} rebalance dates of a longer test period")
    prices = bundle.panel("stock_bars", "close", adjusted=True)
    rows, results, notes = [], {}, []
    for pool in pools:
        try:
            mask = stock_pool(bundle, pool, dates).reindex(columns=prices.columns, fill_value=False)
        except (ConfigError, DataMissingError) as e:
            notes.append(f"pool {pool!r} skipped: {e}")
            continue
        for name, p in factors.items():
            f = p.reindex(index=dates, columns=prices.columns)
            r = factor_test(f, prices, dates, quantiles=quantiles, universe=mask, name=name)
            results[(name, pool)] = r
            q = r.quantiles.metrics() if r.quantiles is not None else {}
            n = (f.notna() & mask).sum(axis=1)
            rows.append({"model": name, "pool": pool, "ic_mean": r.ic_stats["mean"], "icir": r.ic_stats["icir"],
                         "ic_t_nw": r.ic_stats["t_nw"], "ic_win_rate": r.ic_stats["pos_share"], "rank_ic_mean": r.rank_ic_stats["mean"],
                         "rank_icir": r.rank_ic_stats["icir"],
                         "long_excess_annual": q.get("excess_annual_return", np.nan),
                         "long_excess_max_drawdown": q.get("excess_max_drawdown", np.nan),
                         "long_ir": q.get("information_ratio", np.nan), "long_win_rate": q.get("win_rate", np.nan),
                         "long_short_annual": q.get("long_short_annual_return", np.nan),
                         "long_short_sharpe": q.get("long_short_sharpe", np.nan), "periods": r.ic_stats["n"],
                         "stocks_per_date": float(n.mean())})
            if r.quantiles is None:
                notes.append(f"{name} in pool {pool!r}: too few stocks for {quantiles} groups")
    if not rows:
        raise DataMissingError("no stock pool could be tested:\n  " + "\n  ".join(notes))
    return pd.DataFrame(rows, columns=TABLE_COLUMNS), results, notes
