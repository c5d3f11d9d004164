"""Fundamental factors (SPEC §2.2; seed 001 §3 table 3), all point-in-time.

A quarter's value is visible from its ``announce_date`` (and not before the announce dates of the
earlier quarters a formula compares it with); among announced reports the latest report period
wins. q denotes the latest announced report period, q−1 the quarter before, q−4 a year before.
Stock-level factors: an index without fundamentals rows of its own gets its constituents'
weighted average (SPEC §2.5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.factors.registry import factor

_SEED1 = ("seed001",)


def yoy_growth(x: np.ndarray, x_prev_year: np.ndarray, clip: float = 5.0) -> np.ndarray:
    """g = (x_q − x_{q−4}) / |x_{q−4}|, clipped to ±clip (NaN where x_{q−4} = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (x - x_prev_year) / np.abs(x_prev_year)
    g[~np.isfinite(g)] = np.nan
    return np.clip(g, -clip, clip)


def growth_qoq(x, field: str, clip: float = 5.0) -> pd.DataFrame:
    """Δg_q = g_q − g_{q−1}, g = YoY growth of ``field`` (同比增长率的环比增速)."""
    v = x.event_field(field)
    g = yoy_growth(v, x.lag(v, 4), clip)
    g1 = yoy_growth(x.lag(v, 1), x.lag(v, 5), clip)
    return x.event_panel(g - g1, lags=(1, 4, 5))


@factor("roe_ttm", category="fundamental", level="stock", needs=("fundamentals.roe_ttm",), sets=_SEED1, label="ROE_TTM")
def roe_ttm(x) -> pd.DataFrame:
    """ROE_TTM of the latest announced report (滚动 12 个月净资产收益率, seed 001)."""
    return x.fundamental("roe_ttm")


@factor("roe_q", category="fundamental", level="stock", needs=("fundamentals.roe_q",), sets=_SEED1, label="ROE_Q")
def roe_q(x) -> pd.DataFrame:
    """ROE_Q of the latest announced quarter (最新一期净资产收益率, seed 001)."""
    return x.fundamental("roe_q")


@factor("np_yoy", category="fundamental", level="stock", needs=("fundamentals.np_yoy",), sets=_SEED1, label="NP_YOY")
def np_yoy(x) -> pd.DataFrame:
    """NP_YOY of the latest announced quarter (最新一期净利润同比增长率, seed 001)."""
    return x.fundamental("np_yoy")


@factor("np_growth_qoq", category="fundamental", level="stock", needs=("fundamentals.np_yoy",), sets=_SEED1,
        label="净利润增速环比")
def np_growth_qoq(x) -> pd.DataFrame:
    """np_growth_qoq = NP_YOY_q − NP_YOY_{q−1}: change of net-profit YoY growth vs the previous quarter (seed 001; SPEC §2.2)."""
    v = x.event_field("np_yoy")
    return x.event_panel(v - x.lag(v, 1), lags=(1,))


@factor("roe_growth_qoq", category="fundamental", level="stock", needs=("fundamentals.roe_ttm",), sets=_SEED1,
        label="ROE 增速环比")
def roe_growth_qoq(x, clip: float = 5.0) -> pd.DataFrame:
    """g_q − g_{q−1}, g_q = (ROE_TTM_q − ROE_TTM_{q−4}) / |ROE_TTM_{q−4}| clipped ±clip (ROE 增速环比, seed 001)."""
    return growth_qoq(x, "roe_ttm", clip)


@factor("eps_growth_qoq", category="fundamental", level="stock", needs=("fundamentals.eps",), sets=_SEED1,
        label="EPS 增速环比")
def eps_growth_qoq(x, clip: float = 5.0) -> pd.DataFrame:
    """g_q − g_{q−1}, g_q = (EPS_q − EPS_{q−4}) / |EPS_{q−4}| clipped ±clip (EPS 增速环比, seed 001)."""
    return growth_qoq(x, "eps", clip)
