"""Backtest (SPEC §7): the weight-based engine, performance metrics and benchmarks."""

from etfrot.backtest.engine import EXECUTIONS, Result, run_backtest

__all__ = ["EXECUTIONS", "Result", "run_backtest"]
