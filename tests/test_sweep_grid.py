"""Parameter sweeps (SPEC §7): grid expansion, dotted overrides, parallel == serial, errors."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from etfrot.errors import ConfigError
from etfrot.sweep import grid_cells, parse_grid, run_sweep, set_dotted, write_sweep

BASE = {"strategy": "toy", "portfolio": {"top_n": 5, "lam": 1.0}, "backtest": {"fee": 0.0005}, "seed": 7}


def cheap_run(config: dict) -> dict:
    """A deterministic function of the config with a known answer (and a little numpy work)."""
    n, lam, fee = config["portfolio"]["top_n"], config["portfolio"]["lam"], config["backtest"]["fee"]
    rng = np.random.default_rng(config["seed"] + n)
    x = rng.normal(size=1000).mean()
    return {"score": n * 10 + lam - fee * 1000, "noise": float(x), "pid": os.getpid()}


def failing_run(config: dict) -> dict:
    if config["portfolio"]["top_n"] == 3:
        raise ValueError("top_n 3 is broken on purpose")
    return cheap_run(config)


def test_parse_grid_values_and_ranges():
    g = parse_grid(["portfolio.top_n=2..4,8", "portfolio.lam=0.5,1", "freq=weekly,monthly", "x=true,null"])
    assert g == {"portfolio.top_n": [2, 3, 4, 8], "portfolio.lam": [0.5, 1], "freq": ["weekly", "monthly"],
                 "x": [True, None]}
    with pytest.raises(ConfigError, match="KEY=V1"):
        parse_grid(["top_n"])
    with pytest.raises(ConfigError, match="twice"):
        parse_grid(["a=1", "a=2"])


def test_set_dotted_copies_and_checks_keys():
    c = set_dotted(BASE, "portfolio.top_n", 3)
    assert c["portfolio"]["top_n"] == 3 and BASE["portfolio"]["top_n"] == 5  # base untouched
    with pytest.raises(ConfigError, match="unknown key 'topn'"):
        set_dotted(BASE, "portfolio.topn", 3)
    with pytest.raises(ConfigError, match="no section 'cost'"):
        set_dotted(BASE, "cost.fee", 3)
    assert set_dotted(BASE, "cost.fee", 3, create=True)["cost"] == {"fee": 3}


def test_grid_cells_cartesian_order():
    cells = grid_cells({"a": [1, 2], "b": ["x", "y", "z"]})
    assert cells == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 1, "b": "z"},
                     {"a": 2, "b": "x"}, {"a": 2, "b": "y"}, {"a": 2, "b": "z"}]


def test_two_by_two_grid_gives_four_rows_with_right_params():
    grid = {"portfolio.top_n": [2, 3], "backtest.fee": [0.0, 0.001]}
    t = run_sweep(BASE, grid, cheap_run, jobs=1, progress=False)
    assert len(t) == 4
    assert list(t.columns[:2]) == ["portfolio.top_n", "backtest.fee"]
    assert t[["portfolio.top_n", "backtest.fee"]].values.tolist() == [[2, 0.0], [2, 0.001], [3, 0.0], [3, 0.001]]
    np.testing.assert_allclose(t["score"], [21.0, 20.0, 31.0, 30.0])  # the overrides reached the run
    assert t["error"].isna().all() and (t["seconds"] >= 0).all()


def test_parallel_equals_serial():
    grid = {"portfolio.top_n": [2, 3], "portfolio.lam": [0.25, 0.75]}
    a = run_sweep(BASE, grid, cheap_run, jobs=1, progress=False)
    b = run_sweep(BASE, grid, cheap_run, jobs=2, progress=False)
    cols = ["portfolio.top_n", "portfolio.lam", "score", "noise"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert set(b["pid"]) != {os.getpid()}  # really ran in worker processes
    c = run_sweep(BASE, grid, cheap_run, jobs=2, progress=False, warm_start=False)
    pd.testing.assert_frame_equal(a[cols], c[cols])
    assert os.getpid() not in set(c["pid"])  # without warm start every cell runs in a worker


def test_failing_cell_is_recorded_and_others_run():
    t = run_sweep(BASE, {"portfolio.top_n": [2, 3, 4]}, failing_run, jobs=2, progress=False)
    assert t["error"].notna().tolist() == [False, True, False]
    assert "broken on purpose" in t.loc[1, "error"]
    assert t.loc[[0, 2], "score"].tolist() == [20.5, 40.5]  # 10·n + 1 − 0.5


def test_validation_runs_before_any_cell():
    calls = []

    def validate(cfg):
        if cfg["portfolio"]["top_n"] > 10:
            raise ConfigError("top_n must be ≤ 10")

    def run(cfg):  # would fail the test if called
        calls.append(cfg)
        return {}

    with pytest.raises(ConfigError, match=r"sweep cell \{'portfolio.top_n': 11\}: top_n must be"):
        run_sweep(BASE, {"portfolio.top_n": [2, 11]}, run, validate=validate, progress=False)
    assert calls == []


def test_bad_backend_and_missing_ray():
    with pytest.raises(ConfigError, match="backend"):
        run_sweep(BASE, {"seed": [1]}, cheap_run, backend="spark", progress=False)
    try:
        import ray  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"etfrot\[ray\]"):
            run_sweep(BASE, {"seed": [1]}, cheap_run, backend="ray", progress=False)


def test_unknown_strategy_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown strategy 'toy'"):
        run_sweep(BASE, {"seed": [1]}, progress=False)


def test_write_sweep_outputs(tmp_path):
    grid = {"portfolio.top_n": [2, 3], "backtest.fee": [0.0, 0.001]}
    t = run_sweep(BASE, grid, cheap_run, progress=False)
    p = write_sweep(t, tmp_path, title="toy sweep", synthetic=True, data_label="SYNTHETIC DATA",
                    config=BASE, grid=grid, metric="score")
    assert p.exists() and "SYNTHETIC" in p.read_text()
    back = pd.read_csv(tmp_path / "sweep.csv", index_col=0)
    assert len(back) == 4 and back["score"].tolist() == t["score"].tolist()
