"""The Ray backend on a local Ray (2 CPUs): sweeps and model fits equal the local runs; shipped bundles;
a worker that dies is retried. Skipped only where Ray cannot be imported (CI installs the `ray` extra)."""

from __future__ import annotations

import os

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from _history_helpers import learnt

ray = pytest.importorskip("ray", reason="Ray is not installed here: pip install -e '.[ray]' to run the Ray backend tests")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """A local Ray with 2 CPUs for this module; shipped bundles land in a temp folder of this test session."""
    from etfrot.parallel import SHIP_DIR_ENV

    ship_dir = tmp_path_factory.mktemp("ray-ship")
    old = os.environ.get(SHIP_DIR_ENV)
    os.environ[SHIP_DIR_ENV] = str(ship_dir)  # workers inherit the driver's environment at ray.init
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ship_dir
    ray.shutdown()
    if old is None:
        os.environ.pop(SHIP_DIR_ENV, None)
    else:
        os.environ[SHIP_DIR_ENV] = old


@pytest.mark.parametrize("ship", [False, True], ids=["shared-path", "ship-bundle"])
def test_sweep_on_ray_equals_the_process_pool(local_ray, null_bundle, ship):
    from etfrot.sweep import run_sweep

    base = {"strategy": "regime_rotation", "bundle": str(null_bundle.path)}
    grid = {"selection.n": [3, 5], "costs.fee_per_side": [0.0, 0.001]}
    pool = run_sweep(base, grid, jobs=2, backend="process", progress=False)
    on_ray = run_sweep(base, grid, backend="ray", ship_bundle=ship, progress=False)
    assert pool["error"].isna().all() and len(pool) == 4
    pd.testing.assert_frame_equal(on_ray.drop(columns="seconds"), pool.drop(columns="seconds"), check_exact=True)
    if ship:  # the workers wrote the shipped copy under the ship folder and read it
        from etfrot.data import Bundle

        shipped = local_ray / "etfrot-bundles" / null_bundle.content_hash
        assert Bundle.open(shipped).content_hash == null_bundle.content_hash


def test_a_sweep_worker_that_dies_is_retried(local_ray, tmp_path):
    from etfrot.sweep import run_sweep

    marker = tmp_path / "died-once"

    def flaky(cfg):  # defined here so Ray pickles it by value; only the first attempt of cell seed=1 dies
        import os as _os

        if cfg["seed"] == 1 and not marker.exists():
            marker.touch()
            _os._exit(1)
        return {"value": 2.0 * cfg["seed"], "pid": _os.getpid()}

    t = run_sweep({"seed": 0}, {"seed": [0, 1, 2]}, flaky, backend="ray", progress=False)
    assert marker.exists(), "the flaky cell never ran"
    assert t["error"].isna().all() and t["value"].tolist() == [0.0, 2.0, 4.0]
    assert os.getpid() not in set(t["pid"])  # cells ran in Ray workers


def _train_config(tmp_path, bundle, name: str) -> str:
    cfg = {"name": name, "bundle": str(bundle.path), "out": str(tmp_path / name),
           "model": {"hidden_size": 4, "num_layers": 1, "seeds": 2, "epochs": 1, "train_date_stride": 10,
                     "valid_date_stride": 5, "num_threads": 1, "device": "cpu"},
           "window": {"lookback": 20, "horizon": 5},
           "split": {"scheme": "walk_forward", "test_start": "2015-07-01", "test_end": "2016-12-31", "valid_years": 1},
           "evaluate": {"pools": ["all"], "freq": "monthly", "quantiles": 5, "compare": ["mse"]}}
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return str(p)


def _outputs(out):
    scores = {v: pd.read_parquet(out / "scores" / f"{v}.parquet") for v in ("agru", "mse")}
    return scores, pd.read_csv(out / "history.csv")


@pytest.fixture(scope="module")
def serial_training(tmp_path_factory, small_bundle):
    from etfrot.cli import app

    tmp = tmp_path_factory.mktemp("train-serial")
    r = CliRunner().invoke(app, ["model", "train", _train_config(tmp, small_bundle, "serial")])
    assert r.exit_code == 0, r.output
    return _outputs(tmp / "serial")


@pytest.mark.parametrize("ship", [False, True], ids=["shared-path", "ship-bundle"])
def test_model_train_on_ray_equals_serial(local_ray, small_bundle, serial_training, tmp_path, ship):
    """2 variants × 2 walk-forward years × 2 seeds = 8 fits as Ray tasks: the same scores and histories."""
    from etfrot.cli import app

    args = ["model", "train", _train_config(tmp_path, small_bundle, "ray"), "--backend", "ray"]
    r = CliRunner().invoke(app, args + (["--ship-bundle"] if ship else []))
    assert r.exit_code == 0, r.output
    scores, hist = _outputs(tmp_path / "ray")
    ref_scores, ref_hist = serial_training
    assert sorted(hist["fold"].unique()) == ["2015-07-01", "2016-01-01"] and sorted(hist["seed"].unique()) == [0, 1]
    for v in ("agru", "mse"):
        pd.testing.assert_frame_equal(scores[v], ref_scores[v], check_exact=True)
    pd.testing.assert_frame_equal(learnt(hist), learnt(ref_hist), check_exact=True)
    assert scores["agru"].notna().sum().sum() > 1000
    shipped = local_ray / "etfrot-bundles" / small_bundle.content_hash / "manifest.json"
    assert shipped.exists() or not ship  # with --ship-bundle the workers read (and wrote) their own copy


def test_a_model_fit_whose_worker_dies_is_retried(local_ray, small_bundle, tmp_path):
    """One fit's worker exits on its first attempt; Ray reruns it and the merged models equal a serial run."""
    from etfrot.model.config import ModelConfig, SplitConfig, WindowConfig
    from etfrot.model.dataset import WindowDataset
    from etfrot.model.parallel import fit_task, fit_variants, merge_fits, plan_fits
    from etfrot.parallel import bundle_source, run_tasks

    m = ModelConfig(hidden_size=4, num_layers=1, seeds=2, epochs=1, train_date_stride=10, valid_date_stride=5,
                    num_threads=1, device="cpu")
    w = WindowConfig(lookback=20, horizon=5)
    split = SplitConfig(scheme="fixed", train_end="2014-12-31", valid_end="2015-06-30")
    ds = WindowDataset.from_bundle(small_bundle, lookback=20, horizon=5)
    marker = tmp_path / "died-once"

    def dies_once(task):
        import os as _os

        if task.seed == 1 and not marker.exists():
            marker.touch()
            _os._exit(1)
        return fit_task(task)

    tasks = plan_fits({"agru": m}, w, split, ds.dates, bundle_source(small_bundle))
    results = run_tasks(dies_once, tasks, backend="ray")
    assert marker.exists(), "the dying fit never ran"
    assert os.getpid() not in {r.pid for r in results}
    run = merge_fits({"agru": m}, tasks, results, ds)["agru"]
    ref = fit_variants(small_bundle, {"agru": m}, w, split, dataset=ds, progress=False)["agru"]
    pd.testing.assert_frame_equal(run.scores, ref.scores, check_exact=True)
    pd.testing.assert_frame_equal(learnt(run.history), learnt(ref.history), check_exact=True)


def test_a_failing_fit_raises_its_own_error(local_ray):
    from etfrot.errors import ConfigError
    from etfrot.parallel import run_tasks

    def bad(x):
        from etfrot.errors import ConfigError as E

        raise E(f"bad task {x}")

    with pytest.raises(ConfigError, match="bad task 1"):
        run_tasks(bad, [1], backend="ray")
