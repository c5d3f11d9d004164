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


def test_agru_run_on_price_indices_labels_every_output(small_bundle, tmp_path):
    """agru_index_rotation with universe.kind index vs the total return: summary text, benchmark name (tables, CSV,
    result), manifest and result/CAVEATS.txt all carry the warning."""
    import json

    import pandas as pd

    px = small_bundle.panel("stock_bars", "close", adjusted=True)
    scores = pd.DataFrame(np.random.default_rng(0).normal(size=px.shape), index=px.index, columns=px.columns)
    scores.loc["2015-01-01":].to_parquet(tmp_path / "s.parquet")
    cfg = {"strategy": "agru_index_rotation", "name": "tiny",
           "stock_model": {"scores_path": str(tmp_path / "s.parquet"), "cache_dir": None, "evaluate": None},
           "universe": {"kind": "index", "categories": ["industry_theme"]},
           "selection": {"method": "top_quantile", "quantile": 0.1}, "report": {"bootstrap": 50}}
    res, sections = air.run(small_bundle, cfg, tmp_path / "run")
    assert sections[0].text.startswith("PRICE INDICES vs a TOTAL-RETURN benchmark")
    assert "holdings are PRICE indices" in res.benchmark_name
    man = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert man["caveats"][0].startswith("PRICE INDICES") and "understated" in man["caveats"][0]
    assert (tmp_path / "run" / "result" / "CAVEATS.txt").read_text().startswith("PRICE INDICES")
