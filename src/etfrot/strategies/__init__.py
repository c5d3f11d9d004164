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
    "backtest": "etfrot.strategies.runner",
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
    from etfrot.config import read_yaml

    return read_yaml(path_or_name)
