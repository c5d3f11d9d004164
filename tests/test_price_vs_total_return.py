"""Price indices held against a total-return benchmark are flagged with the measured dividend gap (issue 12 item 4)."""

from __future__ import annotations

import numpy as np
import pytest

from etfrot.backtest.benchmarks import benchmark_nav, index_nav
from etfrot.config import read_yaml
from etfrot.strategies import agru_index_rotation as air
from etfrot.strategies.runner import price_vs_total_return


def test_price_indices_against_total_return_are_flagged_with_the_gap(small_bundle):
    """agru_index_rotation_real holds index levels vs the CSI 300 total return: the note names it and its size =
    annual return of the total-return index − that of the price index (> 0: the synthetic index pays dividends)."""
    cfg = air.validate_config(read_yaml("agru_index_rotation_real"))
    assert cfg.universe.kind == "index" and cfg.benchmark.kind == "total_return"
    bench = benchmark_nav(small_bundle, "total_return", cfg.benchmark.code)
    start = bench.index[len(bench) // 2]
    note = price_vs_total_return(small_bundle, cfg, bench, start)
    tr, px = bench[bench.index >= start], index_nav(small_bundle, cfg.benchmark.code)
    px = px[px.index.isin(tr.index)]
    years = (len(tr) - 1) / 252
    gap = (tr.iloc[-1] / tr.iloc[0]) ** (1 / years) - (px.iloc[-1] / px.iloc[0]) ** (1 / years)
    assert gap > 0
    assert note.startswith("PRICE INDICES vs a TOTAL-RETURN benchmark") and f"{gap:.2%} a year" in note


@pytest.mark.parametrize("change", [{"universe": {"kind": "etf"}}, {"benchmark": {"kind": "index", "code": "000300.SH"}}])
def test_like_for_like_comparisons_are_not_flagged(small_bundle, change):
    """ETFs (which earn the dividends) against total return, or price indices against the price index: no note."""
    raw = read_yaml("agru_index_rotation_real")
    for k, v in change.items():
        raw[k] = {**raw[k], **v}
    cfg = air.validate_config(raw)
    bench = benchmark_nav(small_bundle, cfg.benchmark.kind, cfg.benchmark.code)
    assert price_vs_total_return(small_bundle, cfg, bench, bench.index[0]) is None
    assert np.isfinite(bench.iloc[-1])
