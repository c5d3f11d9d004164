"""Point-in-time inputs of factor functions: the panels of one entity kind drawn from a bundle.

``Inputs(bundle, "stock" | "index" | "etf", codes=None)`` hands a factor function its data as
date × code panels on the bundle's calendar, restricted to the codes of that kind, cached:
adjusted closes, bar fields, daily returns, point-in-time fundamentals (visible from
``announce_date``, SPEC §1.2), quarterly fundamental *events* for period-over-period formulas,
flows, valuation and release-lagged macro series. A missing table or column raises
:class:`etfrot.errors.DataMissingError` naming it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.data.pit import asof_panel
from etfrot.errors import ConfigError, DataMissingError

KINDS = ("stock", "index", "etf")
_BARS = {"stock": "stock_bars", "index": "index_bars", "etf": "etf_bars"}


class Inputs:
    """Cached point-in-time panels of one entity kind (columns = that kind's codes)."""

    def __init__(self, bundle, kind: str, codes=None, *, min_coverage: float = 0.5, family: dict | None = None) -> None:
        if kind not in KINDS:
            raise ConfigError(f"unknown entity kind {kind!r}; use one of {KINDS}")
        self.bundle, self.kind, self.min_coverage = bundle, kind, min_coverage
        self._family = {} if family is None else family  # shared Inputs of other kinds (all codes)
        all_codes = pd.Index(bundle.table(f"{kind}_info")["code"].astype(str), name="code")
        self.codes = all_codes if codes is None else pd.Index([str(c) for c in codes], name="code")
        self._cache: dict = {}

    # ------------------------------------------------------------------ helpers
    def other(self, kind: str) -> "Inputs":
        """Inputs of another kind over all its codes, shared by every Inputs of one engine."""
        if kind not in self._family:
            self._family[kind] = Inputs(self.bundle, kind, min_coverage=self.min_coverage, family=self._family)
        return self._family[kind]

    @property
    def calendar(self) -> pd.DatetimeIndex:
        return self.bundle.calendar

    def _memo(self, key, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def _restrict(self, p: pd.DataFrame) -> pd.DataFrame:
        out = p.reindex(columns=self.codes)
        out.columns.name = "code"
        return out

    @property
    def bars_table(self) -> str:
        return _BARS[self.kind]

    def has_rows(self, table: str, column: str | None = None) -> pd.Index:
        """Codes of this kind that have at least one non-NaN value in ``table.column``."""
        if not self.bundle.has(table):
            return pd.Index([], name="code")
        df = self.bundle.table(table)
        if column is not None and column not in df.columns:
            return pd.Index([], name="code")
        rows = df if column is None else df[df[column].notna()]
        present = pd.Index(pd.unique(rows["code"].astype(str)))
        return self.codes[self.codes.isin(present)]

    # ------------------------------------------------------------------ bars
    def bars(self, field: str) -> pd.DataFrame:
        """Raw daily bar field (volume, amount, …) of this kind on the calendar."""
        return self._memo(("bars", field), lambda: self._restrict(self.bundle.panel(self.bars_table, field)))

    def close(self) -> pd.DataFrame:
        """Adjusted close (stocks, ETFs: close × adj_factor; indices: their level)."""
        def f():
            adj = self.kind in ("stock", "etf") and "adj_factor" in self.bundle.table(self.bars_table).columns
            return self._restrict(self.bundle.panel(self.bars_table, "close", adjusted=bool(adj)))
        return self._memo(("close",), f)

    def close_filled(self) -> pd.DataFrame:
        """Adjusted close carried forward over non-trading days (suspensions), NaN before the first bar."""
        return self._memo(("close_ffill",), lambda: self.close().ffill())

    def returns(self) -> pd.DataFrame:
        """Daily returns P_t / P_{t−1} − 1 of the carried-forward close, NaN where not traded on t."""
        def f():
            px = self.close_filled()
            r = px / px.shift(1) - 1
            return r.where(self.close().notna())
        return self._memo(("returns",), f)

    # ------------------------------------------------------------------ dated tables
    def dated(self, table: str, field: str) -> pd.DataFrame:
        """A field of a (date, code) table (flows, valuation) as a panel on the calendar."""
        return self._memo(("dated", table, field), lambda: self._restrict(self.bundle.panel(table, field)))

    # ------------------------------------------------------------------ fundamentals
    def fundamental(self, field: str) -> pd.DataFrame:
        """Latest announced value of a fundamental field (visible from announce_date, SPEC §1.2)."""
        return self._memo(("fund", field), lambda: self._restrict(self.bundle.fundamentals_panel(field)))

    def fundamental_events(self) -> pd.DataFrame:
        """The fundamentals rows of this kind's codes with an integer quarter number ``q`` (year·4 + quarter)."""
        def f():
            fd = self.bundle.table("fundamentals")
            fd = fd[fd["code"].astype(str).isin(self.codes)].copy()
            fd["code"] = fd["code"].astype(str)
            rp = pd.DatetimeIndex(fd["report_period"])
            fd["q"] = rp.year.to_numpy() * 4 + (rp.month.to_numpy() - 1) // 3
            return fd.reset_index(drop=True)
        return self._memo(("fund_events",), f)

    def event_field(self, field: str) -> np.ndarray:
        """``field`` of every fundamentals event row of this kind, as float."""
        ev = self.fundamental_events()
        if field not in ev.columns:
            raise DataMissingError(f"table 'fundamentals' has no column '{field}' (it has {list(ev.columns)}); "
                                   "use a source that provides it or skip this factor.")
        return ev[field].to_numpy(dtype=float, na_value=np.nan)

    def lag(self, values, lag: int) -> np.ndarray:
        """For each event row, ``values`` of the same code ``lag`` quarters earlier (NaN where absent)."""
        ev = self.fundamental_events()
        src = pd.Series(np.asarray(values, dtype=float), index=pd.MultiIndex.from_arrays([ev["code"], ev["q"]]))
        src = src[~src.index.duplicated(keep="last")]
        key = pd.MultiIndex.from_arrays([ev["code"], ev["q"] - lag])
        return src.reindex(key).to_numpy()

    def event_panel(self, values, *, lags: tuple[int, ...] = ()) -> pd.DataFrame:
        """Point-in-time panel of a per-event value (one per fundamentals row of this kind).

        Visible from the row's announce_date — or later, from the latest announce_date of the
        lagged quarters it uses (``lags``), so a value never shows before all its inputs were public.
        Among announced reports the latest report_period wins (as ``Bundle.fundamentals_panel``).
        """
        ev = self.fundamental_events()
        eff = ev["announce_date"].to_numpy("datetime64[ns]")
        if lags:
            ann = pd.Series(eff, index=pd.MultiIndex.from_arrays([ev["code"], ev["q"]]))
            ann = ann[~ann.index.duplicated(keep="last")]
            for lag in lags:
                prev = ann.reindex(pd.MultiIndex.from_arrays([ev["code"], ev["q"] - lag])).to_numpy("datetime64[ns]")
                eff = np.where(np.isnat(prev) | (prev <= eff), eff, prev)
        tab = pd.DataFrame({"code": ev["code"].to_numpy(), "report_period": ev["report_period"].to_numpy(),
                            "eff": eff, "value": np.asarray(values, dtype=float)})
        tab = tab.sort_values(["code", "eff", "report_period"], kind="stable")
        latest = tab.groupby("code")["report_period"].cummax()
        tab = tab[tab["report_period"].to_numpy() >= latest.to_numpy()]
        p = asof_panel(tab, self.calendar, effective="eff", code="code", value="value", codes=self.codes)
        return p

    # ------------------------------------------------------------------ valuation (index: own or aggregated)
    def valuation(self, field: str) -> pd.DataFrame:
        """Valuation field (pe_ttm, pb). For an index without own rows: 1 / (Σ w·(1/x) / Σ w) over constituents.

        The harmonic aggregate is the index's earnings (book) yield inverted, SPEC §2.5 weights.
        """
        def f():
            own = self.dated("valuation", field) if self.bundle.has("valuation") else None
            if self.kind != "index":
                if own is None:
                    raise DataMissingError(f"valuation factor needs table 'valuation' column '{field}'; this bundle has none.")
                return own
            have = self.has_rows("valuation", field)
            missing = self.codes.difference(have)
            out = own if own is not None else pd.DataFrame(np.nan, index=self.calendar, columns=self.codes)
            if len(missing):
                from etfrot.factors.aggregate import aggregate_to_index

                stock = self.other("stock").dated("valuation", field)
                inv = 1.0 / stock.where(stock != 0)
                agg, _ = aggregate_to_index(inv, self.bundle, missing, min_coverage=self.min_coverage)
                out = out.copy()
                out[agg.columns] = 1.0 / agg.where(agg != 0)
            return out[self.codes]
        return self._memo(("valuation", field), f)

    # ------------------------------------------------------------------ macro
    def macro_series(self, like: str) -> pd.Series:
        """Macro series whose name equals or contains ``like`` as known on each date (release-lagged)."""
        m = self.bundle.table("macro")
        names = sorted(pd.unique(m["series"].astype(str)))
        hit = [n for n in names if n.lower() == like.lower()] or [n for n in names if like.lower() in n.lower()]
        if not hit:
            raise DataMissingError(f"table 'macro' has no series like {like!r} (it has {names}); "
                                   "add it or pass another series name.")
        name = hit[0]
        return self._memo(("macro", name), lambda: self.bundle.macro_panel([name])[name].astype(float))
