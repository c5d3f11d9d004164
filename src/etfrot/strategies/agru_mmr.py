"""MMR settings of ``agru_index_rotation`` (seed 000 §3.4, §4): the config section, the keywords it gives
:func:`etfrot.portfolio.select_weights` in each mode, and the report section of the drops per date.

Top quantile (``selection.n`` unset, the seed's strategy: "将指数因子排名靠前的10％的指数作为备选标的，额外使用
MMR算法排除掉相关性过高的指数"): candidates = the top 10 %, held in MMR's order less every candidate whose
correlation with a name already held exceeds a threshold (a maximum correlation, not a minimum MMR
value: the seed removes "too correlated" names). Fixed N (``selection.n``, seed 000 §4, "进一步调整MMR
计算方式"): N picks with a candidate set and λ of their own, no threshold.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field, model_validator

from etfrot.config import StrictModel


class MMRSection(StrictModel):
    """MMR settings (seed 000 §3.4, §4); which apply depends on ``selection.n`` (see the module doc).

    Top quantile (``selection.n`` unset): ``candidates`` share (default 0.1, the seed's top 10 %), λ =
    ``selection.lam``, drop threshold ``max_corr_quantile`` (default 0.9; a per-date quantile, since
    absolute levels differ between markets: measured over 5-year windows, the real SW level-1 industries'
    highest pair is about 0.89 while the synthetic market's median pair is 0.95) or an absolute ``max_corr`` (then set ``max_corr_quantile: null``).
    Fixed N (``selection.n`` set): ``n_candidates`` share (default 0.3, at least N) and ``n_lam``
    (default 0.5); no threshold. ``low_overlap``: how a pair with fewer than ``selection.min_overlap``
    common days counts — a number (default 0), "exclude", or "shrunk" (the pair's category-block mean
    correlation over the date's universe, categories from index_info; see
    :func:`etfrot.portfolio.select.category_mean_corr`).
    """

    candidates: float | Literal["all"] = 0.1
    max_corr: float | None = Field(None, ge=-1.0, le=1.0)
    max_corr_quantile: float | None = Field(0.9, gt=0.0, le=1.0)
    n_candidates: float | Literal["all"] = 0.3
    n_lam: float = Field(0.5, ge=0.0, le=1.0)
    low_overlap: float | Literal["exclude", "shrunk"] = 0.0

    @model_validator(mode="after")
    def _check(self):
        for k in ("candidates", "n_candidates"):
            v = getattr(self, k)
            if isinstance(v, float) and not 0 < v <= 1:
                raise ValueError(f"mmr.{k} must be in (0, 1] or 'all', got {v}")
        if self.max_corr is not None and self.max_corr_quantile is not None:
            raise ValueError("give mmr.max_corr (absolute) or mmr.max_corr_quantile (per date), not both; "
                             "set the other to null")
        return self


def mmr_settings(cfg) -> dict:
    """The MMR keywords of :func:`etfrot.portfolio.select_weights` for the config's mode (see MMRSection)."""
    m, sel = cfg.mmr, cfg.selection
    if sel.n:
        return {"candidates": m.n_candidates, "lam": m.n_lam, "max_corr": None, "max_corr_quantile": None,
                "low_overlap": m.low_overlap}
    return {"candidates": m.candidates, "lam": sel.lam, "max_corr": m.max_corr,
            "max_corr_quantile": m.max_corr_quantile, "low_overlap": m.low_overlap}


def mmr_words(cfg) -> str:
    """One phrase for the report: λ, window, candidates, drop rule and low-overlap rule of the config's mode."""
    k = mmr_settings(cfg)
    cand = "all" if k["candidates"] == "all" else f"top {k['candidates']:.0%}"
    if cfg.selection.n:
        rule = f"{cfg.selection.n} picks, no drop threshold (fixed N)"
    elif k["max_corr_quantile"] is not None:
        rule = (f"dropping a candidate whose correlation with a name held exceeds the date's "
                f"{k['max_corr_quantile']:.0%} quantile of the universe's pair correlations")
    elif k["max_corr"] is not None:
        rule = f"dropping a candidate whose correlation with a name held exceeds {k['max_corr']:g}"
    else:
        rule = "no drop threshold"
    lo = k["low_overlap"]
    lo = (f"correlation {lo:g}" if isinstance(lo, (int, float)) else
          {"exclude": "excluded", "shrunk": "their category-block mean correlation"}[lo])
    return (f"MMR (λ = {k['lam']:g}, {cfg.selection.window}-day correlations, candidates: {cand}, {rule}; "
            f"pairs with < {cfg.selection.min_overlap} common days: {lo})")


def mmr_section(table: pd.DataFrame, cfg, lab: str = ""):
    """Report section: the MMR table per rebalance date, with the drops and low-overlap pairs summarised."""
    from etfrot.report.html import Section

    d, lo = table["dropped"], table["low_overlap_pairs"]
    lo_rule = cfg.mmr.low_overlap
    lo_rule = (f"counted as correlation {lo_rule:g}" if isinstance(lo_rule, (int, float)) else
               {"exclude": "excluded", "shrunk": "given their category-block mean correlation"}[lo_rule])
    text = (f"{lab}{mmr_words(cfg)}. Per rebalance date: MMR candidates, indices held, candidates dropped as too "
            f"correlated with a name held, candidate pairs with an unknown correlation (fewer than "
            f"{cfg.selection.min_overlap} common return days in the {cfg.selection.window}-day window; they are "
            f"{lo_rule}) and the drop threshold used. Dropped: median {d.median():g}, max {int(d.max())} per date, "
            f"{int((d > 0).sum())} of {len(d)} dates with a drop; low-overlap pairs: median {lo.median():g}, "
            f"max {int(lo.max())}, on {int((lo > 0).sum())} dates.")
    t = table.rename(columns={"max_corr": "drop_threshold_corr"})
    t.attrs["kinds"] = {"candidates": "count", "held": "count", "dropped": "count", "low_overlap_pairs": "count",
                        "drop_threshold_corr": "number"}
    return Section("MMR selection per rebalance date (seed 000 §3.4)", text, tables={"MMR per date": t},
                   max_rows=cfg.holdings_weeks)
