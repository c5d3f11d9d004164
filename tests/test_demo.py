"""`etfrot demo` end to end at a reduced size: three strategies, one comparison report, picks, SYNTHETIC labels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from etfrot.cli import app
from etfrot.demo import run_demo
from etfrot.strategies import load_config

SMALL = {
    "agru_index_rotation": {
        "stock_model": {"model": {"model": "agru", "hidden_size": 8, "num_layers": 1, "epochs": 1, "patience": 1,
                                  "batch_size": 1024, "seeds": 1, "train_date_stride": 20, "valid_date_stride": 20,
                                  "device": "cpu", "num_threads": 1},
                        "window": {"lookback": 20, "horizon": 10},
                        "split": {"scheme": "fixed", "train_end": "2014-06-30", "valid_end": "2014-12-31"},
                        "cache_dir": None, "evaluate": None},
        "index_factor": {"test_freqs": ["monthly"], "test_universes": ["all"]},
        "report": {"bootstrap": 50},
    },
    "cluster_multifactor": {"pool": {"k_max": 4, "gap_refs": 3, "n_init": 2}, "n_grid": [2, 3],
                            "single_factor_models": False, "report": {"bootstrap": 50}},
    "regime_rotation": {"report": {"bootstrap": 50}},
}


def _cfg(name):
    base = load_config(f"{name}_demo")
    for k, v in SMALL[name].items():
        base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return base


@pytest.fixture(scope="module")
def demo(small_bundle, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return run_demo(out, bundle=small_bundle.path, configs={n: _cfg(n) for n in SMALL})


def test_demo_writes_one_comparison_report(demo):
    html = demo.report.read_text()
    assert "SYNTHETIC DATA" in html
    for name in SMALL:
        assert (demo.out_dir / name / "report.html").exists()
        assert f'href="{name}/report.html"' in html
    assert list(demo.summary.index) == list(SMALL)
    # SW level-1 industry exposure: in each strategy's own report and, per strategy, in the comparison
    for name in SMALL:
        assert "SW level-1 industry exposure" in (demo.out_dir / name / "report.html").read_text(), name
    assert html.count("SW level-1 industry exposure: ") == len(SMALL)
    assert "No data bundle" not in html and "has no index_weights table" not in html
    assert demo.summary["annual_excess"].notna().all()
    man = json.loads((demo.out_dir / "manifest.json").read_text())
    assert man["synthetic"] is True and man["data_hash"]


def test_demo_latest_picks_are_real_holdings(demo):
    """The printed picks are exactly the saved result's last target row: the same codes, the same weights,
    and (every demo strategy is fully invested: equal weight / alpha weight with an equal-weight fallback) a
    weight sum of exactly 1."""
    from etfrot.backtest.result import Result

    for name, picks in demo.picks.items():
        res = Result.load(demo.out_dir / name / "result")
        d = res.targets.index[-1]
        last = res.targets.loc[d]
        held = last[last > 0]
        assert len(held) > 0, name
        assert (picks["signal_date"] == d).all(), name
        assert sorted(picks["code"]) == sorted(held.index), name
        np.testing.assert_allclose(picks.set_index("code")["target"].reindex(held.index).to_numpy(), held.to_numpy(),
                                   rtol=0, atol=1e-12, err_msg=name)
        assert picks["target"].sum() == pytest.approx(1.0, abs=1e-9), (name, picks["target"].sum())


def test_demo_cli_prints_summary_and_picks(small_bundle, tmp_path, monkeypatch):
    import etfrot.demo as d

    real = d.run_demo
    monkeypatch.setattr(d, "run_demo", lambda out, **kw: real(out, bundle=small_bundle.path, configs={n: _cfg(n) for n in SMALL}))
    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert r.exit_code == 0, r.output
    assert "SYNTHETIC" in r.output and "annual excess" in r.output and "Latest picks" in r.output
