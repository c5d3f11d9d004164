"""A seeded, deterministic synthetic A-share market in the bundle format (SPEC §1.4).

Everything built here is labelled SYNTHETIC in the manifest and in every output.

Stock returns (daily, per stock i in industry k(i,t))::

    r_it = β_i·m_t + γ_i·f_k,t + Σ_s x_is·g_s,t + ε_it                       (noise: all GARCH(1,1), t(4) shocks)
         + S·(μ_a·a_it + μ_q·q_it + μ_b·b_k,t + μ_r·(e_k·E_t + c_k·C_t))    (planted, S = ``signal``)

* m, f, g, ε: market, industry, style (size, value) and idiosyncratic returns; GARCH(1,1) volatility
  clustering with Student-t(4) shocks plus rare news jumps (1 %/day, sd 6 %) ⇒ fat tails (excess
  kurtosis > 3), stock vol ≈ 25–45 %/yr.
* a_it: stock-level latent alpha, AR(1) with a half-life of ~40 trading days, stationary sd 1
  (μ_a = 6 bp/day per sd); q_it: slow stock 'quality' alpha, half-life ~250 days (μ_q = 4 bp/day).
* b_k,t: industry-level latent alpha, AR(1) with a half-life of ~90 trading days (μ_b = 4 bp/day);
  μ_r = 3 bp/day per unit of regime sensitivity.
* E_t, C_t ∈ {−1, +1}: direction (vs 3 months earlier) of the true earnings and credit cycles; e_k,
  c_k ~ N(0,1) are each industry's fixed sensitivities (the macro regime drives industry drifts).

Planted signals (their strength scales with ``signal``; at 0 none of them exists and every return is
a martingale difference, so every strategy's expected excess return is ~0):

==========================  ==============================================================
observable                   what it carries
==========================  ==============================================================
past returns (mom20, mom250)  a and b accumulate into past returns ⇒ positive momentum IC
turnover / volume              log turnover has +0.25·S·a_it ⇒ abnormal volume predicts returns
flows (stock level)            main_net_inflow, large_order_net_volume, net_buy_amount and
                               net_active_buy_amount, northbound_value have +S·a_it terms
fundamentals                   single-quarter EPS growth g_iq has +0.15·S·mean_q(q_i) + 0.02·S·mean_q(b_k)
                               (announced 20–110 days after the quarter end) ⇒ np_yoy, EPS
                               growth QoQ, SUE predict returns while a and b persist
macro (monthly, with release lags)  earnings proxy, credit proxy, CPI, PPI; industries drift by
                               the regime (E_t, C_t) with sensitivities e_k, c_k
distress                       a stock loses 0.4·S %/day over the 60 days before its delisting (it is
                               ST for the last 120 days whatever S)
==========================  ==============================================================

Sizes: ``small`` (160 stocks, 8 industries, 4 years; seconds), ``default`` (800 stocks, 30
industries, 10 years, ≈ 66 indices, ≈ 150 ETFs), ``large`` (3000 stocks, 30 industries, 15 years).

Also generated: listings during the sample, delistings (with ST and a drawdown before), random
suspensions (price frozen, zero volume), ST spells, ±10 % (ST ±5 %) price limits with
``limit_up``/``limit_down`` flags, annual cash dividends (``adj_factor``), monthly constituent
weights of CSI 300/500/1000-like broad indices (by market cap), industry, theme and strategy indices,
total-return versions of the broad indices, two overseas indices, 1–4 ETFs per index with tracking
error, fees, premium noise, AUM paths (some tiny, some young, a few delisted).
Simplifications (documented, not hidden): prices are not rounded to ticks; returns lost to a price
limit are not carried to the next day; a suspended stock's return is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from etfrot.data.bundle import Bundle, write_bundle
from etfrot.errors import ConfigError

SW_L1 = ["农林牧渔", "基础化工", "钢铁", "有色金属", "电子", "汽车", "家用电器", "食品饮料", "纺织服饰", "轻工制造",
         "医药生物", "公用事业", "交通运输", "房地产", "商贸零售", "社会服务", "银行", "非银金融", "综合", "建筑材料",
         "建筑装饰", "电力设备", "机械设备", "国防军工", "计算机", "传媒", "通信", "煤炭", "石油石化", "环保", "美容护理"]
THEMES = ["新能源", "半导体", "人工智能", "云计算", "光伏", "军工龙头", "白酒", "创新药", "证券", "5G通信", "消费电子",
          "机器人", "稀土", "养殖", "基建", "高端装备", "新材料", "医疗器械", "智能汽车", "储能", "物联网", "大数据",
          "碳中和", "央企改革", "红利低波", "黄金股", "游戏", "影视", "旅游", "家电龙头", "化工龙头", "钢铁龙头",
          "煤炭龙头", "有色龙头", "生物医药", "中药", "银行龙头", "保险", "地产龙头", "农业", "电网设备", "风电",
          "锂电池", "芯片设计", "软件服务", "网络安全", "卫星导航", "航空航天", "船舶", "电力"]
STYLES = ["红利", "低波动", "价值", "成长", "小盘", "大盘", "动量", "质量", "高股息", "基本面", "等权", "高贝塔"]
MANAGERS = ["华夏基金", "易方达基金", "南方基金", "嘉实基金", "广发基金", "华泰柏瑞基金", "国泰基金", "富国基金", "博时基金", "招商基金"]


@dataclass(frozen=True)
class SynthSize:
    n_stocks: int
    n_industries: int
    years: int
    n_themes: int
    n_styles: int


SIZES = {
    "small": SynthSize(160, 8, 4, 6, 4),
    "default": SynthSize(800, 30, 10, 20, 8),
    "large": SynthSize(3000, 30, 15, 50, 12),
}
START = pd.Timestamp("2013-01-04")
BROAD = [("000300.SH", "沪深300", 0.0, 0.20), ("000905.SH", "中证500", 0.20, 0.50), ("000852.SH", "中证1000", 0.50, 0.90)]


def trading_calendar(start: pd.Timestamp, years: int) -> pd.DatetimeIndex:
    """Weekdays minus fixed holiday windows (New Year, a Spring Festival week, Labour Day, National Day)."""
    days = pd.bdate_range(start, start + pd.DateOffset(years=years) - pd.Timedelta(days=1))
    md = days.month * 100 + days.day
    hol = (md == 101) | ((md >= 210) & (md <= 216)) | ((md >= 501) & (md <= 503)) | ((md >= 1001) & (md <= 1007))
    return pd.DatetimeIndex(days[~hol], name="date")


def _garch(rng, T: int, n: int, ann_vol, alpha=0.14, beta=0.84, df=4.0) -> np.ndarray:
    """GARCH(1,1) returns with standardised Student-t(df) shocks; unconditional daily sd = ann_vol/√252."""
    var = (np.broadcast_to(np.asarray(ann_vol, float), (n,)) / np.sqrt(252)) ** 2
    omega = var * (1 - alpha - beta)
    z = rng.standard_t(df, size=(T, n)) / np.sqrt(df / (df - 2))
    out = np.empty((T, n))
    s2 = var.copy()
    for t in range(T):  # the GARCH recursion is inherently sequential; its body is numpy over codes
        out[t] = np.sqrt(s2) * z[t]
        s2 = omega + alpha * out[t] ** 2 + beta * s2
    return out


def _ar1(rng, T: int, n: int, half_life: float) -> np.ndarray:
    """Stationary AR(1) with sd 1: x_t = φ x_{t-1} + √(1−φ²) η_t, φ = 0.5^(1/half_life)."""
    phi = 0.5 ** (1 / half_life)
    eta = rng.standard_normal((T, n)) * np.sqrt(1 - phi**2)
    eta[0] = rng.standard_normal(n)
    from scipy.signal import lfilter

    return lfilter([1.0], [1.0, -phi], eta, axis=0)


def _macro(rng, cal: pd.DatetimeIndex) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Monthly macro (3 years of history before the calendar) and the true daily regime directions E_t, C_t."""
    periods = pd.date_range(cal[0] - pd.DateOffset(years=3), cal[-1], freq="MS")
    m = np.arange(len(periods))

    def ar(rho, sd):
        e = rng.standard_normal(len(m)) * sd
        from scipy.signal import lfilter

        return lfilter([1.0], [1.0, -rho], e)

    earn = 8 + 12 * np.sin(2 * np.pi * m / 40 + rng.uniform(0, 6.28)) + ar(0.7, 2.0)
    credit = 12 + 3 * np.sin(2 * np.pi * m / 30 + rng.uniform(0, 6.28)) + ar(0.7, 0.5)
    cpi = 2 + 1.2 * np.sin(2 * np.pi * m / 36 + rng.uniform(0, 6.28)) + ar(0.6, 0.3)
    ppi = 0.35 * (earn - 8) + ar(0.8, 1.0)
    # release lags (conservative, like the real series): PPI/CPI ~10th, credit ~15th, profits ~27th of next month
    nxt = periods + pd.DateOffset(months=1)
    rows = []
    for series, vals, day in (("industrial_profit_yoy", earn, 27), ("tsf_yoy", credit, 15), ("cpi_yoy", cpi, 10), ("ppi_yoy", ppi, 10)):
        rows.append(pd.DataFrame({"period": periods, "series": series, "value": np.round(vals, 2),
                                  "release_date": nxt + pd.to_timedelta(day - 1, unit="D")}))
    macro = pd.concat(rows, ignore_index=True)
    E = np.sign(earn - np.r_[np.full(3, np.nan), earn[:-3]])
    C = np.sign(credit - np.r_[np.full(3, np.nan), credit[:-3]])
    # the true regime of month m acts during month m (the observer learns it ~1 month later)
    pos = periods.searchsorted(cal, side="right") - 1
    return macro, pd.Series(np.nan_to_num(E[pos]), index=cal), pd.Series(np.nan_to_num(C[pos]), index=cal)


def synthesize(size: str = "default", seed: int = 0, signal: float = 1.0, progress=None) -> dict[str, pd.DataFrame]:
    """Generate every bundle table of a synthetic market; see the module docstring for the model."""
    if size not in SIZES:
        raise ConfigError(f"unknown synthetic size {size!r}; use one of {list(SIZES)}")
    if not np.isfinite(signal) or signal < 0:
        raise ConfigError(f"signal must be a finite number >= 0, got {signal}")
    sz = SIZES[size]
    step = progress or (lambda msg: None)
    root = np.random.default_rng(seed)
    rngs = dict(zip(["stocks", "macro", "fund", "flows", "index", "etf", "ohlc"], root.spawn(7)))
    rng = rngs["stocks"]
    cal = trading_calendar(START, sz.years)
    T, N, K = len(cal), sz.n_stocks, sz.n_industries
    S = float(signal)

    # ---------------------------------------------------------------- stocks: static attributes
    step("stocks: attributes")
    exch = rng.random(N) < 0.55
    num = rng.choice(np.arange(1, 4000), N, replace=False)
    codes = np.where(exch, [f"60{n:04d}.SH" for n in num], [f"00{n:04d}.SZ" for n in num])
    order = np.argsort(codes)
    codes = codes[order]
    ind0 = rng.integers(0, K, N)
    beta = rng.normal(1.0, 0.25, N).clip(0.3, 1.8)
    gamma = rng.normal(1.0, 0.2, N).clip(0.3, 1.8)
    idio_vol = rng.uniform(0.20, 0.38, N)
    log_mcap0 = rng.normal(np.log(1.5e10), 1.0, N)
    x_style = np.c_[-(log_mcap0 - log_mcap0.mean()) / log_mcap0.std(), rng.standard_normal(N)]
    price0 = np.exp(rng.normal(2.5, 0.6, N))
    shares = np.exp(log_mcap0) / price0
    div_yield = rng.uniform(0, 0.03, N) * (rng.random(N) < 0.7)
    list_off = np.where(rng.random(N) < 0.72, -rng.integers(250, 4000, N), rng.integers(20, T - 60, N))
    list_date = np.where(list_off < 0, (START + pd.to_timedelta(list_off * 1.45, unit="D")).to_numpy(),
                         cal[np.clip(list_off, 0, T - 1)].to_numpy())
    list_pos = np.where(list_off < 0, 0, list_off)
    delist = rng.random(N) < 0.05
    delist_pos = np.where(delist, rng.integers(T // 2, T - 5, N), T)
    delist_pos = np.maximum(delist_pos, list_pos + 130)
    delist = delist & (delist_pos < T)
    delist_pos = np.where(delist, delist_pos, T)
    # industry changes for ~2 % of stocks, mid-sample
    ind_path = np.repeat(ind0[None, :], T, axis=0)
    movers = np.flatnonzero(rng.random(N) < 0.02)
    move_pos = rng.integers(T // 4, 3 * T // 4, movers.size)
    new_ind = (ind0[movers] + rng.integers(1, K, movers.size)) % K
    for j, p, k in zip(movers, move_pos, new_ind):  # a handful of stocks
        ind_path[p:, j] = k

    # ---------------------------------------------------------------- returns
    step("stocks: returns (GARCH, t(4) shocks, planted signals)")
    macro, E, C = _macro(rngs["macro"], cal)
    mkt = _garch(rng, T, 1, 0.20)[:, 0] + 0.0003
    ind_ret = _garch(rng, T, K, 0.12)
    style_ret = _garch(rng, T, 2, 0.06)
    idio = _garch(rng, T, N, idio_vol) + (rng.random((T, N)) < 0.01) * rng.normal(0, 0.06, (T, N))  # news jumps
    a = _ar1(rng, T, N, 40.0)
    q = _ar1(rng, T, N, 250.0)  # slow stock 'quality' alpha: drives earnings growth
    b = _ar1(rng, T, K, 90.0)
    e_k, c_k = rng.standard_normal(K), rng.standard_normal(K)
    ind_drift = S * (0.0004 * b + 0.0003 * (np.outer(E.to_numpy(), e_k) + np.outer(C.to_numpy(), c_k)))
    r = (beta[None, :] * mkt[:, None] + gamma[None, :] * np.take_along_axis(ind_ret, ind_path, 1)
         + style_ret @ x_style.T + idio + S * (0.0006 * a + 0.0004 * q) + np.take_along_axis(ind_drift, ind_path, 1))
    # a drawdown and an ST spell before a delisting; random ST spells
    tpos = np.arange(T)[:, None]
    pre_delist = (tpos >= delist_pos[None, :] - 60) & (tpos < delist_pos[None, :]) & delist[None, :]
    r = r - S * 0.004 * pre_delist  # distress before a delisting: a planted (predictable) drift, so scaled by S
    st = (tpos >= delist_pos[None, :] - 120) & (tpos < delist_pos[None, :]) & delist[None, :]
    st_start = np.where(rng.random(N) < 0.04, rng.integers(0, T, N), T + 1)
    st |= (tpos >= st_start[None, :]) & (tpos < st_start[None, :] + 200)
    listed = (tpos >= list_pos[None, :]) & (tpos < delist_pos[None, :])
    # suspensions: ~1.5 spells per stock, geometric lengths (mean 5 days)
    susp = np.zeros((T, N), bool)
    n_sp = rng.poisson(1.5, N)
    sp_stock = np.repeat(np.arange(N), n_sp)
    sp_start = rng.integers(0, T, sp_stock.size)
    sp_len = rng.geometric(0.2, sp_stock.size)
    for j, s0, ln in zip(sp_stock, sp_start, sp_len):  # ~1.5 spells per stock
        susp[s0:s0 + ln, j] = True
    susp &= listed & (tpos > list_pos[None, :])
    r = np.where(susp, 0.0, r)
    limit = np.where(st, 0.05, 0.10)
    r = np.clip(r, -limit + 1e-12, limit - 1e-12)
    r[~listed] = 0.0
    r[tpos == list_pos[None, :]] = 0.0

    # ---------------------------------------------------------------- prices, dividends, volume
    step("stocks: prices, dividends, volume")
    tr_px = price0[None, :] * np.cumprod(1 + r, axis=0)
    ex_day = (cal.month == 7) & (cal.day >= 10)
    first_ex = np.zeros(T, bool)
    yrs = cal.year.to_numpy()
    for y in np.unique(yrs):  # one ex-dividend date per year: the first trading day on or after 10 July
        idx = np.flatnonzero(ex_day & (yrs == y))
        if idx.size:
            first_ex[idx[0]] = True
    adj = np.cumprod(np.where(first_ex[:, None] & listed, 1 / (1 - div_yield[None, :]), 1.0), axis=0)
    close = tr_px / adj
    prev_close = np.vstack([close[:1] / (1 + r[:1]), close[:-1]])
    ro = rngs["ohlc"]
    dvol = (idio_vol / np.sqrt(252))[None, :]
    raw_ret = close / prev_close - 1
    gap = np.clip(ro.standard_normal((T, N)) * 0.3 * dvol + 0.3 * raw_ret, -limit + 1e-9, limit - 1e-9)
    open_ = prev_close * (1 + gap)
    hi = np.maximum(open_, close) * (1 + np.abs(ro.standard_normal((T, N))) * 0.5 * dvol)
    lo = np.minimum(open_, close) * (1 - np.abs(ro.standard_normal((T, N))) * 0.5 * dvol)
    hi = np.minimum(hi, np.maximum(prev_close * (1 + limit), np.maximum(open_, close)))
    lo = np.maximum(lo, np.minimum(prev_close * (1 - limit), np.minimum(open_, close)))
    open_ = np.where(susp, close, open_)  # suspended: one flat price (the raw close; an ex-date still moves it)
    hi = np.where(susp, close, hi)
    lo = np.where(susp, close, lo)
    lim_up = (raw_ret >= limit - 2e-3) & ~susp
    lim_dn = (raw_ret <= -limit + 2e-3) & ~susp
    z_r = r / dvol
    turnover = np.exp(np.log(rng.uniform(0.005, 0.03, N))[None, :] + 0.25 * S * a + 0.15 * np.abs(z_r)
                      + 0.3 * ro.standard_normal((T, N)))
    volume = np.where(susp, 0.0, np.round(turnover * shares[None, :], -2))
    vwap = (open_ + hi + lo + close) / 4
    amount = volume * vwap
    mcap = close * shares[None, :]

    # ---------------------------------------------------------------- flows
    step("stocks: fund flows")
    rf = rngs["flows"]
    noise = lambda: rf.standard_normal((T, N))  # noqa: E731
    north = (log_mcap0 > np.quantile(log_mcap0, 0.6))[None, :] & np.asarray(cal >= pd.Timestamp("2014-11-17"))[:, None]
    flows = {
        "net_buy_amount": amount * (0.005 * S * a + 0.10 * z_r / 3 + 0.05 * noise()),
        "net_active_buy_amount": amount * (0.004 * S * a + 0.08 * z_r / 3 + 0.05 * noise()),
        "main_net_inflow": amount * (0.006 * S * a + 0.06 * z_r / 3 + 0.06 * noise()),
        "large_order_net_volume": volume * (0.006 * S * a + 0.06 * z_r / 3 + 0.06 * noise()),
        "northbound_value": np.where(north, amount * (0.004 * S * a + 0.04 * noise()), np.nan),
    }

    # ---------------------------------------------------------------- fundamentals (quarterly, announced with lags)
    step("stocks: fundamentals")
    fund = _fundamentals(rngs["fund"], cal, codes, q, b, ind_path, macro, price0, S)

    # ---------------------------------------------------------------- assemble stock tables
    step("stocks: tables")
    rows, cols = np.nonzero(listed)
    d_idx = cal[rows]
    stock_bars = pd.DataFrame({
        "date": d_idx, "code": codes[cols],
        "open": open_[rows, cols], "high": hi[rows, cols], "low": lo[rows, cols], "close": close[rows, cols],
        "volume": volume[rows, cols], "amount": amount[rows, cols], "adj_factor": adj[rows, cols],
        "is_st": st[rows, cols], "is_suspended": susp[rows, cols],
        "limit_up": lim_up[rows, cols], "limit_down": lim_dn[rows, cols],
    })
    flows_df = pd.DataFrame({"date": d_idx, "code": codes[cols], **{k: v[rows, cols] for k, v in flows.items()}})
    ind_names = np.array(SW_L1[:K], dtype=object)
    stock_info = pd.DataFrame({
        "code": codes, "name": [f"合成{c[:6]}" for c in codes], "list_date": list_date,
        "delist_date": np.where(delist, cal[np.clip(delist_pos, 0, T - 1)].to_numpy(), np.datetime64("NaT")),
        "industry_l1": ind_names[ind_path[-1]],
    })
    stock_industry = pd.DataFrame({"date": np.minimum(list_date, cal[0].to_datetime64()), "code": codes, "industry_l1": ind_names[ind0]})
    chg = pd.DataFrame({"date": cal[move_pos], "code": codes[movers], "industry_l1": ind_names[new_ind]})
    stock_industry = pd.concat([stock_industry, chg], ignore_index=True)
    valuation = _valuation(cal, codes, close, listed, fund)

    # ---------------------------------------------------------------- indices
    step("indices: constituents, weights, levels")
    idx = _indices(rngs["index"], cal, codes, close, tr_px, mcap, volume, amount, listed, list_pos, ind_path,
                   ind_names, idio_vol, div_yield, x_style, sz)
    step("ETFs")
    etf = _etfs(rngs["etf"], cal, idx)
    step("done")
    return {
        "calendar": pd.DataFrame({"date": cal}),
        "stock_bars": stock_bars, "stock_info": stock_info, "stock_industry": stock_industry,
        "index_bars": idx["bars"], "index_info": idx["info"], "index_weights": idx["weights"],
        "etf_bars": etf["bars"], "etf_info": etf["info"],
        "fundamentals": fund, "valuation": valuation, "flows": flows_df, "macro": macro,
    }


def _fundamentals(rng, cal, codes, q_alpha, b, ind_path, macro, price0, S):
    """Quarterly single-quarter EPS with seasonality; growth g = macro + planted alpha + noise (module doc)."""
    N = len(codes)
    qends = pd.date_range(cal[0] - pd.DateOffset(years=2), cal[-1], freq="QE")
    Q = len(qends)
    earn = macro[macro["series"] == "industrial_profit_yoy"].set_index("period")["value"]
    e_q = earn.reindex(earn.index.union(qends)).ffill().reindex(qends).fillna(8.0).to_numpy() / 100
    qpos = cal.searchsorted(qends, side="right") - 1  # last trading day of each quarter (-1 before the calendar)
    # mean of the latent alphas over each quarter (0 before the calendar)
    a_q = np.zeros((Q, N))
    b_q = np.zeros((Q, N))
    bs = np.take_along_axis(b, ind_path, 1)
    for q in range(Q):  # ~40–60 quarters, body numpy over stocks
        lo_, hi_ = (qpos[q - 1] + 1 if q else 0), qpos[q] + 1
        if hi_ > lo_ and qpos[q] >= 0:
            a_q[q], b_q[q] = q_alpha[lo_:hi_].mean(0), bs[lo_:hi_].mean(0)
    g = np.clip(0.5 * e_q[:, None] + S * (0.15 * a_q + 0.02 * b_q) + 0.12 * rng.standard_normal((Q, N)), -0.8, 2.0)
    season = np.array([0.22, 0.26, 0.24, 0.28])
    base = price0 / rng.uniform(12, 40, N)  # annual EPS at the start (P/E 12–40)
    eps = np.empty((Q, N))
    for q in range(Q):  # quarterly compounding of growth vs the same quarter a year earlier
        prev = eps[q - 4] if q >= 4 else base * season[qends[q].quarter - 1]
        eps[q] = prev * (1 + g[q])
    bvps0 = price0 / rng.uniform(1.0, 4.0, N)
    bvps = bvps0[None, :] + np.cumsum(0.6 * eps, axis=0)
    eps_ttm = pd.DataFrame(eps).rolling(4, min_periods=4).sum().to_numpy()
    np_yoy = np.vstack([np.full((4, N), np.nan), eps[4:] / eps[:-4] - 1])
    # announcement dates: Q1 in April, H1 mid-July to end of August, Q3 in October, annual March–April
    q_of = qends.quarter.to_numpy()
    lo_lag = np.array([15, 20, 15, 60])[q_of - 1]
    hi_lag = np.array([30, 62, 31, 120])[q_of - 1]
    lag = lo_lag[:, None] + (rng.random((Q, N)) * (hi_lag - lo_lag)[:, None]).astype(int)
    ann = qends.to_numpy()[:, None] + lag.astype("timedelta64[D]")
    qq, ii = np.meshgrid(np.arange(Q), np.arange(N), indexing="ij")
    fund = pd.DataFrame({
        "code": codes[ii.ravel()], "report_period": qends.to_numpy()[qq.ravel()], "announce_date": ann.ravel(),
        "roe_ttm": (eps_ttm / bvps).ravel(), "roe_q": (eps / bvps).ravel(), "np_yoy": np_yoy.ravel(),
        "eps": eps.ravel(), "eps_ttm": eps_ttm.ravel(), "bvps": bvps.ravel(),
    })
    fund = fund[fund["announce_date"] <= cal[-1]].reset_index(drop=True)
    return fund


def _valuation(cal, codes, close, listed, fund) -> pd.DataFrame:
    """Daily PE_TTM = close / EPS_TTM (NaN if EPS_TTM ≤ 0) and PB = close / BVPS, point-in-time by announce date."""
    from etfrot.data.pit import asof_panel

    eps = asof_panel(fund, cal, effective="announce_date", code="code", value="eps_ttm", codes=pd.Index(codes)).to_numpy()
    bv = asof_panel(fund, cal, effective="announce_date", code="code", value="bvps", codes=pd.Index(codes)).to_numpy()
    # EPS/BVPS were generated on the first-day price scale; dividends leave them unchanged (no split)
    with np.errstate(divide="ignore", invalid="ignore"):
        pe = np.where(eps > 0, close / eps, np.nan)
        pb = np.where(bv > 0, close / bv, np.nan)
    rows, cols = np.nonzero(listed)
    return pd.DataFrame({"date": cal[rows], "code": codes[cols], "pe_ttm": pe[rows, cols], "pb": pb[rows, cols]})


def _index_levels(snap_pos: np.ndarray, W: np.ndarray, px: np.ndarray) -> np.ndarray:
    """Buy-and-hold between snapshots: L_t = L_{s_j} · Σ_i w_i(s_j)·P_i(t)/P_i(s_j) for s_j < t ≤ s_{j+1}.

    The snapshot taken at the close of s_j is in force from the next day on (no look-ahead).
    """
    T = px.shape[0]
    seg = np.clip(np.searchsorted(snap_pos, np.arange(T), side="left") - 1, 0, None)  # s_j < t
    base_px = px[snap_pos]  # (S, N)
    with np.errstate(divide="ignore", invalid="ignore"):
        A = np.where(W > 0, W / base_px, 0.0)
    growth = np.einsum("tn,tn->t", A[seg], np.nan_to_num(px))
    growth[: snap_pos[0] + 1] = 1.0
    seg_growth = growth[snap_pos[1:]] if len(snap_pos) > 1 else np.array([])
    cum = np.r_[1.0, np.cumprod(seg_growth)]
    return 1000.0 * cum[seg] * growth


def _indices(rng, cal, codes, close, tr_px, mcap, volume, amount, listed, list_pos, ind_path, ind_names,
             idio_vol, div_yield, x_style, sz):
    T, N = close.shape
    month = cal.to_period("M")
    snap_pos = np.unique(np.r_[0, np.flatnonzero(np.r_[month[1:] != month[:-1], False])])  # first day, then month ends
    tpos = np.arange(T)
    seasoned = listed[snap_pos] & (snap_pos[:, None] >= list_pos[None, :] + 40)
    mc = np.where(seasoned, mcap[snap_pos], np.nan)
    px = pd.DataFrame(np.where(listed | (tpos[:, None] < list_pos[None, :]), close, np.nan)).ffill().to_numpy()
    tpx = pd.DataFrame(np.where(listed | (tpos[:, None] < list_pos[None, :]), tr_px, np.nan)).ffill().to_numpy()
    rank = pd.DataFrame(mc).rank(axis=1, ascending=False, pct=True).to_numpy()

    defs = []  # (code, name, category, member mask (S, N), weight basis (S, N))
    for code, name, lo, hi in BROAD:
        defs.append((code, name, "broad", (rank > lo) & (rank <= hi), mc))
    ind_at_snap = ind_path[snap_pos]
    for k, nm in enumerate(ind_names):
        defs.append((f"801{k + 1:02d}0.SI", f"申万{nm}", "industry_theme", (ind_at_snap == k) & seasoned, mc))
    for j in range(sz.n_themes):
        ks = rng.choice(len(ind_names), 2, replace=False)
        mem = np.isin(ind_at_snap, ks) & seasoned
        big = pd.DataFrame(np.where(mem, mc, np.nan)).rank(axis=1, ascending=False, pct=True).to_numpy() <= 0.6
        defs.append((f"930{j + 601:03d}.CSI", f"中证{THEMES[j % len(THEMES)]}", "industry_theme", mem & big, np.sqrt(mc)))
    trail_vol = pd.DataFrame(np.log(px)).diff().rolling(120, min_periods=60).std().to_numpy()[snap_pos]
    style_keys = {"红利": div_yield[None, :] + 0 * mc, "低波动": -trail_vol, "价值": x_style[None, :, 1] + 0 * mc,
                  "成长": -x_style[None, :, 1] + 0 * mc, "小盘": -mc, "大盘": mc, "动量": rng.standard_normal(N)[None, :] + 0 * mc,
                  "质量": -idio_vol[None, :] + 0 * mc, "高股息": div_yield[None, :] + 0 * mc, "基本面": np.log(mc),
                  "等权": rng.random(N)[None, :] + 0 * mc, "高贝塔": trail_vol}
    for j in range(sz.n_styles):
        nm = STYLES[j % len(STYLES)]
        key = np.where(seasoned, style_keys[nm], np.nan)
        mem = pd.DataFrame(key).rank(axis=1, ascending=False, pct=True).to_numpy() <= 0.3
        basis = np.ones_like(mc) if nm == "等权" else mc
        defs.append((f"H3{j + 1:04d}.CSI", f"中证{nm}", "strategy_style", mem & seasoned, basis))

    bars, info, weights, tr_levels = [], [], [], {}
    for code, name, cat, mem, basis in defs:
        W = np.where(mem, np.nan_to_num(basis), 0.0)
        tot = W.sum(1)
        keep = np.flatnonzero(tot > 0)  # a snapshot with no eligible member keeps the previous one
        src = keep[np.clip(np.searchsorted(keep, np.arange(len(W)), side="right") - 1, 0, None)]
        W, mem = W[src] / tot[src, None], mem[src]
        lvl = _index_levels(snap_pos, W, px)
        tr_levels[code] = _index_levels(snap_pos, W, tpx)
        seg = np.clip(np.searchsorted(snap_pos, tpos, side="left") - 1, 0, None)
        memd = mem[seg]
        vol = (np.where(memd, volume, 0.0)).sum(1)
        amt = (np.where(memd, amount, 0.0)).sum(1)
        bars.append(_ohlc(rng, cal, code, lvl, vol, amt, 0.6))
        info.append((code, name, cat, "cn", None))
        s_idx, n_idx = np.nonzero(W > 0)
        weights.append(pd.DataFrame({"date": cal[snap_pos[s_idx]], "index_code": code, "stock_code": codes[n_idx], "weight": W[s_idx, n_idx]}))
        if cat == "broad":
            trc = "H00" + code[3:6] + ".CSI"
            bars.append(_ohlc(rng, cal, trc, tr_levels[code], vol, amt, 0.6))
            info.append((trc, name + "全收益", "broad", "cn", code))
    for code, name in (("SPX.GI", "标普500"), ("HSI.HI", "恒生指数")):  # overseas, no constituents here
        lvl = 1000 * np.exp(np.cumsum(_garch(rng, T, 1, 0.18)[:, 0] + 0.0002))
        tr_levels[code] = lvl
        bars.append(_ohlc(rng, cal, code, lvl, np.full(T, np.nan), np.full(T, np.nan), 0.6))
        info.append((code, name, "broad", "overseas", None))
    return {
        "bars": pd.concat(bars, ignore_index=True),
        "info": pd.DataFrame(info, columns=["code", "name", "category", "region", "total_return_of"]),
        "weights": pd.concat(weights, ignore_index=True),
        "tr": tr_levels,
    }


def _ohlc(rng, cal, code, close, volume, amount, spread) -> pd.DataFrame:
    """Bars from a close path: open near the previous close, high/low around open and close."""
    prev = np.r_[close[0], close[:-1]]
    r = close / prev - 1
    sd = max(np.nanstd(r), 1e-4)
    open_ = prev * (1 + 0.3 * r + 0.2 * sd * rng.standard_normal(len(close)))
    hi = np.maximum(open_, close) * (1 + spread * sd * np.abs(rng.standard_normal(len(close))))
    lo = np.minimum(open_, close) * (1 - spread * sd * np.abs(rng.standard_normal(len(close))))
    return pd.DataFrame({"date": cal, "code": code, "open": open_, "high": hi, "low": lo, "close": close,
                         "volume": volume, "amount": amount})


def _etfs(rng, cal, idx) -> dict[str, pd.DataFrame]:
    """1–4 ETFs per index: NAV = tracked total-return index − fee accrual + tracking noise; price = NAV·(1+premium)."""
    T = len(cal)
    info_rows, bars = [], []
    used: set[str] = set()
    for _, ix in idx["info"].iterrows():
        if ix["total_return_of"] is not None and not pd.isna(ix["total_return_of"]):
            continue  # ETFs track the price index; their NAV earns the dividends (total return)
        n = 4 if ix["code"] == "000300.SH" else int(rng.choice([1, 1, 2, 2, 3, 4]))
        tr = idx["tr"][ix["code"]]
        tr_ret = np.r_[0.0, tr[1:] / tr[:-1] - 1]
        for j in range(n):
            while True:
                code = (f"51{rng.integers(0, 10000):04d}.SH" if rng.random() < 0.6 else f"159{rng.integers(0, 1000):03d}.SZ")
                if code not in used:
                    used.add(code)
                    break
            fee = float(rng.choice([0.0015, 0.0020, 0.0050, 0.0060]))
            young = rng.random() < 0.35
            lp = int(rng.integers(60, T - 40)) if young else 0
            list_date = cal[lp] if young else cal[0] - pd.Timedelta(days=int(rng.integers(30, 2000)))
            te = rng.uniform(0.5e-4, 4e-4)
            ret = tr_ret - fee / 252 + te * rng.standard_normal(T)
            nav = np.cumprod(1 + np.where(np.arange(T) > lp, ret, 0.0)) * float(rng.choice([1.0, 1.0, 2.0, 3.5]))
            prem = pd.Series(rng.standard_normal(T) * 8e-4).ewm(alpha=0.4).mean().to_numpy()
            close = nav * (1 + prem)
            tiny = rng.random() < 0.22
            aum0 = np.exp(rng.normal(np.log(4e7) if tiny else np.log(1.5e9), 0.8))
            aum = aum0 * np.exp(np.cumsum(0.01 * rng.standard_normal(T))) * nav / nav[lp]
            delist_pos = int(rng.integers(max(T // 2, lp + 130), T + 120)) if (tiny and rng.random() < 0.4) else T
            delist_pos = delist_pos if delist_pos < T - 5 else T
            live = slice(lp, delist_pos)
            b = _ohlc(rng, cal, code, close, np.zeros(T), np.zeros(T), 0.4).iloc[live].copy()
            turn = np.exp(rng.normal(np.log(0.03), 0.5, len(b)))
            amt = aum[live] * turn
            vwap = (b["open"] + b["high"] + b["low"] + b["close"]).to_numpy() / 4
            b["volume"] = np.round(amt / vwap, -2)
            b["amount"] = b["volume"].to_numpy() * vwap
            b["adj_factor"] = 1.0
            b["aum"] = aum[live]
            bars.append(b)
            info_rows.append({
                "code": code, "name": f"{ix['name']}ETF{j + 1 if j else ''}", "tracked_index": ix["code"],
                "list_date": list_date, "delist_date": cal[delist_pos] if delist_pos < T else pd.NaT,
                "manager": str(rng.choice(MANAGERS)), "fee_rate": fee,
                "category": "cross_border" if ix["region"] == "overseas" else "equity",
            })
    return {"bars": pd.concat(bars, ignore_index=True), "info": pd.DataFrame(info_rows)}


def build_synthetic(path: str | Path, size: str = "default", seed: int = 0, signal: float = 1.0,
                    progress: bool = False) -> Bundle:
    """Generate the synthetic market and write it as a bundle (atomically); returns the opened bundle."""
    if progress:
        from rich.progress import Progress

        with Progress(transient=True) as p:
            task = p.add_task("synthetic market", total=9)

            def step(msg):
                p.update(task, advance=1, description=f"synthetic: {msg}")

            tables = synthesize(size, seed, signal, progress=step)
            p.update(task, description="synthetic: validating and writing")
            return write_bundle(path, tables, source="synthetic", meta={"size": size, "seed": seed, "signal": signal})
    tables = synthesize(size, seed, signal)
    return write_bundle(path, tables, source="synthetic", meta={"size": size, "seed": seed, "signal": signal})
