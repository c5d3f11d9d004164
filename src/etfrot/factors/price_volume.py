"""Price–volume factors (SPEC §2.1; seed 001 §3 table 3): momentum, RSI (Wilder), BIAS.

The pure panel functions (``momentum``, ``rsi``, ``bias``) take an adjusted-close panel; the
registered factors apply them to an entity's own bars (an index's level, a stock's or an ETF's
adjusted close). A value on t uses closes up to t only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from etfrot.errors import ConfigError
from etfrot.factors.registry import factor


def _check_window(n: int, name: str = "n") -> None:
    if int(n) != n or n < 1:
        raise ConfigError(f"window {name} must be a positive integer, got {n!r}")


def momentum(close: pd.DataFrame, n: int, skip: int = 0) -> pd.DataFrame:
    """mom(N, skip)_t = P_{t−skip} / P_{t−N} − 1 over the carried-forward close; NaN if not traded on t."""
    _check_window(n)
    if not 0 <= skip < n:
        raise ConfigError(f"skip must be within [0, n), got skip={skip}, n={n}")
    px = close.ffill()
    out = px.shift(skip) / px.shift(n) - 1
    return out.where(close.notna())


def rsi(close: pd.DataFrame, n: int = 14) -> pd.DataFrame:
    """RSI_t = 100 − 100 / (1 + G_t / L_t), G, L = Wilder averages of gains and losses over N (seed 001).

    Wilder's average: the first value is the simple mean of the first N changes of each series, then
    A_t = A_{t−1} + (x_t − A_{t−1}) / N. Run as one IIR filter (scipy ``lfilter``) over all columns;
    a series that starts later gets its own seed. Suspension days count as zero change.
    """
    _check_window(n)
    px = close.ffill()
    d = px.diff().to_numpy()
    valid = np.isfinite(d)
    T, C = d.shape
    # row of each column's first valid change and the row where its Wilder average is seeded
    first = np.where(valid.any(0), valid.argmax(0), T)
    seed_row = first + n - 1
    dz = np.where(valid, d, 0.0)
    gains, losses = np.clip(dz, 0, None), np.clip(-dz, 0, None)
    alpha = 1.0 / n
    rows = np.arange(T)[:, None]

    def wilder(x: np.ndarray) -> np.ndarray:
        cs = np.cumsum(x, axis=0)
        ok = seed_row < T
        seed = np.zeros(C)
        sr = np.clip(seed_row, 0, T - 1)
        prev = np.where(first > 0, cs[np.clip(first - 1, 0, T - 1), np.arange(C)], 0.0)
        seed[ok] = (cs[sr, np.arange(C)][ok] - prev[ok]) / n
        # drive the filter with 0 before the seed row, seed/alpha on it, the raw changes after it
        u = np.where(rows > seed_row, x, 0.0)
        u[sr[ok], np.arange(C)[ok]] = seed[ok] / alpha
        y = lfilter([alpha], [1.0, -(1.0 - alpha)], u, axis=0)
        y[rows < seed_row] = np.nan
        return y

    g, lo = wilder(gains), wilder(losses)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(lo > 0, 100.0 - 100.0 / (1.0 + g / lo), np.where(g > 0, 100.0, 50.0))
    out[np.isnan(g)] = np.nan
    res = pd.DataFrame(out, index=close.index, columns=close.columns)
    return res.where(close.notna())


def bias(close: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """BIAS_t = P_t / MA_N(P)_t − 1, MA over the last N closes including t (seed 001 乖离率)."""
    _check_window(n)
    px = close.ffill()
    ma = px.rolling(n, min_periods=n).mean()
    return (px / ma - 1).where(close.notna())


# ---------------------------------------------------------------------- registered factors
_SEED1 = ("seed001",)


@factor("mom5", category="price_volume", level="index", needs=("bars.close",), sets=_SEED1)
def mom5(x, n: int = 5) -> pd.DataFrame:
    """mom5 = P_t / P_{t−5} − 1 (adjusted close; seed 001 table 4)."""
    return momentum(x.close(), n)


@factor("mom20", category="price_volume", level="index", needs=("bars.close",), sets=_SEED1)
def mom20(x, n: int = 20) -> pd.DataFrame:
    """mom20 = P_t / P_{t−20} − 1 (指数 20 日涨跌幅, seed 001 table 3)."""
    return momentum(x.close(), n)


@factor("mom250", category="price_volume", level="index", needs=("bars.close",), sets=_SEED1)
def mom250(x, n: int = 250) -> pd.DataFrame:
    """mom250 = P_t / P_{t−250} − 1 (指数 250 日涨跌幅, seed 001 table 3)."""
    return momentum(x.close(), n)


@factor("rsi", category="price_volume", level="index", needs=("bars.close",), sets=_SEED1, label="RSI")
def rsi14(x, n: int = 14) -> pd.DataFrame:
    """RSI = 100 − 100 / (1 + Wilder-avg gain / Wilder-avg loss), N = 14 (相对强弱指标, seed 001)."""
    return rsi(x.close(), n)


@factor("bias", category="price_volume", level="index", needs=("bars.close",), sets=_SEED1, label="BIAS")
def bias20(x, n: int = 20) -> pd.DataFrame:
    """BIAS = P_t / MA20_t − 1 (乖离率, seed 001 table 3)."""
    return bias(x.close(), n)
