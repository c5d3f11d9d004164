"""Sweeps of a registered strategy (regime_rotation) and the `etfrot sweep` command (SPEC §7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from etfrot.errors import ConfigError
from etfrot.strategies import regime_rotation as M
from etfrot.sweep import parse_grid, run_sweep


@pytest.fixture(scope="module")
def base(null_bundle):
    return {"strategy": "regime_rotation", "bundle": str(null_bundle.path), "exclusions": {"variants": ["none", "double"]}}


def test_strategy_sweep_cells_are_ordinary_runs(base, null_bundle):
    grid = {"selection.n": [3, 5], "costs.fee_per_side": [0.0, 0.001]}
    t = run_sweep(base, grid, jobs=2, progress=False)
    assert len(t) == 4 and t["error"].isna().all(), t["error"].tolist()
    assert t[["selection.n", "costs.fee_per_side"]].values.tolist() == [[3, 0.0], [3, 0.001], [5, 0.0], [5, 0.001]]
    for col in ("annual_excess", "information_ratio", "max_drawdown", "double:annual_excess"):
        assert col in t.columns
    # each cell equals a direct run of the same config
    for i in (0, 3):
        cfg = {**base, "selection": {"n": int(t.loc[i, "selection.n"])}, "costs": {"fee_per_side": float(t.loc[i, "costs.fee_per_side"])}}
        m = M.sweep_metrics(M.build(null_bundle, cfg))
        assert t.loc[i, "annual_excess"] == pytest.approx(m["annual_excess"], rel=1e-12, abs=1e-15)
    # costs only lower the result: same picks, fee 0.001 < fee 0
    assert (t.loc[t["costs.fee_per_side"] == 0.001, "annual_return"].to_numpy()
            < t.loc[t["costs.fee_per_side"] == 0.0, "annual_return"].to_numpy()).all()


def test_strategy_sweep_validates_every_cell_first(base):
    with pytest.raises(ConfigError, match=r"selection\.n"):
        run_sweep(base, {"selection.n": [5, 0]}, progress=False)
    with pytest.raises(ConfigError, match="unknown key 'rotation.t_treshold'"):
        run_sweep(base, {"rotation.t_treshold": [1.0]}, progress=False)


def test_cli_sweep_writes_the_comparison_table(null_bundle, tmp_path):
    from etfrot.cli import app

    out = tmp_path / "sweep"
    r = CliRunner().invoke(app, ["sweep", "regime_rotation", "--bundle", str(null_bundle.path), "--grid", "selection.n=4..5",
                                 "--grid", "rotation.t_threshold=1.5,2", "--jobs", "2", "--out", str(out)])
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out / "sweep.csv", index_col=0)
    assert len(t) == 4 and sorted(set(t["selection.n"])) == [4, 5] and sorted(set(t["rotation.t_threshold"])) == [1.5, 2.0]
    assert np.isfinite(t["annual_excess"]).all()
    html = (out / "report.html").read_text()
    assert "SYNTHETIC" in html and "annual_excess by selection.n × rotation.t_threshold" in html  # the heat-map table
    assert html.count("data:image/png") >= 1  # and its figure
    assert parse_grid(["selection.n=4..5"]) == {"selection.n": [4, 5]}
