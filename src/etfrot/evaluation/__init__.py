"""Factor evaluation (SPEC §3): forward returns, IC / Rank IC, regression t-values, quantile backtests,
factor correlation, stock pools and test universes, and the seed-001-shaped test tables."""

from etfrot.evaluation.correlation import factor_correlation
from etfrot.evaluation.factor_test import (
    FactorTestReport,
    FactorTestResult,
    factor_test,
    run_factor_tests,
    run_panel_tests,
)
from etfrot.evaluation.ic import (
    forward_returns,
    ic_series,
    ic_summary,
    newey_west_se,
    overlap_lags,
    rank_rows,
    row_corr,
)
from etfrot.evaluation.pools import BROAD_POOLS, Universe, resolve_universe, stock_pool
from etfrot.evaluation.quantiles import QuantileResult, assign_quantiles, quantile_backtest
from etfrot.evaluation.regression import regression_tstats, tstat_summary

__all__ = [
    "BROAD_POOLS", "FactorTestReport", "FactorTestResult", "QuantileResult", "Universe", "assign_quantiles",
    "factor_correlation", "factor_test", "forward_returns", "ic_series", "ic_summary", "newey_west_se",
    "overlap_lags", "quantile_backtest", "rank_rows", "regression_tstats", "resolve_universe", "row_corr",
    "run_factor_tests", "run_panel_tests", "stock_pool", "tstat_summary",
]
