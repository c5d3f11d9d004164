"""Factors (SPEC §2): a registry of named, documented point-in-time factor functions, computed at
stock, index (own data or aggregated constituents, SPEC §2.5) or ETF level (the tracked index).

    from etfrot.factors import compute_factor, list_factors
    panel = compute_factor("mom250", bundle, level="etf")          # date × ETF code
"""

from etfrot.factors import flow, fundamental, price_volume, style  # noqa: F401  (register the factors)
from etfrot.factors.aggregate import aggregate_to_index, etf_level, top_k_equal
from etfrot.factors.engine import FactorEngine, compute_factor, compute_factors
from etfrot.factors.inputs import Inputs
from etfrot.factors.registry import (
    CATEGORIES,
    REGISTRY,
    FactorSpec,
    factor,
    factor_sets,
    get_factor,
    list_factors,
    resolve_names,
)

SEED001_FACTORS = tuple(factor_sets()["seed001"])
STYLE_FACTORS = tuple(factor_sets()["seed002"])

__all__ = [
    "CATEGORIES", "REGISTRY", "FactorSpec", "FactorEngine", "Inputs", "SEED001_FACTORS", "STYLE_FACTORS",
    "aggregate_to_index", "compute_factor", "compute_factors", "etf_level", "factor", "factor_sets", "get_factor",
    "list_factors", "resolve_names", "top_k_equal",
]
