"""YAML configs: validated models, unknown keys and bad values named with what is allowed (SPEC §9, §10)."""

from __future__ import annotations

import datetime as dt

import pytest

from etfrot.config import (
    CONFIG_MODELS,
    BacktestConfig,
    StrictModel,
    config_dict,
    load_config,
    register_config,
)
from etfrot.errors import ConfigError

YAML = """
name: demo
bundle: bundles/synthetic
universe: {kind: etf, categories: [industry_theme], min_aum: 1.0e8}
scores: {source: factor, factors: [mom20, bias]}
selection: {method: top_n, n: 5}
frequency: monthly
execution: next_open
costs: {fee_per_side: 0.001, slippage: 0.0002}
benchmark: {kind: equal_weight, rebalance: weekly}
start: 2015-01-01
"""


def test_yaml_file_loads_with_defaults_filled(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(YAML)
    c = load_config(p)
    assert isinstance(c, BacktestConfig)
    assert c.universe.categories == ["industry_theme"] and c.universe.min_listed_months == 3
    assert c.scores.factors == ["mom20", "bias"] and c.selection.n == 5
    assert c.costs.fee_per_side == 0.001 and c.execution.price == "next_open" and c.frequency == "monthly"
    assert c.start == dt.date(2015, 1, 1) and c.end is None
    d = config_dict(c)
    assert d["start"] == "2015-01-01" and d["benchmark"]["kind"] == "equal_weight"
    assert load_config(d) == c  # round trip


def test_defaults_follow_seed_000():
    c = load_config({})
    assert c.costs.fee_per_side == 0.0005  # 0.1 % round trip
    assert c.benchmark.kind == "total_return" and c.benchmark.code == "000300.SH"
    assert c.execution.price == "next_close" and c.frequency == "weekly"


def test_unknown_key_names_the_key_and_the_allowed_ones():
    with pytest.raises(ConfigError) as e:
        load_config({"universe": {"kind": "etf", "min_aum_cny": 1e8}})
    msg = str(e.value)
    assert "unknown key 'universe.min_aum_cny'" in msg
    assert "min_aum" in msg and "min_listed_months" in msg and "one_per_index" in msg
    with pytest.raises(ConfigError, match=r"unknown key 'fees'.*allowed keys: \[.*'costs'"):
        load_config({"fees": 0.001})


def test_bad_values_name_path_value_and_all_problems(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("costs: {fee_per_side: -0.1}\nselection: {method: best}\nfrequency: hourly\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert str(p) in msg and "3 problems" in msg
    assert "'costs.fee_per_side'" in msg and "-0.1" in msg
    assert "'selection.method'" in msg and "'top_n', 'top_quantile' or 'mmr'" in msg
    assert "'frequency'" in msg and "hourly" in msg


def test_cross_field_rules():
    with pytest.raises(ConfigError, match="needs scores.path"):
        load_config({"scores": {"source": "file"}})
    with pytest.raises(ConfigError, match="start .* before end"):
        load_config({"start": "2020-01-01", "end": "2019-01-01"})
    with pytest.raises(ConfigError, match="2 factors"):
        load_config({"scores": {"factors": ["a", "b"], "weights": [1.0]}})


def test_bad_yaml_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    p = tmp_path / "x.yaml"
    p.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
    p.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(p)


def test_strategies_extend_and_register_their_config():
    class ExtraSection(StrictModel):
        lam: float = 0.5

    @register_config("test_extended")
    class Extended(BacktestConfig):
        mmr: ExtraSection = ExtraSection()

    try:
        c = load_config({"strategy": "test_extended", "mmr": {"lam": 0.7}, "selection": {"n": 3}})
        assert isinstance(c, Extended) and c.mmr.lam == 0.7 and c.selection.n == 3
        with pytest.raises(ConfigError, match=r"unknown key 'mmr.lambda'.*\['lam'\]"):
            load_config({"strategy": "test_extended", "mmr": {"lambda": 0.7}})
        with pytest.raises(ConfigError, match="unknown key 'mmr'"):
            load_config({"mmr": {"lam": 0.7}})  # the plain backtest has no such section
    finally:
        CONFIG_MODELS.pop("test_extended", None)
    with pytest.raises(ConfigError, match="unknown strategy 'test_extended'"):
        load_config({"strategy": "test_extended"})
