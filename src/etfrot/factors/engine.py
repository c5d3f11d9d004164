"""Compute registered factors at the level asked for: stock, index or ETF (SPEC §2, §2.5).

- ``level="stock"``: the formula on stock data (stock pools, the AGRU comparison).
- ``level="index"``: native-``index`` factors on the index's own series; native-``stock`` factors on
  the index's own table rows where it has them, else the weighted aggregate of the stock values
  over the latest constituent snapshot ≤ t with a coverage panel and the minimum-coverage rule;
  ``constituents`` factors (leader effect) from both.
- ``level="etf"``: each ETF takes its tracked index's value (etf_info.tracked_index), NaN while the
  ETF is not listed. With ``etf_fallback`` (default on), an ETF whose tracked index has no value at
  all (no index bars in the bundle, common with real data) gets factors of native level ``index``
  computed on its own adjusted bars instead, with a note in ``engine.notes``.

A :class:`FactorEngine` caches inputs and stock-level panels, so computing many factors on one
bundle shares the work; :func:`compute_factor` is the one-call form.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.errors import ConfigError, DataMissingError
from etfrot.factors.aggregate import DEFAULT_MIN_COVERAGE, aggregate_to_index, etf_level, tracked_indices
from etfrot.factors.inputs import Inputs
from etfrot.factors.registry import FactorSpec, get_factor

LEVELS_OUT = ("stock", "index", "etf")


class FactorEngine:
    """Computes factors on one bundle, caching inputs and intermediate panels."""

    def __init__(self, bundle, *, min_coverage: float = DEFAULT_MIN_COVERAGE, etf_fallback: bool = True) -> None:
        self.bundle = bundle
        self.min_coverage = float(min_coverage)
        self.etf_fallback = bool(etf_fallback)
        self._family: dict[str, Inputs] = {}
        self._cache: dict = {}
        self.coverage: dict[tuple, pd.DataFrame] = {}
        self.notes: list[str] = []

    # ------------------------------------------------------------------ inputs
    def inputs(self, kind: str, codes=None) -> Inputs:
        if codes is None:
            if kind not in self._family:
                self._family[kind] = Inputs(self.bundle, kind, min_coverage=self.min_coverage, family=self._family)
            return self._family[kind]
        return Inputs(self.bundle, kind, codes, min_coverage=self.min_coverage, family=self._family)

    def _run(self, spec: FactorSpec, x: Inputs, params: dict) -> pd.DataFrame:
        unknown = set(params) - set(spec.params)
        if unknown:
            raise ConfigError(f"factor {spec.name!r} has no parameter(s) {sorted(unknown)}; it takes {spec.params}")
        try:
            out = spec.func(x, **params)
        except DataMissingError as e:
            raise DataMissingError(f"factor {spec.name!r} ({spec.label}) needs {list(spec.needs)} at {x.kind} level: {e}") from None
        out = out.astype(float)
        out.index.name, out.columns.name = "date", "code"
        return out

    # ------------------------------------------------------------------ levels
    def stock(self, name: str, **params) -> pd.DataFrame:
        """Date × stock panel of factor ``name`` on stock data."""
        spec = get_factor(name)
        if spec.level == "constituents":
            raise ConfigError(f"factor {name!r} compares an index with its constituents; it has no stock-level value "
                              "(ask for level='index' or 'etf').")
        key = ("stock", name, tuple(sorted(params.items())))
        if key not in self._cache:
            self._cache[key] = self._run(spec, self.inputs("stock"), params)
        return self._cache[key]

    def index(self, name: str, codes=None, **params) -> pd.DataFrame:
        """Date × index panel of factor ``name`` (own data or aggregated constituents); coverage kept in ``self.coverage``."""
        spec = get_factor(name)
        all_idx = pd.Index(self.bundle.table("index_info")["code"].astype(str))
        codes = all_idx if codes is None else pd.Index([str(c) for c in codes])
        bad = codes.difference(all_idx)
        if len(bad):
            raise ConfigError(f"index codes not in index_info: {list(bad[:5])} ({len(bad)}); check the codes.")
        key = ("index", name, tuple(codes), tuple(sorted(params.items())))
        if key in self._cache:
            return self._cache[key]
        cal = self.bundle.calendar
        if spec.level in ("index", "constituents"):
            out = self._run(spec, self.inputs("index", codes), params)
            cov = out.notna().astype(float)
        else:
            own = self._own_codes(spec, codes)
            out = pd.DataFrame(np.nan, index=cal, columns=codes)
            cov = pd.DataFrame(0.0, index=cal, columns=codes)
            if len(own):
                p = self._run(spec, self.inputs("index", own), params)
                out[own] = p[own]
                cov[own] = p[own].notna().astype(float)
            rest = codes.difference(own, sort=False)
            if len(rest):
                try:
                    sp = self.stock(name, **params)
                except DataMissingError as e:
                    if not len(own):
                        raise
                    self.notes.append(f"{name}: {len(rest)} indices without own data and no stock data ({e})")
                else:
                    agg, c = aggregate_to_index(sp, self.bundle, rest, min_coverage=self.min_coverage)
                    out[rest] = agg[rest]
                    cov[rest] = c[rest]
        out.index.name, out.columns.name = "date", "code"
        self._cache[key] = out
        self.coverage[("index", name)] = cov
        return out

    def etf(self, name: str, codes=None, **params) -> pd.DataFrame:
        """Date × ETF panel: the tracked index's value, NaN while the ETF is not listed."""
        idx = tracked_indices(self.bundle, codes)
        known = set(self.bundle.table("index_info")["code"].astype(str))
        idx = [c for c in idx if c in known]
        out = etf_level(self.index(name, idx, **params), self.bundle, codes)
        spec = get_factor(name)
        if self.etf_fallback and spec.level == "index":
            empty = out.columns[out.isna().all().to_numpy()]
            if len(empty):
                try:
                    own = self._run(spec, self.inputs("etf", empty), params)
                except DataMissingError:
                    return out
                listed = self.bundle.listed("etf", out.index).reindex(columns=empty, fill_value=False)
                filled = own[empty].where(listed.to_numpy())
                got = filled.columns[filled.notna().any().to_numpy()]
                if len(got):
                    out = out.copy()
                    out[got] = filled[got]
                    note = f"{name}: {len(got)} ETFs whose tracked index has no data use their own bars"
                    if note not in self.notes:
                        self.notes.append(note)
        return out

    def compute(self, name: str, level: str = "index", codes=None, **params) -> pd.DataFrame:
        """Factor ``name`` at ``level`` ("stock" | "index" | "etf"), optionally for some codes only."""
        if level == "stock":
            p = self.stock(name, **params)
            return p if codes is None else p.reindex(columns=pd.Index([str(c) for c in codes], name="code"))
        if level == "index":
            return self.index(name, codes, **params)
        if level == "etf":
            return self.etf(name, codes, **params)
        raise ConfigError(f"unknown factor level {level!r}; use one of {LEVELS_OUT}")

    def _own_codes(self, spec: FactorSpec, codes: pd.Index) -> pd.Index:
        """Indices with rows of their own in every non-bars table the factor reads."""
        x = self.inputs("index")
        own = None
        for need in spec.needs:
            table, _, column = need.partition(".")
            if table in ("bars", "index_bars", "stock_bars", "etf_bars", "macro", "index_weights"):
                continue
            have = set(x.has_rows(table, column or None))
            own = have if own is None else own & have
        if not own:
            return pd.Index([], dtype=object)
        return pd.Index([c for c in codes if c in own])


def compute_factor(name: str, bundle, level: str = "index", *, codes=None, min_coverage: float = DEFAULT_MIN_COVERAGE,
                   engine: FactorEngine | None = None, **params) -> pd.DataFrame:
    """Date × code panel of factor ``name`` at ``level`` ("stock" | "index" | "etf") on ``bundle``.

    Pass an ``engine`` (``FactorEngine(bundle)``) to share cached inputs across calls.
    Raises DataMissingError when the bundle lacks a table or column the factor needs.
    """
    eng = engine if engine is not None else FactorEngine(bundle, min_coverage=min_coverage)
    return eng.compute(name, level, codes, **params)


def compute_factors(names, bundle, level: str = "index", *, codes=None, min_coverage: float = DEFAULT_MIN_COVERAGE,
                    skip_missing: bool = False, engine: FactorEngine | None = None) -> dict[str, pd.DataFrame]:
    """Several factors on one shared engine. ``skip_missing``: leave out (with a note in
    ``engine.notes``) factors whose data are missing instead of raising."""
    from etfrot.factors.registry import resolve_names

    eng = engine if engine is not None else FactorEngine(bundle, min_coverage=min_coverage)
    out = {}
    for n in resolve_names(names):
        try:
            out[n] = eng.compute(n, level, codes)
        except DataMissingError as e:
            if not skip_missing:
                raise
            eng.notes.append(f"skipped {n}: {e}")
    return out
