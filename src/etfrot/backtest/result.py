"""What a backtest returns (SPEC §7 "Result"): daily NAV, benchmark, trades, rebalances, holdings, and
the tables built from them (``metrics()``, ``yearly()``, ``holdings()``); saved to and read from a folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from etfrot.errors import DataMissingError

_EPS = 1e-12


@dataclass
class Result:
    """What a backtest returns.

    ``nav`` daily NAV (1.0 at the close of the first signal date), ``benchmark_nav`` normalised the same
    way, ``trades`` one row per (execution, code) that changed or was meant to change, ``rebalances`` one
    row per execution, ``skipped`` the trades that could not be made, ``delistings`` the holdings paid out
    at their last price, ``pending`` signals whose execution day lies after the data. ``weights`` (daily
    held weights, end of day) and ``cash`` are computed on first use. ``lots`` / ``lot_settings``: see below
    (lot-based engine, :mod:`etfrot.backtest.lots`; trades then also carry shares, price, value and fee in CNY).
    """

    nav: pd.Series
    benchmark_nav: pd.Series | None
    targets: pd.DataFrame
    trades: pd.DataFrame
    rebalances: pd.DataFrame
    delistings: pd.DataFrame
    pending: pd.DatetimeIndex
    execution: str
    fee: float
    slippage: float
    scores: pd.DataFrame | None = None
    names: pd.Series | None = None
    benchmark_name: str = "benchmark"
    #: lot-based engine only: shares held after each execution (signal date × code) and its settings
    #: (capital, lot_size, min_fee, stamp_duty, max_participation); None for the weight-based engine
    lots: pd.DataFrame | None = None
    lot_settings: dict | None = None
    _seg: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ derived series
    @property
    def skipped(self) -> pd.DataFrame:
        """Trades that could not be made (asset suspended, without a price, or not tradable that day)."""
        return self.trades[self.trades["status"].str.startswith("skipped")].reset_index(drop=True)

    @property
    def costs(self) -> pd.Series:
        """Cost of each execution as a fraction of the NAV before it, indexed by execution date."""
        return self.rebalances.set_index("exec_date")["cost"]

    @property
    def turnover(self) -> pd.Series:
        """One-way turnover of each execution: ½ Σ_i |w_post − w_pre| (a full switch = 1, first purchase = 0.5)."""
        return self.rebalances.set_index("exec_date")["turnover"]

    def relative_nav(self) -> pd.Series:
        """Strategy NAV / benchmark NAV (seed 000: 超额净值); needs a benchmark."""
        if self.benchmark_nav is None:
            raise DataMissingError("this backtest has no benchmark; pass benchmark= to run_backtest for relative NAV.")
        return (self.nav / self.benchmark_nav).rename("relative_nav")

    @cached_property
    def weights(self) -> pd.DataFrame:
        """Daily held weights at each close (fractions of NAV; delisted holdings count as cash)."""
        s = self._seg
        w = _daily_weights(s["units"], s["vpost"], s["seg"], s["px"], self.nav.to_numpy())
        if s["delist_pos"] is not None:
            after = np.arange(len(self.nav))[:, None] >= s["delist_pos"][None, :]
            w[after] = 0.0
        return pd.DataFrame(w, index=self.nav.index, columns=s["codes"])

    @property
    def cash(self) -> pd.Series:
        return (1.0 - self.weights.sum(axis=1)).rename("cash")

    # ------------------------------------------------------------------ tables
    def metrics(self, *, ci: bool = True, n_boot: int = 1000, block: int = 20, seed: int = 0,
                periods: int = 252) -> pd.Series:
        """The summary metrics of SPEC §7 (formulas in :mod:`etfrot.backtest.metrics`)."""
        from etfrot.backtest.metrics import summary

        return summary(self.nav, self.benchmark_nav, period_ends=self._period_ends(),
                       turnover=self.turnover, costs=self.costs, ci=ci, n_boot=n_boot, block=block,
                       seed=seed, periods=periods)

    def yearly(self) -> pd.DataFrame:
        """Per calendar year: return, benchmark, excess (relative NAV), vol, Sharpe, max DD, excess max DD, IR."""
        from etfrot.backtest.metrics import yearly_table

        return yearly_table(self.nav, self.benchmark_nav)

    def holdings(self, last: int | None = None) -> pd.DataFrame:
        """Holdings per rebalance: signal and execution date, code, name, target and held weight, score, rank.

        ``held`` is the weight right after the execution (differs from ``target`` where a trade was skipped).
        """
        held = self._held_after()
        if last is not None:
            held = self.last_rebalances(held, last)
        out = held.copy()
        if self.names is not None:
            out.insert(3, "name", out["code"].map(self.names).astype("string"))
        if self.scores is not None:
            sc = self.scores.reindex(index=pd.DatetimeIndex(out["signal_date"].unique()))
            long = sc.stack(future_stack=True).rename("score").rename_axis(["signal_date", "code"]).reset_index()
            long["rank"] = long.groupby("signal_date")["score"].rank(ascending=False, method="min")
            out = out.merge(long, on=["signal_date", "code"], how="left")
        return out.reset_index(drop=True)

    def last_rebalances(self, rows: pd.DataFrame, last: int) -> pd.DataFrame:
        """The rows of a per-rebalance table (a ``signal_date`` column, e.g. :meth:`holdings`) that belong to the
        ``last`` executions."""
        return rows[rows["signal_date"].isin(self.rebalances["signal_date"].iloc[-last:])]

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> None:
        """Write the result to a folder (Parquet tables + one npz of the segment arrays + meta JSON)."""
        import json
        import os
        from pathlib import Path

        d = Path(path)
        d.mkdir(parents=True, exist_ok=True)
        frames = {"nav": self.nav.to_frame(), "targets": self.targets, "trades": self.trades,
                  "rebalances": self.rebalances, "delistings": self.delistings}
        if self.benchmark_nav is not None:
            frames["benchmark_nav"] = self.benchmark_nav.to_frame()
        if self.scores is not None:
            frames["scores"] = self.scores
        if self.names is not None:
            frames["names"] = self.names.astype("string").rename("name").to_frame()
        if self.lots is not None:
            frames["lots"] = self.lots
        for k, f in frames.items():
            f = f.copy()
            f.columns = [str(c) for c in f.columns]
            tmp = d / f".{k}.parquet.tmp"
            f.to_parquet(tmp)
            os.replace(tmp, d / f"{k}.parquet")
        s = self._seg
        arrays = {k: s[k] for k in ("units", "vpost", "seg", "px", "post", "tgt")}
        arrays["codes"] = np.array([str(c) for c in s["codes"]], dtype=str)
        if s["delist_pos"] is not None:
            arrays["delist_pos"] = s["delist_pos"]
        with open(d / ".segments.npz.tmp", "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(d / ".segments.npz.tmp", d / "segments.npz")
        meta = {"execution": self.execution, "fee": self.fee, "slippage": self.slippage,
                "benchmark_name": self.benchmark_name, "pending": [f"{x:%Y-%m-%d}" for x in self.pending],
                "lot_settings": self.lot_settings}
        (d / "result.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, path) -> Result:
        """Read a result written by :meth:`save`."""
        import json
        from pathlib import Path

        d = Path(path)
        if not (d / "result.json").is_file():
            raise DataMissingError(f"{d} holds no saved backtest result (no result.json); run `etfrot backtest CONFIG` first.")
        meta = json.loads((d / "result.json").read_text())
        rd = lambda k: pd.read_parquet(d / f"{k}.parquet") if (d / f"{k}.parquet").exists() else None
        nav = rd("nav")["nav"]
        bench = rd("benchmark_nav")
        names = rd("names")
        z = np.load(d / "segments.npz", allow_pickle=False)
        seg = {k: z[k] for k in ("units", "vpost", "seg", "px", "post", "tgt")}
        seg["codes"] = pd.Index(z["codes"].astype(str), name="code")
        seg["delist_pos"] = z["delist_pos"] if "delist_pos" in z.files else None
        return cls(nav=nav, benchmark_nav=None if bench is None else bench["benchmark"], targets=rd("targets"),
                   trades=rd("trades"), rebalances=rd("rebalances"), delistings=rd("delistings"),
                   pending=pd.DatetimeIndex(meta["pending"]), execution=meta["execution"], fee=meta["fee"],
                   slippage=meta["slippage"], scores=rd("scores"), names=None if names is None else names["name"],
                   benchmark_name=meta["benchmark_name"], lots=rd("lots"), lot_settings=meta.get("lot_settings"),
                   _seg=seg)

    def _held_after(self) -> pd.DataFrame:
        s = self._seg
        post, tgt = s["post"], s["tgt"]
        j, i = np.nonzero((post > _EPS) | (tgt > _EPS))
        order = np.lexsort((i, -post[j, i], j))  # by rebalance, then held weight (largest first), then code
        j, i = j[order], i[order]
        reb = self.rebalances
        return pd.DataFrame({
            "signal_date": reb["signal_date"].to_numpy()[j],
            "exec_date": reb["exec_date"].to_numpy()[j],
            "code": pd.array(s["codes"].to_numpy()[i], dtype="string"),
            "target": tgt[j, i],
            "held": post[j, i],
        })

    def _period_ends(self) -> pd.DatetimeIndex:
        ex = pd.DatetimeIndex(self.rebalances["exec_date"])
        return ex.append(self.nav.index[-1:]).unique()



def _daily_weights(units, vpost, seg, px, nav):
    D = len(nav)
    out = np.zeros((D, units.shape[1]))
    on = seg >= 0
    if on.any():
        s = seg[on]
        out[on] = units[s] * px[on] * (vpost[s] / nav[on])[:, None]
    return out
