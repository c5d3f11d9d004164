"""The factor registry: every factor is a named, documented function of point-in-time inputs.

A factor function takes an :class:`etfrot.factors.inputs.Inputs` (point-in-time panels of one
entity level drawn from a bundle) plus keyword parameters and returns a date × code panel.
It is registered with :func:`factor`, which records its category, native level, direction, the
bundle columns it needs and the formula (the docstring's first line). SPEC §2; seed 001 §3 table 3.

Native level (where the formula is evaluated):
- ``"index"``: on the entity's own series (an index's bars and valuation; also works on a stock's
  or an ETF's own bars): momentum, RSI, BIAS, crowding, valuation bubble, inflation beta…
- ``"stock"``: on stock-level tables (fundamentals, flows); an index with rows of its own in those
  tables uses them, any other index gets its constituents' weighted aggregate (SPEC §2.5).
- ``"constituents"``: compares an index with its constituents (leader effect); index/ETF only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from etfrot.errors import ConfigError

CATEGORIES = ("price_volume", "fundamental", "flow", "style")
LEVELS = ("index", "stock", "constituents")


@dataclass(frozen=True)
class FactorSpec:
    """What the registry knows about one factor."""

    name: str
    func: Callable[..., pd.DataFrame]
    category: str
    level: str
    direction: int
    needs: tuple[str, ...]
    sets: tuple[str, ...] = ()
    label: str = ""  # display name as in the seeds' tables (e.g. "EPS 增速")
    params: dict = field(default_factory=dict)

    @property
    def formula(self) -> str:
        """First line of the docstring: the formula."""
        doc = inspect.getdoc(self.func) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.func) or ""

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n.split(".")[0] for n in self.needs))


REGISTRY: dict[str, FactorSpec] = {}


def factor(
    name: str,
    *,
    category: str,
    level: str,
    direction: int = 1,
    needs: tuple[str, ...] = (),
    sets: tuple[str, ...] = (),
    label: str = "",
) -> Callable:
    """Decorator registering ``func(inputs, **params) -> panel`` as factor ``name``.

    ``needs`` lists ``"table.column"`` (or ``"table"``) entries the factor reads; ``direction`` is +1
    when a higher value is expected to predict a higher return, −1 otherwise. ``sets`` tags the
    factor as a member of named sets (``seed001``, ``seed002``) used by strategies and the CLI.
    """
    if category not in CATEGORIES:
        raise ConfigError(f"factor {name!r}: unknown category {category!r}; use one of {CATEGORIES}")
    if level not in LEVELS:
        raise ConfigError(f"factor {name!r}: unknown level {level!r}; use one of {LEVELS}")
    if direction not in (1, -1):
        raise ConfigError(f"factor {name!r}: direction must be +1 or -1, got {direction!r}")

    def deco(func: Callable) -> Callable:
        if name in REGISTRY and REGISTRY[name].func.__qualname__ != func.__qualname__:
            raise ConfigError(f"factor {name!r} is registered twice ({REGISTRY[name].func.__module__} and {func.__module__})")
        sig = inspect.signature(func)
        params = {k: p.default for k, p in list(sig.parameters.items())[1:] if p.default is not inspect.Parameter.empty}
        REGISTRY[name] = FactorSpec(name, func, category, level, direction, tuple(needs), tuple(sets), label or name, params)
        func.factor_name = name
        return func

    return deco


def get_factor(name: str) -> FactorSpec:
    """The spec of a registered factor; ConfigError listing the known names otherwise."""
    _load()
    try:
        return REGISTRY[name]
    except KeyError:
        close = [n for n in REGISTRY if name.lower() in n.lower() or n.lower() in name.lower()]
        hint = f" Did you mean {close}?" if close else ""
        raise ConfigError(f"unknown factor {name!r}.{hint} Known factors: {sorted(REGISTRY)} "
                          "(`etfrot factor list` shows them with their formulas).") from None


def list_factors(category: str | None = None, set_name: str | None = None) -> list[FactorSpec]:
    """Registered factors in registration order, optionally filtered by category or set."""
    _load()
    out = list(REGISTRY.values())
    if category is not None:
        if category not in CATEGORIES:
            raise ConfigError(f"unknown factor category {category!r}; use one of {CATEGORIES}")
        out = [s for s in out if s.category == category]
    if set_name is not None:
        out = [s for s in out if set_name in s.sets]
        if not out:
            raise ConfigError(f"no factor belongs to set {set_name!r}; sets: {sorted(factor_sets())}")
    return out


def factor_sets() -> dict[str, list[str]]:
    """Named sets → factor names (e.g. ``seed001``: the 15 factors of seed 001 table 4)."""
    _load()
    sets: dict[str, list[str]] = {}
    for s in REGISTRY.values():
        for t in s.sets:
            sets.setdefault(t, []).append(s.name)
    return sets


def resolve_names(names) -> list[str]:
    """Expand ``all``, a category name or a set name into factor names; check every name exists."""
    _load()
    if isinstance(names, str):
        names = [names]
    out: list[str] = []
    sets = factor_sets()
    for n in names:
        for part in str(n).split(","):
            part = part.strip()
            if not part:
                continue
            if part == "all":
                out += list(REGISTRY)
            elif part in CATEGORIES:
                out += [s.name for s in list_factors(category=part)]
            elif part in sets:
                out += sets[part]
            else:
                out.append(get_factor(part).name)
    if not out:
        raise ConfigError("no factor named; give factor names, a category, a set or 'all'")
    return list(dict.fromkeys(out))


def _load() -> None:
    """Import the factor modules so that their decorators have run."""
    from etfrot.factors import flow, fundamental, price_volume, style  # noqa: F401
