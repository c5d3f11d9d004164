"""YAML configs → validated pydantic models (SPEC §9: "configs in YAML, validated, with clear messages").

A backtest config names the data, the universe, where the scores come from, how to select, how often,
the costs, the benchmark and the execution price::

    strategy: backtest            # which model validates the file (strategies register their own)
    name: mom20_top10_weekly
    bundle: bundles/synthetic     # or give `synth:` to build a synthetic bundle there when it is absent
    universe: {kind: etf, categories: [industry_theme], min_aum: 1.0e8, min_listed_months: 3}
    scores: {source: factor, factors: [mom20]}
    selection: {method: top_n, n: 10}
    frequency: weekly
    execution: next_close         # or {price: next_close, lot_size: 100, max_participation: 0.2}
    costs: {fee_per_side: 0.0005, slippage: 0.0}   # + min_fee: 5.0, stamp_duty: 0.0 with lots
    capital: 1.0e6                # CNY: the lot-based engine's account and the capacity report
    benchmark: {kind: total_return, code: 000300.SH}

``execution.lot_size`` switches on the lot-based engine (:mod:`etfrot.backtest.lots`: whole lots,
``costs.min_fee`` per order, ``costs.stamp_duty`` on sells, ``capital``); without it the weight-based
engine runs and the seeds' figures are unchanged.

Unknown keys and bad values raise :class:`~etfrot.errors.ConfigError` naming the key path, what was
given and what is allowed. Strategies extend :class:`BacktestConfig` (subclass it, add sections) and
register the subclass under their ``strategy:`` name with :func:`register_config`; every section
model here (``UniverseConfig`` …) is reusable on its own.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from etfrot.errors import ConfigError

Frequency = Literal["daily", "weekly", "monthly"]
Execution = Literal["next_close", "next_open", "same_close"]
Category = Literal["broad", "industry_theme", "strategy_style"]


class StrictModel(BaseModel):
    """Base of every config section: unknown keys are errors, values are validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SynthConfig(StrictModel):
    """Build a synthetic bundle at ``bundle`` when it does not exist yet (SPEC §1.4)."""

    size: Literal["small", "default", "large"] = "default"
    seed: int = 0
    signal: float = Field(1.0, ge=0.0)


class UniverseConfig(StrictModel):
    """What can be held: ETFs (screened, SPEC §5) or the indices themselves."""

    kind: Literal["etf", "index"] = "etf"
    codes: list[str] | None = None  # explicit list (still point-in-time: listed, with a price)
    categories: list[Category] = Field(default_factory=lambda: ["broad", "industry_theme", "strategy_style"])
    exclude_overseas: bool = True
    min_aum: float | None = Field(1e8, ge=0.0)  # CNY; None = no size rule
    min_listed_months: int | None = Field(3, ge=0)
    one_per_index: bool = True

    @field_validator("categories")
    @classmethod
    def _nonempty(cls, v):
        if not v:
            raise ValueError("give at least one category")
        return v


class ScoresConfig(StrictModel):
    """Where the scores come from: registered ``factor`` s (z-scored, direction-signed composite),
    a ``file`` (wide date × code CSV/Parquet), or ``random`` (seeded; the null strategy)."""

    source: Literal["factor", "file", "random"] = "factor"
    factors: list[str] = Field(default_factory=lambda: ["mom20"])
    weights: list[float] | None = None  # composite weights (default equal)
    path: str | None = None
    seed: int = 0

    @model_validator(mode="after")
    def _check(self):
        if self.source == "file" and not self.path:
            raise ValueError("scores.source 'file' needs scores.path (a CSV or Parquet panel, dates × codes)")
        if self.source == "factor" and not self.factors:
            raise ValueError("scores.source 'factor' needs at least one name in scores.factors")
        if self.weights is not None and len(self.weights) != len(self.factors):
            raise ValueError(f"scores.weights has {len(self.weights)} values for {len(self.factors)} factors")
        return self


class SelectionConfig(StrictModel):
    """How scores become weights (SPEC §6): top-N, top-quantile or MMR; equal or alpha weights."""

    method: Literal["top_n", "top_quantile", "mmr"] = "top_n"
    n: int | None = Field(10, ge=1)
    quantile: float = Field(0.1, gt=0.0, le=1.0)
    weighting: Literal["equal", "alpha"] = "equal"
    cap: float | None = Field(None, gt=0.0, le=1.0)
    lam: float = Field(0.5, ge=0.0, le=1.0)  # MMR λ
    window: int = Field(1250, ge=20)  # MMR correlation window (days)
    min_overlap: int = Field(250, ge=2)

    @model_validator(mode="after")
    def _check(self):
        if self.method == "top_n" and not self.n:
            raise ValueError("selection.method 'top_n' needs selection.n")
        return self


class CostsConfig(StrictModel):
    """Trading costs per side as fractions of traded value (seed 000: 0.1 % round trip ⇒ 0.0005); with lots
    also ``min_fee`` CNY per order (commission minimum) and ``stamp_duty`` on sells (0 for ETFs)."""

    fee_per_side: float = Field(0.0005, ge=0.0, lt=0.05)
    slippage: float = Field(0.0, ge=0.0, lt=0.05)
    min_fee: float = Field(0.0, ge=0.0)
    stamp_duty: float = Field(0.0, ge=0.0, lt=0.05)


class ExecutionConfig(StrictModel):
    """When trades happen and in what units: ``price`` next_close (default) / next_open / same_close;
    ``lot_size`` shares per lot (set it to run the lot-based engine, 100 on SSE/SZSE); ``max_participation``
    cap of each order as a fraction of the ETF's 20-day average traded amount (lot engine only).
    A plain string (``execution: next_open``) is the price."""

    price: Execution = "next_close"
    lot_size: int | None = Field(None, ge=1)
    max_participation: float | None = Field(None, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _check(self):
        if self.max_participation is not None and self.lot_size is None:
            raise ValueError("execution.max_participation caps orders of the lot-based engine; "
                             "set execution.lot_size too (e.g. 100)")
        return self


class BenchmarkConfig(StrictModel):
    """Benchmark (SPEC §7): index / etf (``code``), total_return (of the price index ``code``),
    equal_weight (of the universe), industry_equal_weight, none."""

    kind: Literal["index", "etf", "total_return", "equal_weight", "industry_equal_weight", "none"] = "total_return"
    code: str | None = "000300.SH"
    rebalance: Frequency = "daily"  # equal weight: daily or periodic rebalancing
    source: Literal["index", "sw"] = "index"  # industry equal weight: industry indices or SW L1 from stocks


class ReportConfig(StrictModel):
    title: str | None = None
    last_holdings: int = Field(8, ge=1)
    bootstrap: int = Field(1000, ge=50)
    block: int = Field(20, ge=1)
    seed: int = 0
    log_nav: bool = False


class BacktestConfig(StrictModel):
    """A whole config-driven backtest (``etfrot backtest CONFIG``). Subclass to extend."""

    strategy: str = "backtest"
    name: str = "backtest"
    bundle: str | None = None
    synth: SynthConfig | None = None
    universe: UniverseConfig = Field(default_factory=UniverseConfig)
    scores: ScoresConfig = Field(default_factory=ScoresConfig)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    frequency: Frequency = "weekly"
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    costs: CostsConfig = Field(default_factory=CostsConfig)
    capital: float = Field(1e6, gt=0.0)  # CNY (lot-based engine; capacity report)
    benchmark: BenchmarkConfig = Field(default_factory=BenchmarkConfig)
    start: dt.date | None = None
    end: dt.date | None = None
    report: ReportConfig = Field(default_factory=ReportConfig)

    @field_validator("execution", mode="before")
    @classmethod
    def _execution_string(cls, v):
        return {"price": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _dates(self):
        if self.start and self.end and self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        if (self.costs.min_fee > 0 or self.costs.stamp_duty > 0) and self.execution.lot_size is None:
            raise ValueError("costs.min_fee / costs.stamp_duty apply to orders in shares: set execution.lot_size "
                             "(e.g. 100) to run the lot-based engine, or leave them at 0")
        return self

    def lot_rules(self):
        """The :class:`etfrot.backtest.lots.LotRules` of this config, or None (weight-based engine)."""
        if self.execution.lot_size is None:
            return None
        from etfrot.backtest.lots import LotRules

        return LotRules(capital=self.capital, lot_size=self.execution.lot_size, min_fee=self.costs.min_fee,
                        stamp_duty=self.costs.stamp_duty, max_participation=self.execution.max_participation)


#: strategy name → config model (strategies add theirs with register_config)
CONFIG_MODELS: dict[str, type[BaseModel]] = {"backtest": BacktestConfig}


def register_config(name: str):
    """Class decorator: ``@register_config("my_strategy") class MyConfig(BacktestConfig): ...``."""
    def deco(cls):
        CONFIG_MODELS[name] = cls
        return cls
    return deco


SHIPPED = Path(__file__).resolve().parent / "configs"


def resolve_config(path_or_name: str | Path) -> Path:
    """A config file path, or the name of a shipped config in ``etfrot/configs`` (e.g. ``regime_rotation_demo``)."""
    p = Path(path_or_name)
    if p.is_file():
        return p
    shipped = SHIPPED / f"{p.stem if p.suffix in ('.yaml', '.yml') else p.name}.yaml"
    if p.parent == Path(".") and shipped.is_file():
        return shipped
    names = sorted(q.stem for q in SHIPPED.glob("*.yaml"))
    raise ConfigError(f"config {str(path_or_name)!r} not found (no such file, and no shipped config of that name; "
                      f"shipped: {names})")


def read_yaml(path: str | Path) -> dict:
    """A YAML file (or shipped config name) as a mapping (ConfigError on a missing file, bad YAML or a non-mapping)."""
    import yaml

    p = resolve_config(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML ({e})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: a config must be a YAML mapping of keys to values (got {type(data).__name__})")
    return data


def load_config(source: str | Path | dict, model: type[BaseModel] | None = None) -> BaseModel:
    """Validate a YAML file (path) or a mapping into ``model`` (default: chosen by its ``strategy:`` key
    from :data:`CONFIG_MODELS`, else :class:`BacktestConfig`). Raises ConfigError with every problem."""
    where = ""
    if isinstance(source, (str, Path)):
        where = f"{source}: "
        data = read_yaml(source)
    elif isinstance(source, dict):
        data = source
    else:
        raise ConfigError(f"a config is a YAML path or a mapping, not {type(source).__name__}")
    if model is None:
        name = data.get("strategy", "backtest")
        if name not in CONFIG_MODELS:
            raise ConfigError(f"{where}unknown strategy {name!r} at key 'strategy'; allowed: {sorted(CONFIG_MODELS)}")
        model = CONFIG_MODELS[name]
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ConfigError(where + format_errors(e, model)) from None


def validate_config(config: dict) -> BacktestConfig:
    """Strategy-interface hook (``etfrot.strategies``): validate a mapping as a :class:`BacktestConfig`."""
    return load_config(config, BacktestConfig)


def config_dict(cfg: BaseModel) -> dict[str, Any]:
    """JSON-ready mapping of a validated config (dates as ISO strings), for manifests and reports."""
    return cfg.model_dump(mode="json")


def format_errors(err: ValidationError, model: type[BaseModel]) -> str:
    """One line per problem: the key path, what is wrong, what was given, what is allowed."""
    lines = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"]]
        path = ".".join(loc) or "(top level)"
        if e["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, e["loc"][:-1])
            lines.append(f"unknown key '{path}'; allowed keys{' in ' + '.'.join(loc[:-1]) if loc[:-1] else ''}: {allowed}")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            given = e.get("input")
            shown = "" if isinstance(given, dict) else f" (got {given!r})"
            lines.append(f"bad value at '{path}': {msg}{shown}")
    n = len(lines)
    return f"{n} problem{'s' if n != 1 else ''} in the config:\n  " + "\n  ".join(lines)


def _allowed_keys(model: type[BaseModel], loc) -> list[str]:
    """Field names of the (nested) model at ``loc`` (list indices skipped)."""
    import typing

    cls = model
    for part in loc:
        if isinstance(part, int):
            continue
        f = cls.model_fields.get(part) if isinstance(cls, type) and issubclass(cls, BaseModel) else None
        if f is None:
            return []
        ann = f.annotation
        nxt = None
        for cand in (ann, *typing.get_args(ann)):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                nxt = cand
                break
            for sub in typing.get_args(cand):
                if isinstance(sub, type) and issubclass(sub, BaseModel):
                    nxt = sub
        if nxt is None:
            return []
        cls = nxt
    return sorted(cls.model_fields)
