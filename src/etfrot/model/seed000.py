"""Seed 000 §2's stock-factor tables beside its published figures, with Newey–West t and block-bootstrap CIs.

Our figures come from :func:`etfrot.model.evaluate.stock_factor_table` (monthly, 10 equal-weight groups per
pool, suspended / ST / limit stocks excluded on the rebalance date). This module adds the uncertainty the seed
does not print and puts the published numbers next to ours:

* IC mean: t = mean / NW s.e. (``evaluation.ic.newey_west_se``) with L = ⌊4 (n/100)^(2/9)⌋ lags (Newey & West
  1994's rule of thumb); 95 % CIs of IC mean, ICIR = mean/std (not annualised) and win rate = share of IC > 0
  from a circular moving-block bootstrap of the period IC series (blocks of 3 periods).
* long excess p.a. (annual return of top group / pool equal weight), long IR (mean/std·√252 of its daily
  return) and long excess max drawdown: CIs from a block bootstrap of the daily relative returns (blocks of
  20 days, ``backtest.metrics.block_indices``); t = NW t of the mean daily relative return.
* long–short Sharpe (top − bottom NAV, rf 0): the same on the daily long–short returns.

Published figures (seed 000 §2 text; the tables themselves are images): the final AGRU factor (decile-weighted
loss), monthly, ten groups, limit/ST/suspended excluded — all A: IC 13.31 %, ICIR 1.39, win rate 92.19 %, long
excess 15.95 %, long excess MDD −5.15 %; CSI 300: IC 12.38 %, ICIR 0.94, long excess 21.97 %, MDD −9.12 %;
CSI 500: long excess 11.46 %, MDD −7.75 %. The attention comparison before the loss change (plain MSE), all A:
AGRU vs GRU IC 14.53 % vs 14.4 %, long IR 2.75 vs 2.60, long–short Sharpe 4.29 vs 4.12; CSI 300 long excess
17.24 % vs 15.96 %. Its plain-MSE AGRU is our ``mse`` variant; its GRU used plain MSE, our ``gru`` the 2/1 loss.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.backtest.metrics import P_YEAR, block_indices, excess_returns, returns
from etfrot.evaluation.ic import newey_west_se

METRICS = {"ic_mean": "IC mean", "icir": "ICIR", "ic_win_rate": "win rate (IC > 0)",
           "long_excess_annual": "long excess p.a.", "long_excess_max_drawdown": "long excess max drawdown",
           "long_ir": "long IR", "long_short_sharpe": "long–short Sharpe"}
PERCENT = {"ic_mean", "ic_win_rate", "long_excess_annual", "long_excess_max_drawdown"}

# (model, pool, metric) → published value; model names are our variants (module docstring)
SEED000 = {
    ("agru", "all", "ic_mean"): 0.1331, ("agru", "all", "icir"): 1.39, ("agru", "all", "ic_win_rate"): 0.9219,
    ("agru", "all", "long_excess_annual"): 0.1595, ("agru", "all", "long_excess_max_drawdown"): -0.0515,
    ("agru", "csi300", "ic_mean"): 0.1238, ("agru", "csi300", "icir"): 0.94,
    ("agru", "csi300", "long_excess_annual"): 0.2197, ("agru", "csi300", "long_excess_max_drawdown"): -0.0912,
    ("agru", "csi500", "long_excess_annual"): 0.1146, ("agru", "csi500", "long_excess_max_drawdown"): -0.0775,
    ("mse", "all", "ic_mean"): 0.1453, ("mse", "all", "long_ir"): 2.75, ("mse", "all", "long_short_sharpe"): 4.29,
    ("mse", "csi300", "long_excess_annual"): 0.1724,
    ("gru", "all", "ic_mean"): 0.144, ("gru", "all", "long_ir"): 2.60, ("gru", "all", "long_short_sharpe"): 4.12,
    ("gru", "csi300", "long_excess_annual"): 0.1596,
}

COLUMNS = ["model", "pool", "metric", "estimate", "ci_lo", "ci_hi", "t_nw", "nw_lags", "n", "seed000"]


def nw_rule_lags(n: int) -> int:
    """⌊4 (n/100)^(2/9)⌋ (Newey & West 1994)."""
    return int(np.floor(4 * (max(n, 1) / 100) ** (2 / 9)))


def _t_nw(x: np.ndarray) -> tuple[float, int]:
    lags = nw_rule_lags(x.size)
    se = newey_west_se(x, lags) if x.size > 1 else float("nan")
    return (float(x.mean() / se) if se and se > 0 else float("nan")), lags


def _ci(v: np.ndarray, level: float) -> tuple[float, float]:
    a = (1 - level) / 2
    v = v[np.isfinite(v)]
    return (float(np.quantile(v, a)), float(np.quantile(v, 1 - a))) if v.size else (np.nan, np.nan)


def _ratio(x: np.ndarray, scale: float = 1.0) -> np.ndarray:
    sd = x.std(axis=-1, ddof=1)
    return np.divide(x.mean(axis=-1), sd, out=np.full(sd.shape, np.nan), where=sd > 0) * scale


def _daily_rows(x: np.ndarray, n_boot: int, block: int, seed: int, level: float, drawdown: bool) -> dict:
    """Resampled annual return, ratio (·√P) and max drawdown of daily returns ``x`` → {name: (lo, hi)}."""
    if x.size < 2 * block:
        return {}
    xb = x[block_indices(x.size, n_boot=n_boot, block=block, seed=seed)]
    out = {"annual": _ci(np.expm1(np.log1p(xb).sum(axis=1) * P_YEAR / x.size), level),
           "ratio": _ci(_ratio(xb, np.sqrt(P_YEAR)), level)}
    if drawdown:
        nav = np.cumprod(1 + xb, axis=1)
        peak = np.maximum(np.maximum.accumulate(nav, axis=1), 1.0)
        out["mdd"] = _ci((nav / peak - 1).min(axis=1), level)
    return out


def inference_table(table: pd.DataFrame, results: dict, *, n_boot: int = 2000, ic_block: int = 3,
                    daily_block: int = 20, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Long frame (model, pool, metric, estimate, CI, NW t, lags, n, seed000) for the metrics of :data:`METRICS`.

    ``table``/``results``: the outputs of ``stock_factor_table``; estimates are the table's own values.
    """
    rows = []
    for (model, pool), r in results.items():
        est = table[(table["model"] == model) & (table["pool"] == pool)].iloc[0]
        ic = r.ic.dropna().to_numpy(float)
        cis, ts = {}, {}
        if ic.size >= 2 * ic_block and n_boot:
            xb = ic[block_indices(ic.size, n_boot=n_boot, block=ic_block, seed=seed)]
            cis.update(ic_mean=_ci(xb.mean(axis=1), level), icir=_ci(_ratio(xb), level),
                       ic_win_rate=_ci((xb > 0).mean(axis=1), level))
        ts["ic_mean"] = (*_t_nw(ic), ic.size) if ic.size > 1 else (np.nan, 0, ic.size)
        q = r.quantiles
        if q is not None:
            e = excess_returns(q.nav[q.top].dropna(), q.nav["universe"].dropna()).dropna().to_numpy(float)
            ls = returns(q.nav["long_short"].dropna()).dropna().to_numpy(float)
            if n_boot:
                d = _daily_rows(e, n_boot, daily_block, seed, level, drawdown=True)
                cis.update({k: d[s] for k, s in (("long_excess_annual", "annual"), ("long_ir", "ratio"),
                                                 ("long_excess_max_drawdown", "mdd")) if s in d})
                d = _daily_rows(ls, n_boot, daily_block, seed, level, drawdown=False)
                if "ratio" in d:
                    cis["long_short_sharpe"] = d["ratio"]
            for k, x in (("long_excess_annual", e), ("long_ir", e), ("long_excess_max_drawdown", e),
                         ("long_short_sharpe", ls)):
                ts[k] = (*_t_nw(x), x.size) if x.size > 1 else (np.nan, 0, x.size)
        for m in METRICS:
            lo, hi = cis.get(m, (np.nan, np.nan))
            t, lags, n = ts.get(m, (np.nan, 0, ic.size))
            if m in ("icir", "ic_win_rate"):
                n = ic.size
            if m in ("icir", "ic_win_rate", "long_excess_max_drawdown"):
                t, lags = np.nan, 0  # no mean to test: the CI is the inference
            rows.append({"model": model, "pool": pool, "metric": m, "estimate": float(est[m]), "ci_lo": lo,
                         "ci_hi": hi, "t_nw": t, "nw_lags": int(lags), "n": int(n),
                         "seed000": SEED000.get((model, pool, m), np.nan)})
    return pd.DataFrame(rows, columns=COLUMNS)


def _fmt(v: float, pct: bool) -> str:
    if not np.isfinite(v):
        return "—"
    return f"{100 * v:.2f} %" if pct else f"{v:.2f}"


def comparison_table(inf: pd.DataFrame) -> pd.DataFrame:
    """Wide display: one row per (pool, metric), per model "ours [95 % CI] (t)" beside seed 000's figure."""
    out = {}
    for (pool, metric), g in inf.groupby(["pool", "metric"], sort=False):
        pct = metric in PERCENT
        row = {}
        for r in g.itertuples(index=False):
            ci = (f" [{_fmt(r.ci_lo, pct)}, {_fmt(r.ci_hi, pct)}]" if np.isfinite(r.ci_lo) else "")
            t = f" t {r.t_nw:.2f}" if np.isfinite(r.t_nw) else ""
            row[f"{r.model} (ours)"] = _fmt(r.estimate, pct) + ci + t
            row[f"{r.model} seed 000"] = _fmt(r.seed000, pct)
        out[(pool, METRICS[metric])] = row
    df = pd.DataFrame.from_dict(out, orient="index")
    df.index = pd.MultiIndex.from_tuples(df.index, names=["pool", "metric"])
    return df


def caveats(bundle, test_start, test_end, periods: int) -> list[str]:
    """What separates our figures from the seed's, read from the bundle (none is assumed)."""
    out = [(f"Window: ours {pd.Timestamp(test_start):%Y-%m} → {pd.Timestamp(test_end):%Y-%m} ({periods} monthly "
            "periods); the seed's index tests run 2020-01 → 2025-05 and it does not state its stock test window — "
            "different years, so the level of each figure is not comparable, only its order of magnitude and sign.")]
    out += [f"Data: {c}." for c in bundle.manifest.get("caveats", [])]
    sb = bundle.table("stock_bars")
    if "amount" in sb and sb["amount"].isna().all():
        out.append("No VWAP: the data carry no amount, so the model's VWAP input is the close (model/dataset.py); the "
                   "seed uses the true VWAP.")
    if "is_st" in sb and not sb["is_st"].astype(bool).any():
        out.append("No ST flags in the data (is_st False throughout): excluding ST stocks excludes nothing here.")
    n = sb["code"].nunique()
    out.append(f"Pool 'all' = the {n:,} stocks of this data set, not the whole A-share market the seed's 'all A' "
               "covers; CSI 300 / 500 are point-in-time members among them.")
    out.append("Our GRU uses the 2/1 decile-weighted loss (as AGRU); the seed's GRU comparison used plain MSE, so its "
               "AGRU/GRU figures (14.53 % / 14.4 % IC …) sit beside our mse / gru rows for order only.")
    return out
