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

from etfrot.errors import ConfigError
from etfrot.factors.registry import factor

_SEED1 = ("seed001",)


def yoy_growth(x: np.ndarray, x_prev_year: np.ndarray, clip: float = 5.0) -> np.ndarray:
    """g = (x_q − x_{q−4}) / |x_{q−4}|, clipped to ±clip (NaN where x_{q−4} = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (x - x_prev_year) / np.abs(x_prev_year)
    g[~np.isfinite(g)] = np.nan
    return np.clip(g, -clip, clip)


def qoq_ratio(g: np.ndarray, g_prev: np.ndarray, clip: float = 5.0) -> np.ndarray:
    """Ratio form of 环比增速: r = g_q / g_{q−1} − 1 for g_{q−1} > 0; for a non-positive base
    r = (g_q − g_{q−1}) / |g_{q−1}| (so a rise is positive whatever the base's sign); NaN where
    g_{q−1} = 0; clipped to ±clip. (For g_{q−1} > 0 the two expressions are the same number.)"""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (g - g_prev) / np.abs(g_prev)
    r[~np.isfinite(r)] = np.nan
    return np.clip(r, -clip, clip)


def combine_qoq(g: np.ndarray, g_prev: np.ndarray, form: str, clip: float) -> np.ndarray:
    """``form`` "diff": g_q − g_{q−1} (difference of YoY growth); "ratio": :func:`qoq_ratio`."""
    if form == "diff":
        return g - g_prev
    if form == "ratio":
        return qoq_ratio(g, g_prev, clip)
    raise ConfigError(f"growth QoQ form must be 'diff' or 'ratio', got {form!r}")


def growth_qoq(x, field: str, clip: float = 5.0, form: str = "diff") -> pd.DataFrame:
    """QoQ change of g = YoY growth of ``field`` (同比增长率的环比增速): g_q − g_{q−1} or the ratio form."""
    v = x.event_field(field)
    g = yoy_growth(v, x.lag(v, 4), clip)
    g1 = yoy_growth(x.lag(v, 1), x.lag(v, 5), clip)
    return x.event_panel(combine_qoq(g, g1, form, clip), lags=(1, 4, 5))


#: fundamentals column holding the source's own EPS YoY (baostock ``YOYEPSBasic``: YoY of year-to-date basic EPS)
EPS_YOY_SOURCE = "yoy_eps_basic"


def eps_yoy_source(x, yoy: str = "auto") -> str:
    """Which EPS YoY ``eps_growth_qoq`` uses: "source" (column ``yoy_eps_basic``) or "derived" (from ``eps``).

    ``yoy="auto"``: the source's where the bundle's fundamentals have that column with any value, else derived."""
    if yoy not in ("auto", "source", "derived"):
        raise ConfigError(f"eps_growth_qoq yoy must be 'auto', 'source' or 'derived', got {yoy!r}")
    if yoy != "auto":
        return yoy
    ev = x.fundamental_events()
    return "source" if EPS_YOY_SOURCE in ev.columns and ev[EPS_YOY_SOURCE].notna().any() else "derived"


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
def np_growth_qoq(x, form: str = "diff", clip: float = 5.0) -> pd.DataFrame:
    """np_growth_qoq = NP_YOY_q − NP_YOY_{q−1} (form "diff", default) or NP_YOY_q / NP_YOY_{q−1} − 1 (form "ratio", |base|, ±clip) (seed 001; SPEC §2.2).

    The seed's "净利润同比增长率的环比增速" reads either way; "diff" is the SPEC's wording and the default.
    """
    v = x.event_field("np_yoy")
    return x.event_panel(combine_qoq(v, x.lag(v, 1), form, clip), lags=(1,))


@factor("roe_growth_qoq", category="fundamental", level="stock", needs=("fundamentals.roe_ttm",), sets=_SEED1,
        label="ROE 增速环比")
def roe_growth_qoq(x, clip: float = 5.0, form: str = "diff") -> pd.DataFrame:
    """g_q − g_{q−1} (or ratio form), g_q = (ROE_TTM_q − ROE_TTM_{q−4}) / |ROE_TTM_{q−4}| clipped ±clip (ROE 增速环比, seed 001)."""
    return growth_qoq(x, "roe_ttm", clip, form)


@factor("eps_growth_qoq", category="fundamental", level="stock", needs=("fundamentals.eps",), sets=_SEED1,
        label="EPS 增速环比")
def eps_growth_qoq(x, clip: float = 5.0, form: str = "diff", yoy: str = "auto") -> pd.DataFrame:
    """g_q − g_{q−1} (or ratio form), g = EPS YoY: the source's yoy_eps_basic (baostock YOYEPSBasic) where the bundle has it, else (EPS_q − EPS_{q−4}) / |EPS_{q−4}|, ±clip (EPS 增速环比, seed 001).

    ``yoy`` "auto" (default) / "source" / "derived" chooses (:func:`eps_yoy_source`); the source's figure is the
    YoY of year-to-date basic EPS as reported (real data: baostock), the derived one the YoY of the single-quarter
    EPS computed from net profit / total shares (synthetic data has only this). ``form`` as :func:`combine_qoq`.
    """
    if eps_yoy_source(x, yoy) == "derived":
        return growth_qoq(x, "eps", clip, form)
    g = np.clip(x.event_field(EPS_YOY_SOURCE), -clip, clip)
    return x.event_panel(combine_qoq(g, x.lag(g, 1), form, clip), lags=(1,))
