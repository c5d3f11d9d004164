"""Stock pools (point-in-time members, exclusions of SPEC §3), universes, and the `etfrot factor` CLI."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from etfrot.cli import app
from etfrot.data.calendar import rebalance_dates
from etfrot.errors import ConfigError
from etfrot.evaluation import resolve_universe, stock_pool


def test_stock_pool_members_and_exclusions(small_bundle):
    b = small_bundle
    d = rebalance_dates(b.calendar, "weekly")
    raw = stock_pool(b, "csi300", d, exclude=())
    members = b.members_panel("000300.SH", d).reindex(columns=raw.columns, fill_value=False)
    assert (raw.to_numpy() <= members.to_numpy()).all()  # only members, point-in-time
    assert raw.to_numpy().any()
    pool = stock_pool(b, "csi300", d)
    flags = [b.panel("stock_bars", f).reindex(index=d, columns=pool.columns).fillna(0).to_numpy() > 0
             for f in ("is_suspended", "is_st", "limit_up", "limit_down")]
    bad = np.logical_or.reduce(flags)
    assert not (pool.to_numpy() & bad).any()  # nobody suspended, ST or at a limit
    assert (pool.to_numpy() == (raw.to_numpy() & ~bad)).all()
    assert bad[raw.to_numpy()].any()  # the exclusions did remove someone
    all_ = stock_pool(b, "all", d)
    assert all_.to_numpy().sum() > pool.to_numpy().sum()
    for name in ("csi500", "zz1000"):
        assert stock_pool(b, name, d).to_numpy().any()
    with pytest.raises(ConfigError, match="unknown stock pool"):
        stock_pool(b, "csi42", d)


def test_universes(small_bundle):
    d = rebalance_dates(small_bundle.calendar, "monthly")
    info = small_bundle.info("index")
    ind = resolve_universe(small_bundle, "industry", d)
    assert set(info.loc[ind.codes, "category"]) == {"industry_theme"}
    allidx = resolve_universe(small_bundle, "index", d)
    assert "overseas" not in set(info.loc[allidx.codes, "region"])
    etf = resolve_universe(small_bundle, "etf", d)
    assert etf.level == "etf" and etf.mask.to_numpy().any()
    with pytest.raises(ConfigError, match="unknown universe"):
        resolve_universe(small_bundle, "bonds", d)


def test_cli_list_and_test_write_tables_and_report(small_bundle, tmp_path):
    r = CliRunner().invoke(app, ["factor", "list"])
    assert r.exit_code == 0, r.output
    assert "dde10" in r.output and "inflation_beta" in r.output
    out = tmp_path / "ft"
    r = CliRunner().invoke(app, ["factor", "test", "mom250", "bias", "eps_growth_qoq", "main_inflow", "dde10",
                                 "--bundle", str(small_bundle.path), "--universe", "etf", "--freq", "weekly",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "Table 4" in r.output and "Table 5" in r.output and "SYNTHETIC" in r.output
    import pandas as pd

    t4 = pd.read_csv(out / "table4.csv", index_col=0)
    assert list(t4.index) == ["mom250", "bias", "eps_growth_qoq", "main_inflow", "dde10"]
    t5 = pd.read_csv(out / "table5.csv", index_col=0)
    assert "universe (平均)" in t5.index
    html = (out / "report.html").read_text()
    assert "SYNTHETIC" in html and html.count("data:image/png;base64") >= 3
    man = json.loads((out / "manifest.json").read_text())
    assert man["synthetic"] is True
    bad = CliRunner().invoke(app, ["factor", "test", "nosuch", "--bundle", str(small_bundle.path)])
    assert bad.exit_code != 0


def test_run_panel_tests_on_an_unregistered_stock_factor(small_bundle):
    from etfrot.evaluation import forward_returns, run_panel_tests

    d = rebalance_dates(small_bundle.calendar, "monthly")
    px = small_bundle.panel("stock_bars", "close", adjusted=True)
    perfect = forward_returns(px, d)  # knows the next month: IC 1 in every pool
    rep = run_panel_tests({"oracle": perfect, "anti": -perfect}, small_bundle, universe="stock:csi500",
                          freq="monthly", quantiles=5)
    t4 = rep.table4()
    assert t4.loc["oracle", "rank_ic_mean"] == pytest.approx(1.0)
    assert t4.loc["anti", "rank_ic_mean"] == pytest.approx(-1.0)
    assert rep.correlation.loc["oracle", "anti"] == pytest.approx(-1.0)
    sp = rep.results["oracle"].quantiles.spread()
    assert (np.diff(sp.to_numpy()) > 0).all()


def test_screened_etf_and_tracked_index_universes(small_bundle):
    d = rebalance_dates(small_bundle.calendar, "monthly")[12:]
    allu = resolve_universe(small_bundle, "etf", d)
    scr = resolve_universe(small_bundle, "etf:screened", d)
    assert (scr.mask.to_numpy() <= allu.mask.to_numpy()).all() and scr.mask.to_numpy().sum() < allu.mask.to_numpy().sum()
    tracked = small_bundle.table("etf_info").set_index("code")["tracked_index"]
    for t in d[::6]:
        held = scr.mask.columns[scr.mask.loc[t].to_numpy()]
        assert tracked.reindex(held).is_unique  # one ETF per index
    iu = resolve_universe(small_bundle, "index:etf", d)
    assert iu.level == "index" and iu.mask.to_numpy().any()
    assert set(iu.codes[iu.mask.any().to_numpy()]) <= set(tracked)
