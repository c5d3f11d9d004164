"""Parameter sweeps (SPEC §7 "parameter sweeps … in one call, run in parallel locally, and on a Ray
cluster"): the cartesian grid of dotted-key overrides of one config, each cell an ordinary run.

    grid = {"portfolio.top_n": [2, 3, 4], "backtest.fee_per_side": [0.0005, 0.001]}
    table = run_sweep(config, grid, jobs=2)            # strategy from config["strategy"]
    table = run_sweep(config, grid, run_fn=my_fn)      # any picklable fn(config) -> metrics

Cells run here, in a local process pool (each worker opens the bundle once and reuses it; a cell
ships only its small config dict) or, with ``backend="ray"``, as Ray tasks (``pip install
'etfrot[ray]'``; ``address`` / ``RAY_ADDRESS`` picks the cluster; the bundle path must be readable on
every node, or ``ship_bundle`` sends it through Ray's object store); see :mod:`etfrot.parallel`.
A failing cell is recorded in the ``error`` column and the others go on. Results do not depend on
``jobs`` or the backend: every cell is a deterministic function of its config.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import itertools
import json
import os
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from etfrot.errors import ConfigError, EtfrotError
from etfrot.parallel import BACKENDS, open_bundle_cached  # noqa: F401  (re-exported: sweep backends)

PERCENT_METRICS = {"annual_return", "annual_excess", "annual_volatility", "max_drawdown", "excess_max_drawdown",
                   "tracking_error", "cumulative_return", "win_rate", "cost_drag"}


# --------------------------------------------------------------------------- grid
def parse_grid(specs: Iterable[str]) -> dict[str, list]:
    """``["portfolio.top_n=2..8", "cost=0.0005,0.001"]`` → {key: [values]} (YAML scalars; ``a..b`` = int range)."""
    import yaml

    grid: dict[str, list] = {}
    for spec in specs:
        if "=" not in spec:
            raise ConfigError(f"--grid {spec!r}: expected KEY=V1,V2,… (e.g. portfolio.top_n=2,3,4 or portfolio.top_n=2..8)")
        key, _, vals = spec.partition("=")
        key = key.strip()
        if not key or not vals.strip():
            raise ConfigError(f"--grid {spec!r}: empty key or value list")
        if key in grid:
            raise ConfigError(f"--grid: key {key!r} given twice; put all its values in one --grid")
        out: list = []
        for item in vals.split(","):
            item = item.strip()
            if ".." in item and all(p.strip().lstrip("-").isdigit() for p in item.split("..", 1)):
                a, b = (int(p) for p in item.split("..", 1))
                if b < a:
                    raise ConfigError(f"--grid {spec!r}: empty range {item}")
                out.extend(range(a, b + 1))
            else:
                try:
                    out.append(yaml.safe_load(item))
                except yaml.YAMLError as e:
                    raise ConfigError(f"--grid {spec!r}: cannot read value {item!r} ({e})") from None
        grid[key] = out
    return grid


def set_dotted(config: Mapping, key: str, value: Any, *, create: bool = False) -> dict:
    """A deep copy of ``config`` with ``a.b.c`` set to ``value``.

    With ``create=False`` the key must already exist (catches typos when no validator is given).
    """
    out = copy.deepcopy(dict(config))
    node = out
    parts = key.split(".")
    for i, p in enumerate(parts[:-1]):
        if p not in node or node[p] is None:
            if not create:
                raise ConfigError(f"grid key {key!r}: config has no section {'.'.join(parts[:i + 1])!r} "
                                  f"(it has {sorted(node)})")
            node[p] = {}
        if not isinstance(node[p], dict):
            raise ConfigError(f"grid key {key!r}: {'.'.join(parts[:i + 1])!r} is a value, not a section")
        node = node[p]
    if not create and parts[-1] not in node:
        raise ConfigError(f"grid key {key!r}: unknown key {parts[-1]!r} (known here: {sorted(node)})")
    node[parts[-1]] = value
    return out


def grid_cells(grid: Mapping[str, list]) -> list[dict[str, Any]]:
    """Cartesian product of the grid, first key varying slowest: [{key: value, …}, …]."""
    if not grid:
        raise ConfigError("empty grid: give at least one --grid KEY=V1,V2,…")
    for k, v in grid.items():
        if not isinstance(v, (list, tuple)) or len(v) == 0:
            raise ConfigError(f"grid key {k!r} needs a non-empty list of values (got {v!r})")
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def cell_configs(base_config: Mapping, grid: Mapping[str, list],
                 validate: Callable[[dict], Any] | None = None) -> list[tuple[dict, dict]]:
    """(params, config) per cell; every config is validated BEFORE anything runs (fail fast)."""
    cells = []
    for params in grid_cells(grid):
        cfg = dict(base_config)
        for k, v in params.items():
            cfg = set_dotted(cfg, k, v, create=validate is not None)
        if validate is not None:
            try:
                validate(cfg)
            except EtfrotError as e:
                raise ConfigError(f"sweep cell {params}: {e}") from None
        cells.append((params, cfg))
    return cells


# --------------------------------------------------------------------------- running one cell
def metrics_of(result: Any) -> dict[str, Any]:
    """Flatten a run's key metrics to {name: scalar}: dict, Series, one-column frame or ``.metrics()``."""
    if hasattr(result, "metrics") and callable(result.metrics):
        try:
            result = result.metrics(ci=False)  # point estimates: no bootstrap per cell
        except TypeError:
            result = result.metrics()
    if isinstance(result, pd.DataFrame):
        if result.shape[1] == 1:
            result = result.iloc[:, 0]
        else:  # metric × variant → "variant:metric"
            result = {f"{c}:{i}": result.at[i, c] for c in result.columns for i in result.index}
    if isinstance(result, pd.Series):
        result = result.to_dict()
    if not isinstance(result, Mapping):
        raise EtfrotError(f"a sweep cell must return metrics as a dict/Series (got {type(result).__name__})")
    return {str(k): (v.item() if hasattr(v, "item") else v) for k, v in result.items()}


class StrategyCell:
    """Picklable cell function for a registered strategy: open the bundle, run, return its metrics.

    ``reports_dir``: when set, each cell also writes its ordinary report under
    ``reports_dir/cell-<hash of config>/`` (and the path is returned as ``report``).
    """

    def __init__(self, strategy: str, reports_dir: str | None = None) -> None:
        self.strategy, self.reports_dir = strategy, reports_dir

    def __call__(self, config: dict) -> dict[str, Any]:
        from etfrot.strategies import get_strategy

        mod = get_strategy(self.strategy)
        if not config.get("bundle"):
            raise ConfigError("config has no `bundle:` path; set it or pass --bundle")
        bundle = open_bundle_cached(config["bundle"])
        out_dir = None
        if self.reports_dir:
            h = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:10]
            out_dir = str(Path(self.reports_dir) / f"cell-{h}")
        kw = {}
        if out_dir is None and "report" in inspect.signature(mod.run).parameters:
            kw["report"] = False  # no figures or bootstrap for a cell nobody will read
        result, _sections = mod.run(bundle, config, out_dir=out_dir, **kw)
        m = mod.sweep_metrics(result) if hasattr(mod, "sweep_metrics") else metrics_of(result)
        if out_dir:
            m["report"] = str(Path(out_dir) / "report.html")
        return m


def _run_one(run_fn: Callable[[dict], Any], config: dict) -> tuple[dict, float, str | None]:
    t0 = time.perf_counter()
    try:
        return metrics_of(run_fn(config)), time.perf_counter() - t0, None
    except Exception as e:  # noqa: BLE001  (a cell's failure is data; the sweep goes on)
        last = traceback.format_exception_only(type(e), e)[-1].strip()
        return {}, time.perf_counter() - t0, last


class ShippedBundleCell:
    """``run_fn`` with the config's ``bundle:`` replaced by this node's copy of a shipped bundle (Ray)."""

    def __init__(self, run_fn: Callable[[dict], Any], source) -> None:
        self.run_fn, self.source = run_fn, source

    def __call__(self, config: dict) -> Any:
        return self.run_fn({**config, "bundle": self.source.local_path()})


class _Cell:
    """One cell as a task: ``run_fn(config)`` → (metrics, seconds, error)."""

    def __init__(self, run_fn: Callable[[dict], Any]) -> None:
        self.run_fn = run_fn

    def __call__(self, config: dict) -> tuple[dict, float, str | None]:
        return _run_one(self.run_fn, config)


# --------------------------------------------------------------------------- the sweep
def run_sweep(base_config: Mapping, grid: Mapping[str, list], run_fn: Callable[[dict], Any] | None = None, *,
              jobs: int = 1, backend: str = "process", progress: bool = True,
              validate: Callable[[dict], Any] | None = None, reports_dir: str | None = None,
              warm_start: bool = True, ship_bundle: bool = False, address: str | None = None) -> pd.DataFrame:
    """Run every cell of ``grid`` (dotted keys over ``base_config``) and return one comparison table.

    ``run_fn(config) -> metrics`` (dict / Series / object with ``.metrics()``); default: the strategy
    named by ``base_config["strategy"]`` from :data:`etfrot.strategies.STRATEGIES`, validated with its
    ``validate_config``. Table: one row per cell (grid order): the grid keys, the metrics, ``seconds``
    and ``error`` (None when the cell succeeded). ``backend``: serial | process (``jobs`` local workers)
    | ray (:mod:`etfrot.parallel`; ``address`` or ``RAY_ADDRESS`` picks the cluster). ``ship_bundle``
    (ray): send the config's bundle through Ray's object store instead of reading its path on every
    node. ``warm_start`` runs the first cell in this process so that forked workers inherit its caches.
    """
    from etfrot.parallel import bundle_source, check_backend, run_tasks

    check_backend(backend, jobs)
    if ship_bundle and backend != "ray":
        raise ConfigError("ship_bundle (--ship-bundle) needs backend='ray'; local workers read the bundle's path")
    if run_fn is None:
        from etfrot.strategies import get_strategy

        name = base_config.get("strategy")
        if not name:
            raise ConfigError("config has no `strategy:` key; name the strategy to sweep")
        mod = get_strategy(name)
        validate = validate or getattr(mod, "validate_config", None)
        run_fn = StrategyCell(name, reports_dir)
    cells = cell_configs(base_config, grid, validate)
    configs = [c for _, c in cells]
    if ship_bundle:
        if not base_config.get("bundle"):
            raise ConfigError("ship_bundle: the config has no `bundle:` path to ship; set it or pass --bundle")
        run_fn = ShippedBundleCell(run_fn, bundle_source(open_bundle_cached(base_config["bundle"]), ship=True,
                                                         address=address))
    outs = run_tasks(_Cell(run_fn), configs, backend=backend, jobs=jobs, progress=progress,
                     what="sweep", first_here=warm_start, address=address)
    rows = []
    for (params, _), (metrics, secs, err) in zip(cells, outs):
        rows.append({**params, **metrics, "seconds": secs, "error": err})
    table = pd.DataFrame(rows)
    table.index = pd.RangeIndex(len(table), name="cell")
    # grid keys first, then metrics in first-seen order, then seconds/error
    front = list(grid)
    back = ["seconds", "error"]
    table = table[front + [c for c in table.columns if c not in front + back] + back]
    return table


# --------------------------------------------------------------------------- output
def write_sweep(table: pd.DataFrame, out_dir, *, title: str, synthetic: bool, data_label: str,
                config: Mapping | None = None, grid: Mapping[str, list] | None = None,
                metric: str | None = None) -> Path:
    """Write ``sweep.csv`` and an HTML report with the comparison table (and a heat map of ``metric``
    when the grid has exactly two keys). Returns the report path."""
    from etfrot.report import Section, write_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".sweep.csv.tmp"
    table.to_csv(tmp)
    os.replace(tmp, out / "sweep.csv")
    figs = []
    keys = list(grid or [])
    ok = table[table["error"].isna()] if "error" in table else table
    if metric is None:
        metric = next((c for c in ("annual_excess", "information_ratio", "sharpe", "annual_return") if c in ok.columns), None)
    if len(keys) == 2 and metric in ok.columns and len(ok):
        from etfrot.report import charts

        piv = ok.pivot_table(index=keys[0], columns=keys[1], values=metric, aggfunc="mean")
        piv.index.name, piv.columns.name = keys[0], keys[1]
        v = piv.to_numpy(float)
        lim = max(float(np.nanmax(np.abs(v))), 1e-12) if np.isfinite(v).any() else 1.0
        pct = metric in PERCENT_METRICS
        fig = charts.heatmap(piv, title=f"{metric} by {keys[0]} (rows) × {keys[1]} (columns)", synthetic=synthetic,
                             annotate=True, cmap="RdYlGn", vmin=-lim, vmax=lim, fmt="{:.1%}" if pct else "{:.3f}")
        figs.append(fig)
        heat = piv
    else:
        heat = None
    failed = int(table["error"].notna().sum()) if "error" in table else 0
    text = (f"{len(table)} cells over {', '.join(keys) or 'the grid'}; each cell is an ordinary run of the "
            f"config with those keys overridden. {failed} cell(s) failed (see the error column).")
    tables = {"cells": table}
    if heat is not None:
        tables[f"{metric} by {keys[0]} × {keys[1]}"] = heat
    sections = [Section("Sweep comparison", text, tables=tables, figures=figs)]
    return write_report(out, title=title, synthetic=synthetic, data_label=data_label, sections=sections,
                        config={"base": dict(config or {}), "grid": dict(grid or {})})
