"""Backtest (SPEC §7): the weight-based engine, performance metrics and benchmarks."""

from etfrot.backtest.engine import EXECUTIONS, run_backtest
from etfrot.backtest.result import Result

__all__ = ["EXECUTIONS", "Result", "run_backtest"]
