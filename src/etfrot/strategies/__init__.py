"""Strategies: short functions wiring factors → selection → weights → backtest → report (SPEC §8).

``STRATEGIES`` maps a strategy name (the ``strategy:`` key of a YAML config) to the module that
implements it. Each module exposes::

    run(bundle, config, out_dir=None) -> (result, sections)   # one ordinary run
    validate_config(config: dict) -> pydantic model           # clear errors on unknown keys / bad values

Modules are imported lazily (``get_strategy``), so ``import etfrot.strategies`` stays cheap and a
strategy whose optional dependencies are missing does not break the others. Add a strategy with
``register(name, module)`` or one line in ``STRATEGIES`` (keep this file additive).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from etfrot.errors import ConfigError

#: strategy name → module path (imported on first use)
STRATEGIES: dict[str, str] = {
    "agru_index_rotation": "etfrot.strategies.agru_index_rotation",
    "regime_rotation": "etfrot.strategies.regime_rotation",
    "cluster_multifactor": "etfrot.strategies.cluster_multifactor",
    "backtest": "etfrot.backtest.runner",
}


def register(name: str, module: str) -> None:
    """Register (or replace) a strategy module under ``name``."""
    STRATEGIES[name] = module


def get_strategy(name: str) -> ModuleType:
    """The module implementing strategy ``name`` (ConfigError naming the known ones otherwise)."""
    if name not in STRATEGIES:
        raise ConfigError(f"unknown strategy {name!r}; known strategies: {sorted(STRATEGIES)} "
                          "(set `strategy:` in the config to one of them)")
    return importlib.import_module(STRATEGIES[name])


def load_config(path_or_name) -> dict:
    """Read a strategy config: a YAML file path, or the name of a shipped config in ``etfrot/configs``
    (e.g. ``regime_rotation`` or ``regime_rotation_demo``). Returns the raw mapping (validate it with
    the strategy's ``validate_config``)."""
    from pathlib import Path

    import yaml

    p = Path(path_or_name)
    if not p.exists():
        shipped = Path(__file__).resolve().parent.parent / "configs" / f"{p.stem if p.suffix in ('.yaml', '.yml') else p.name}.yaml"
        if not shipped.exists():
            names = sorted(q.stem for q in shipped.parent.glob("*.yaml")) if shipped.parent.is_dir() else []
            raise ConfigError(f"config {str(path_or_name)!r} not found (no such file, and no shipped config of that "
                              f"name; shipped: {names})")
        p = shipped
    try:
        cfg = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML ({e})") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"{p}: a config must be a YAML mapping (got {type(cfg).__name__})")
    return cfg
