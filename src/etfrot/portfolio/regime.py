"""Macro-regime style-factor rotation (seed 002 §3 "国联行业轮动策略2.0", figure 3; SPEC §6).

Each month the economy is put in one of four quadrants by the direction of an earnings proxy
(企业盈利, e.g. industrial profit or PPI YoY) and a credit proxy (信用, e.g. social financing YoY),
each compared with its value ``lag_months`` earlier, using only values RELEASED by the decision
date. Per style factor the IC is averaged within each quadrant over the past only; in the current
quadrant the factors whose IC is significantly positive are used as they are, the significantly
negative ones sign-flipped; the composite is the equal-weight mean of their cross-sectional
z-scores. Pure functions over plain pandas / numpy; the strategy wires them
(:mod:`etfrot.strategies.regime_rotation`).

Timing conventions (no look-ahead, SPEC §1.2):
- A macro value of period ``p`` is visible from its ``release_date`` on; the direction at ``t``
  compares the latest released period ``p*`` with the latest released period ``≤ p* − lag``.
- ``factor_ic`` is indexed by the FORMATION date of each period (factor at ``p``, return from ``p``
  to the next rebalance date). With ``horizon=1`` that IC is realised at the next rebalance date, so
  at decision date ``d`` only rows with formation date ``< d`` are used (and ``horizon − 1`` more
  rows are dropped for longer horizons).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from etfrot.data.pit import asof_panel
from etfrot.errors import ConfigError, ValidationError

#: Quadrant codes: E = earnings proxy, C = credit proxy, + rising / − not rising (seed 002 §3).
QUADRANTS: tuple[str, ...] = ("E+C+", "E+C-", "E-C+", "E-C-")
QUADRANT_NAMES: dict[str, str] = {
    "E+C+": "earnings up · credit up (盈利上行信用上行)",
    "E+C-": "earnings up · credit down (盈利上行信用下行)",
    "E-C+": "earnings down · credit up (盈利下行信用上行)",
    "E-C-": "earnings down · credit down (盈利下行信用下行)",
}
#: Pseudo-quadrant holding the full past sample (all regimes), used by the fallback.
ALL = "all"
FALLBACKS = ("full_sample", "benchmark", "cash")


# --------------------------------------------------------------------------- regime classifier
def _month_number(values) -> np.ndarray:
    """Months since year 0: year·12 + month − 1 (periods are months; the day is ignored)."""
    d = pd.DatetimeIndex(values)
    return (d.year.to_numpy(np.int64) * 12 + d.month.to_numpy(np.int64) - 1)


def _check_macro(series: pd.DataFrame, name: str) -> pd.DataFrame:
    if not isinstance(series, pd.DataFrame):
        raise ValidationError("macro", None, f"series '{name}' must be a DataFrame with columns period, value, "
                              f"release_date (got {type(series).__name__})",
                              fix="pass the rows of the bundle's macro table, e.g. macro_rows(bundle, name)")
    missing = [c for c in ("period", "value", "release_date") if c not in series.columns]
    if missing:
        raise ValidationError("macro", missing[0], f"series '{name}' lacks column(s) {missing}",
                              fix="pass the rows of the bundle's macro table (period, value, release_date)")
    s = series[["period", "value", "release_date"]].copy()
    s["period"] = pd.to_datetime(s["period"])
    s["release_date"] = pd.to_datetime(s["release_date"])
    s["value"] = pd.to_numeric(s["value"], errors="coerce").astype(float)
    s = s.dropna(subset=["period", "value", "release_date"])  # NaN rows (e.g. merged Jan/Feb) are not data
    s["m"] = _month_number(s["period"])
    dup = s["m"].duplicated(keep=False).to_numpy()
    if dup.any():
        ex = s.loc[dup, ["period", "value", "release_date"]].head(5).astype(str).values.tolist()
        raise ValidationError("macro", "period", f"series '{name}' has {int(dup.sum())} rows sharing a month",
                              examples=ex, fix="keep one value per (series, month)")
    return s.sort_values("m", kind="stable").reset_index(drop=True)


def macro_rows(bundle, series: str) -> pd.DataFrame:
    """The rows (period, value, release_date) of one macro series of a bundle's ``macro`` table."""
    from etfrot.errors import DataMissingError

    m = bundle.table("macro")
    rows = m.loc[m["series"] == series, ["period", "value", "release_date"]]
    if rows.empty:
        have = sorted(pd.unique(m["series"]).tolist())
        raise DataMissingError(f"table 'macro' has no series '{series}' (it has {have}); "
                               "set earnings_series / credit_series in the config to one of those.")
    return rows.reset_index(drop=True)


def known_direction(series: pd.DataFrame, dates, *, lag_months: int = 3, max_gap_months: int = 2,
                    max_stale_months: int | None = 4, name: str = "series") -> pd.DataFrame:
    """Direction of a release-lagged monthly series as known on each date (seed 002 §3, SPEC §6).

    Formula: p*(t) = max{p : release(p) ≤ t}; q(t) = the latest month ≤ p* − lag that has a value,
    used only when release(q) ≤ t and p* − lag − q ≤ max_gap_months (e.g. missing January rows);
    p* itself only when month(t) − p* ≤ max_stale_months (a series that stopped is not known for ever);
    change = x(p*) − x(q); direction = +1 if change > 0 else −1 (a flat value is "not rising");
    NaN where p* or q is unknown.

    ``series``: rows with columns period (month), value, release_date. Returns a frame indexed by
    ``dates`` with columns period, value, lag_period, lag_value, change, direction.
    """
    if lag_months < 1:
        raise ConfigError(f"lag_months must be ≥ 1 (got {lag_months})")
    if max_gap_months < 0:
        raise ConfigError(f"max_gap_months must be ≥ 0 (got {max_gap_months})")
    s = _check_macro(series, name)
    dates = pd.DatetimeIndex(dates, name="date")
    m = s["m"].to_numpy()
    val = s["value"].to_numpy()
    rel = s["release_date"].to_numpy("datetime64[ns]")
    # latest released month as of t: running max of the month in release order, as-of joined
    ev = s.sort_values(["release_date", "m"], kind="stable")
    ev = pd.DataFrame({"k": name, "release_date": ev["release_date"].to_numpy(),
                       "pstar": np.maximum.accumulate(ev["m"].to_numpy()).astype(float)})
    pstar = asof_panel(ev, dates, effective="release_date", code="k", value="pstar",
                       codes=pd.Index([name])).iloc[:, 0].to_numpy()
    ok = np.isfinite(pstar)
    if max_stale_months is not None:
        ok &= (dates.year * 12 + dates.month - 1).to_numpy() - np.where(ok, pstar, 0) <= max_stale_months
    ps = np.where(ok, pstar, 0).astype(np.int64)
    i = np.searchsorted(m, ps)  # exact position of p* (it exists: it is one of the months)
    i = np.clip(i, 0, max(len(m) - 1, 0))
    target = ps - lag_months
    j = np.searchsorted(m, target, side="right") - 1
    jc = np.clip(j, 0, None)
    t64 = dates.to_numpy("datetime64[ns]")
    okj = ok & (j >= 0) & (rel[jc] <= t64) & (target - m[jc] <= max_gap_months) if len(m) else ok & False
    x = np.where(ok, val[i] if len(m) else np.nan, np.nan)
    xl = np.where(okj, val[jc] if len(m) else np.nan, np.nan)
    change = np.where(okj, x - xl, np.nan)
    direction = np.where(okj, np.where(change > 0, 1.0, -1.0), np.nan)

    def month_ts(a, good):
        ts = (np.where(good, a, 1970 * 12) - 1970 * 12).astype("datetime64[M]").astype("datetime64[ns]")
        return pd.DatetimeIndex(np.where(good, ts, np.datetime64("NaT")))

    return pd.DataFrame({
        "period": month_ts(ps, ok), "value": x,
        "lag_period": month_ts(np.where(okj, m[jc] if len(m) else 0, 0), okj), "lag_value": xl,
        "change": change, "direction": direction,
    }, index=dates)


def regime_table(earnings: pd.DataFrame, credit: pd.DataFrame, dates, *, lag_months: int = 3,
                 max_gap_months: int = 2, max_stale_months: int | None = 4) -> pd.DataFrame:
    """Per date: the earnings and credit proxies' known periods, values, changes and the quadrant.

    Quadrant = "E" + sign(earnings direction) + "C" + sign(credit direction) (seed 002 §3: 盈利 ×
    信用 四象限); NaN (missing) when either direction is unknown.
    """
    kw = {"lag_months": lag_months, "max_gap_months": max_gap_months, "max_stale_months": max_stale_months}
    e = known_direction(earnings, dates, **kw, name="earnings")
    c = known_direction(credit, dates, **kw, name="credit")
    ed, cd = e["direction"].to_numpy(), c["direction"].to_numpy()
    known = np.isfinite(ed) & np.isfinite(cd)
    sym = lambda d: np.where(d > 0, "+", "-")  # noqa: E731
    code = np.char.add(np.char.add(np.char.add("E", sym(ed)), "C"), sym(cd)).astype(object)
    code[~known] = None
    out = pd.concat([e.add_prefix("earnings_"), c.add_prefix("credit_")], axis=1)
    out["regime"] = pd.Series(code, index=out.index, dtype=object)
    return out


def regime_series(earnings: pd.DataFrame, credit: pd.DataFrame, dates, *, lag_months: int = 3,
                  max_gap_months: int = 2) -> pd.Series:
    """The quadrant code (one of :data:`QUADRANTS`, or None) on each date; see :func:`regime_table`."""
    return regime_table(earnings, credit, dates, lag_months=lag_months, max_gap_months=max_gap_months)["regime"]


# --------------------------------------------------------------------------- IC per quadrant
def _align(factor_ic: pd.DataFrame, regimes: pd.Series) -> tuple[pd.DataFrame, np.ndarray]:
    if not isinstance(factor_ic, pd.DataFrame) or not isinstance(factor_ic.index, pd.DatetimeIndex):
        raise ValidationError("factor_ic", None, "must be a DataFrame indexed by formation date (period × factor)")
    if not factor_ic.index.is_monotonic_increasing or factor_ic.index.has_duplicates:
        raise ValidationError("factor_ic", None, "index must be sorted and unique formation dates")
    reg = pd.Series(regimes).reindex(factor_ic.index)
    bad = reg.notna() & ~reg.isin(QUADRANTS)
    if bad.any():
        raise ValidationError("regimes", None, f"unknown quadrant codes {sorted(set(reg[bad].astype(str)))}",
                              fix=f"use {QUADRANTS}")
    q = np.full(len(reg), -1)
    for k, name in enumerate(QUADRANTS):  # 4 codes
        q[(reg == name).to_numpy()] = k
    return factor_ic.astype(float), q


@dataclass
class QuadrantICPath:
    """Expanding per-quadrant IC statistics as known at each date of ``dates``.

    Arrays are (date × quadrant × factor); quadrant axis = :data:`QUADRANTS` + (:data:`ALL`,).
    """

    dates: pd.DatetimeIndex
    factors: pd.Index
    mean: np.ndarray
    t: np.ndarray
    n: np.ndarray

    @property
    def quadrants(self) -> tuple[str, ...]:
        return QUADRANTS + (ALL,)

    def at(self, date) -> pd.DataFrame:
        """The (quadrant, factor) × [mean_ic, t, n] table as known at ``date`` (must be in ``dates``)."""
        k = self.dates.get_loc(pd.Timestamp(date))
        idx = pd.MultiIndex.from_product([self.quadrants, self.factors], names=["quadrant", "factor"])
        return pd.DataFrame({"mean_ic": self.mean[k].ravel(), "t": self.t[k].ravel(),
                             "n": self.n[k].ravel().astype(int)}, index=idx)


def _stats(s1, s2, n, min_obs):
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, s1 / np.maximum(n, 1), np.nan)
        var = np.where(n > 1, (s2 - n * mean**2) / np.maximum(n - 1, 1), np.nan)
        se = np.sqrt(np.clip(var, 0, None) / np.maximum(n, 1))
        t = np.where(se > 0, mean / np.where(se > 0, se, 1), np.where(mean == 0, 0.0, np.sign(mean) * np.inf))
        t = np.where(n >= max(min_obs, 2), t, np.nan)
    return mean, t


def quadrant_ic_path(factor_ic: pd.DataFrame, regimes: pd.Series, dates=None, *, horizon: int = 1,
                     min_obs: int = 6) -> QuadrantICPath:
    """Per-quadrant mean IC, t-stat and count from the PAST only, for every decision date at once.

    Formula: at decision date d, use rows p of ``factor_ic`` with p < d, minus the last
    ``horizon − 1`` of them (their returns are not yet realised); per quadrant q (regime at p) and
    factor f: mean = Σ IC / n, t = mean / (s / √n) with s the sample std (ddof 1); t is NaN when
    n < ``min_obs``. Vectorised with cumulative sums over a one-hot (period × quadrant) indicator.
    Source: seed 002 §3 (因子在不同经济象限验证有效性), SPEC §6.
    """
    if horizon < 1:
        raise ConfigError(f"horizon must be ≥ 1 period (got {horizon})")
    ic, q = _align(factor_ic, regimes)
    dates = ic.index if dates is None else pd.DatetimeIndex(dates)
    x = ic.to_numpy()
    fin = np.isfinite(x)
    x0 = np.where(fin, x, 0.0)
    nq = len(QUADRANTS) + 1
    onehot = np.zeros((len(x), nq))
    onehot[np.arange(len(x))[q >= 0], q[q >= 0]] = 1.0
    onehot[:, -1] = 1.0  # "all"
    # cumulative sums with a leading zero row: C[k] = sum over the first k rows
    def csum(a):
        z = np.cumsum(onehot[:, :, None] * a[:, None, :], axis=0)
        return np.concatenate([np.zeros((1,) + z.shape[1:]), z], axis=0)

    S1, S2, N = csum(x0), csum(x0 * x0), csum(fin.astype(float))
    # number of usable rows at each decision date: rows strictly before d, minus horizon − 1
    k = np.searchsorted(ic.index.to_numpy("datetime64[ns]"), dates.to_numpy("datetime64[ns]"), side="left")
    k = np.clip(k - (horizon - 1), 0, None)
    mean, t = _stats(S1[k], S2[k], N[k], min_obs)
    return QuadrantICPath(dates=dates, factors=pd.Index(ic.columns, name="factor"), mean=mean, t=t, n=N[k])


def quadrant_ic(factor_ic: pd.DataFrame, regimes: pd.Series, asof, *, horizon: int = 1,
                min_obs: int = 6) -> pd.DataFrame:
    """Per-quadrant (and ``all``) mean IC, t-stat and n from the rows usable at ``asof`` only.

    Same definition as :func:`quadrant_ic_path` (rows with formation date < asof, minus the last
    ``horizon − 1``), computed directly by masking; returns (quadrant, factor) × [mean_ic, t, n].
    """
    ic, q = _align(factor_ic, regimes)
    use = np.flatnonzero(ic.index < pd.Timestamp(asof))
    use = use[: max(len(use) - (horizon - 1), 0)]
    rows = []
    for name, mask in [(n_, q[use] == k) for k, n_ in enumerate(QUADRANTS)] + [(ALL, np.ones(len(use), bool))]:
        sub = ic.iloc[use[mask]]
        n = sub.notna().sum().to_numpy().astype(float)
        s1 = sub.sum().to_numpy()
        s2 = (sub**2).sum().to_numpy()
        mean, t = _stats(s1, s2, n, min_obs)
        rows.append(pd.DataFrame({"quadrant": name, "factor": ic.columns, "mean_ic": mean, "t": t, "n": n.astype(int)}))
    return pd.concat(rows).set_index(["quadrant", "factor"])


# --------------------------------------------------------------------------- factor selection
def select_factors(stats: pd.DataFrame, regime: str | None, *, t_threshold: float = 2.0,
                   fallback: str = "full_sample") -> tuple[pd.Series, str]:
    """Factor directions (+1 use, −1 sign-flip, 0 drop) for the current quadrant, and the rule used.

    Rule (seed 002 §3, SPEC §6): in quadrant ``regime`` use f with t_f > τ, flip f with t_f < −τ.
    Fallback when none passes (or the regime is unknown) — seed 002's strategy is always invested
    in five industry ETFs, so the default keeps it invested:
      ``full_sample``: the same test on the full past sample (all quadrants); if still none, the
      rule is "benchmark" (hold the industry equal-weight benchmark);
      ``benchmark``: hold the benchmark; ``cash``: hold nothing.
    ``stats`` is the (quadrant, factor) table of :func:`quadrant_ic` / :meth:`QuadrantICPath.at`.
    """
    if fallback not in FALLBACKS:
        raise ConfigError(f"unknown fallback {fallback!r}; use one of {FALLBACKS}")
    if t_threshold < 0:
        raise ConfigError(f"t_threshold must be ≥ 0 (got {t_threshold})")

    def rule(tv: pd.Series) -> pd.Series:
        tv = tv.astype(float)
        return pd.Series(np.where(tv > t_threshold, 1, np.where(tv < -t_threshold, -1, 0)), index=tv.index)

    if regime is not None and not (isinstance(regime, float) and np.isnan(regime)):
        d = rule(stats.loc[regime, "t"])
        if (d != 0).any():
            return d, f"quadrant {regime}"
    if fallback == "full_sample":
        d = rule(stats.loc[ALL, "t"])
        if (d != 0).any():
            return d, "full sample"
        return d * 0, "benchmark"
    return rule(stats.loc[ALL, "t"]) * 0, fallback


def factor_directions(path: QuadrantICPath, regimes: pd.Series, *, t_threshold: float = 2.0,
                      fallback: str = "full_sample") -> tuple[pd.DataFrame, pd.Series]:
    """:func:`select_factors` for every date of ``path`` at once (vectorised over dates).

    Returns (date × factor directions in {−1, 0, 1}, date → rule used: "quadrant Q", "full sample",
    "benchmark" or "cash").
    """
    if fallback not in FALLBACKS:
        raise ConfigError(f"unknown fallback {fallback!r}; use one of {FALLBACKS}")
    reg = pd.Series(regimes).reindex(path.dates)
    qi = np.full(len(reg), -1)
    for k, name in enumerate(QUADRANTS):
        qi[(reg == name).to_numpy()] = k
    tq = path.t[np.arange(len(qi)), np.clip(qi, 0, None)]  # date × factor
    tq = np.where((qi >= 0)[:, None], tq, np.nan)
    ta = path.t[:, -1]

    def rule(tv):
        with np.errstate(invalid="ignore"):
            return np.where(tv > t_threshold, 1, np.where(tv < -t_threshold, -1, 0))

    dq, da = rule(tq), rule(ta)
    has_q = (dq != 0).any(axis=1)
    has_a = (da != 0).any(axis=1)
    if fallback == "full_sample":
        d = np.where(has_q[:, None], dq, np.where(has_a[:, None], da, 0))
        why = np.where(has_q, np.char.add("quadrant ", np.where(qi >= 0, np.array(QUADRANTS, dtype=object)[np.clip(qi, 0, None)], "").astype(str)),
                       np.where(has_a, "full sample", "benchmark"))
    else:
        d = np.where(has_q[:, None], dq, 0)
        why = np.where(has_q, np.char.add("quadrant ", np.where(qi >= 0, np.array(QUADRANTS, dtype=object)[np.clip(qi, 0, None)], "").astype(str)), fallback)
    return (pd.DataFrame(d, index=path.dates, columns=path.factors),
            pd.Series(why.astype(object), index=path.dates, name="rule"))


# --------------------------------------------------------------------------- composite
def zscore(panel: pd.DataFrame, clip: float | None = 3.0) -> pd.DataFrame:
    """Cross-sectional z-score per date: z = (x − mean_t) / std_t (ddof 0), clipped to ±clip; NaN stays NaN."""
    x = panel.to_numpy(dtype=float)
    x = np.where(np.isfinite(x), x, np.nan)
    n = np.isfinite(x).sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.nansum(x, axis=1, keepdims=True) / np.maximum(n, 1)
        sd = np.sqrt(np.nansum((x - mu) ** 2, axis=1, keepdims=True) / np.maximum(n, 1))
        z = np.where(sd > 0, (x - mu) / np.where(sd > 0, sd, 1), np.where(np.isfinite(x), 0.0, np.nan))
    if clip is not None:
        z = np.clip(z, -clip, clip)
    return pd.DataFrame(z, index=panel.index, columns=panel.columns)


def _stack(factor_panels: dict[str, pd.DataFrame], dates, factors) -> tuple[np.ndarray, pd.Index]:
    missing = [f for f in factors if f not in factor_panels]
    if missing:
        raise ValidationError("factor_panels", None, f"no panel for factor(s) {missing}",
                              fix=f"pass panels for every factor of the directions ({list(factors)})")
    codes = pd.Index(sorted(set().union(*[set(factor_panels[f].columns) for f in factors]))) if len(factors) else pd.Index([])
    arr = np.stack([factor_panels[f].reindex(index=dates, columns=codes).to_numpy(float) for f in factors]) \
        if len(factors) else np.empty((0, len(dates), 0))
    return arr, codes


def composite_score(factor_panels: dict[str, pd.DataFrame], directions: pd.DataFrame, *,
                    clip: float | None = 3.0) -> pd.DataFrame:
    """Equal-weight composite of direction-adjusted cross-sectional z-scores (seed 002 §3; SPEC §6).

    Formula: S_t,i = mean over f with d_t,f ≠ 0 and z_f,t,i known of d_t,f · z_f,t,i, where z is the
    per-date z-score of factor f (see :func:`zscore`). Rows with no selected factor are NaN.
    ``directions``: date × factor in {−1, 0, 1} (from :func:`factor_directions`).
    """
    dates = directions.index
    factors = list(directions.columns)
    arr, codes = _stack({f: zscore(p, clip) for f, p in factor_panels.items() if f in factors}, dates, factors)
    d = directions.to_numpy(float).T[:, :, None]  # factor × date × 1
    use = (d != 0) & np.isfinite(arr)
    num = np.where(use, d * np.nan_to_num(arr), 0.0).sum(axis=0)
    cnt = use.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(cnt > 0, num / np.maximum(cnt, 1), np.nan)
    return pd.DataFrame(s, index=dates, columns=codes)


def factor_ranks(factor_panels: dict[str, pd.DataFrame], directions: pd.Series, date) -> pd.DataFrame:
    """Each code's rank (1 = best in the used direction) on each selected factor at ``date``.

    Seed 002 page 11 table (各行业截面因子排名): rank per factor, "mean_rank" = the mean of the ranks
    (综合排名). ``directions``: factor → {−1, 0, 1} at that date; factors with 0 are left out.
    """
    date = pd.Timestamp(date)
    cols = {}
    for f, d in directions.items():
        if d == 0:
            continue
        row = factor_panels[f].loc[date].astype(float) * float(d)
        cols[f] = row.rank(ascending=False, method="min")
    out = pd.DataFrame(cols)
    out["mean_rank"] = out.mean(axis=1) if len(cols) else np.nan
    return out


def regime_spells(regimes: pd.Series) -> pd.DataFrame:
    """Runs of the same quadrant: start, end, regime, periods (for the regime-history table)."""
    r = pd.Series(regimes).astype(object).where(pd.Series(regimes).notna(), "unknown")
    if r.empty:
        return pd.DataFrame(columns=["start", "end", "regime", "periods"])
    new = (r != r.shift()).to_numpy()
    gid = np.cumsum(new)
    g = pd.DataFrame({"date": r.index, "regime": r.to_numpy(), "g": gid})
    out = g.groupby("g").agg(start=("date", "first"), end=("date", "last"), regime=("regime", "first"),
                             periods=("date", "size"))
    return out.reset_index(drop=True)
