"""Portfolio construction (SPEC §6): selection (top-N, top-quantile, MMR), weights, exclusions, panels.

``regime`` (seed 002 four-quadrant rotation) lives in :mod:`etfrot.portfolio.regime`.
"""

from etfrot.portfolio.correlation import TrailingCorrelation, trailing_corr
from etfrot.portfolio.exclusions import apply_exclusions, cross_sectional_percentile, exclusion_flags
from etfrot.portfolio.panel import select_weights, weights_panel
from etfrot.portfolio.select import MMRResult, mmr_select, rank_normalize, ranked, top_n, top_quantile
from etfrot.portfolio.weights import alpha_weights, cap_weights, equal_weights

__all__ = [
    "MMRResult", "TrailingCorrelation", "alpha_weights", "apply_exclusions", "cap_weights",
    "cross_sectional_percentile", "equal_weights", "exclusion_flags", "mmr_select", "rank_normalize", "ranked",
    "select_weights", "top_n", "top_quantile", "trailing_corr", "weights_panel",
]
