"""`etfrot universe screen|cluster`: ETF screening and clustering of the candidate pool (SPEC §5; seed 001 §2)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from etfrot.cli.app import app

console = Console()
universe_app = typer.Typer(help="ETF universe: screening (AUM, age, one ETF per index) and clustering.",
                           no_args_is_help=True)
app.add_typer(universe_app, name="universe")


def _cats(categories: str) -> list[str]:
    return [c.strip() for c in categories.split(",") if c.strip()]


def _date(b, date: str | None):
    import pandas as pd

    return b.calendar[-1] if not date else pd.Timestamp(date)


def _out(out: Path | None, kind: str, date) -> Path:
    return out if out is not None else Path("runs") / f"universe-{kind}-{date:%Y%m%d}"


def _tag(b) -> str:
    return f" [bold red]{b.label}[/]" if b.is_synthetic else f" ({b.label})"


def _screen_kwargs(categories: str, min_aum: float, min_months: int) -> dict:
    return dict(categories=_cats(categories), min_aum=min_aum if min_aum > 0 else None,
                min_listed_months=min_months if min_months > 0 else None)


@universe_app.command("screen")
def screen(
    bundle: Path = typer.Option(..., "--bundle", help="Bundle folder."),
    date: str = typer.Option(None, "--date", help="Screening date (default: the bundle's last trading day)."),
    categories: str = typer.Option("broad,industry_theme,strategy_style", help="Comma list of index categories."),
    min_aum: float = typer.Option(1e8, "--min-aum", help="Minimum fund size in CNY (0 = off)."),
    min_months: int = typer.Option(3, "--min-months", help="Minimum months since listing (0 = off)."),
    freq: str = typer.Option(None, "--freq", help="Also count removals at every weekly|monthly rebalance date."),
    out: Path = typer.Option(None, "--out", help="Report folder (default runs/universe-screen-<date>)."),
    no_report: bool = typer.Option(False, "--no-report", help="Print only; write no report."),
) -> None:
    """Screen the ETFs on a date: who is dropped by which rule, and the one ETF kept per index."""
    import pandas as pd
    from rich.table import Table

    from etfrot.data import Bundle, rebalance_dates
    from etfrot.universe.screen import screen_etfs

    b = Bundle.open(bundle)
    t = _date(b, date)
    kw = _screen_kwargs(categories, min_aum, min_months)
    dates = pd.DatetimeIndex([t])
    if freq:
        dates = rebalance_dates(b.calendar, freq, end=t).union(dates)
    r = screen_etfs(b, dates, **kw)
    t = r._date(t)
    c = r.counts.loc[t]
    tab = Table("rule", "ETFs removed", "indices removed", title=f"Screening on {t:%Y-%m-%d}{_tag(b)}")
    tab.add_row("listed", str(int(c["listed_etfs"])), str(int(c["listed_indices"])))
    for rule in ("unknown_index", "overseas", "category", "small", "young", "duplicate"):
        tab.add_row(rule, str(int(c[f"{rule}_etfs"])), str(int(c[f"{rule}_indices"])))
    tab.add_row("[bold]kept[/]", f"[bold]{int(c['kept_etfs'])}[/]", f"[bold]{int(c['kept_indices'])}[/]")
    console.print(tab)
    kept = _kept_table(b, r.at(t))
    kt = Table("ETF", "name", "index", "category", "size (亿元)", "amount20 (万元)", "fee",
               title=f"Kept ETFs (one per index){_tag(b)}")
    for row in kept.itertuples(index=False):
        kt.add_row(row.etf, str(row.name), row.index, str(row.category),
                   f"{row.aum_yi:,.2f}" + ("*" if row.aum_source == "proxy" else ""),
                   _fmt(row.amount20_wan), "" if row.fee_rate != row.fee_rate else f"{row.fee_rate:.2%}")
    console.print(kt)
    if (kept["aum_source"] == "proxy").any():
        console.print("* size estimated from the 20-day traded amount (AUM unknown)")
    if no_report:
        return
    from etfrot.report import Section, write_report

    figs = []
    if len(r.counts) > 1:
        figs.append(_counts_figure(r.counts, b.label))
    secs = [Section(f"Screening on {t:%Y-%m-%d}",
                    text=f"Rules in order: overseas, category ({', '.join(kw['categories'])}), size < {min_aum:,.0f} CNY, "
                         f"listed < {min_months} months, one ETF per index (largest AUM, then 20-day amount, then fee). "
                         "Where AUM is unknown, size = 20-day average amount / turnover (see etfrot.universe.screen).",
                    tables={"kept": kept, "removed": r.removed_at(t), "counts": r.counts}, figures=figs)]
    path = write_report(_out(out, "screen", t), title=f"ETF screening {t:%Y-%m-%d}", synthetic=b.is_synthetic,
                        data_label=b.label, sections=secs, config={"date": f"{t:%Y-%m-%d}", **kw, "freq": freq},
                        manifest={"data_hash": b.content_hash})
    console.print(f"report: {path}")


def _kept_table(b, kept):
    import pandas as pd

    info, iinfo = b.info("etf"), b.info("index")
    return pd.DataFrame({
        "etf": kept["etf"].to_numpy(object),
        "name": info["name"].reindex(kept["etf"]).to_numpy(object),
        "index": kept["index"].to_numpy(object),
        "index_name": iinfo["name"].reindex(kept["index"]).to_numpy(object),
        "category": kept["category"].to_numpy(object),
        "aum_yi": kept["aum_used"].to_numpy(float) / 1e8,
        "aum_source": kept["aum_source"].to_numpy(object),
        "amount20_wan": kept["amount20"].to_numpy(float) / 1e4,
        "fee_rate": kept["fee_rate"].to_numpy(float),
    })


def _fmt(v: float) -> str:
    return "" if v != v else f"{v:,.0f}"


def _counts_figure(counts, label: str):
    from matplotlib.figure import Figure

    from etfrot.universe.cluster import _finish

    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.plot(counts.index, counts["listed_indices"], label="indices with a listed ETF")
    ax.plot(counts.index, counts["kept_indices"], label="indices kept (investable)")
    ax.plot(counts.index, counts["listed_etfs"], ls="--", label="listed ETFs")
    ax.grid(True, color="#e6e6e6")
    ax.legend()
    return _finish(fig, "Investable indices over time", label)


@universe_app.command("cluster")
def cluster(
    bundle: Path = typer.Option(..., "--bundle", help="Bundle folder."),
    date: str = typer.Option(None, "--date", help="Date (default: the bundle's last trading day)."),
    window: int = typer.Option(250, help="Trading days of index returns to cluster on."),
    k_min: int = typer.Option(1, "--k-min", help="Smallest K scanned (1 lets the gap statistic say 'no clusters')."),
    k_max: int = typer.Option(15, "--k-max", help="Largest K scanned."),
    k: int = typer.Option(None, "--k", help="Use this K instead of the recommended one."),
    refs: int = typer.Option(10, help="Reference data sets for the gap statistic."),
    reference: str = typer.Option("pca", help="Gap reference box: pca | box."),
    gap_rule: str = typer.Option("1se", "--gap-rule", help="Gap choice: 1se (Tibshirani) | global_se | max."),
    n_init: int = typer.Option(10, "--n-init", help="K-means restarts."),
    seed: int = typer.Option(0, help="Random seed (K-means, gap references)."),
    linkage: str = typer.Option("ward", help="Hierarchical linkage: ward | average | complete | single."),
    representative: str = typer.Option("centroid", help="Representatives: centroid | aum | amount."),
    per_cluster: int = typer.Option(1, "--per-cluster", help="Representatives per cluster."),
    raw: bool = typer.Option(False, "--raw", help="Cluster raw returns instead of z-scored ones."),
    categories: str = typer.Option("broad,industry_theme,strategy_style", help="Comma list of index categories."),
    min_aum: float = typer.Option(1e8, "--min-aum", help="Minimum fund size in CNY (0 = off)."),
    min_months: int = typer.Option(3, "--min-months", help="Minimum months since listing (0 = off)."),
    out: Path = typer.Option(None, "--out", help="Report folder (default runs/universe-cluster-<date>)."),
    no_report: bool = typer.Option(False, "--no-report", help="Print only; write no report."),
) -> None:
    """Screen, then cluster the pool's index returns (K-means + gap/elbow/silhouette, hierarchical);
    print the seed 001 table-1 style result (ETF, size, manager, top SW industries, cluster)."""
    from rich.table import Table

    from etfrot.data import Bundle
    from etfrot.universe.cluster import cluster_etfs, plot_dendrogram, plot_k_scan
    from etfrot.universe.industry import industry_to_etfs

    b = Bundle.open(bundle)
    t = _date(b, date)
    kw = _screen_kwargs(categories, min_aum, min_months)
    with console.status("clustering (K-means scan with gap statistic)…"):
        res = cluster_etfs(b, t, window=window, ks=range(k_min, k_max + 1), k=k, n_init=n_init, refs=refs,
                           reference=reference, seed=seed, linkage=linkage, representative=representative,
                           per_cluster=per_cluster, standardize=not raw, screen_kwargs=kw, gap_rule=gap_rule)
    st = res.scan.table
    kt = Table("K", "WSS", "silhouette", "gap", "s_k", title=f"Choosing K on {res.date:%Y-%m-%d}{_tag(b)}")
    for kk, row in st.iterrows():
        kt.add_row(str(kk), f"{row['wss']:.1f}", "" if row["silhouette"] != row["silhouette"] else f"{row['silhouette']:.3f}",
                   f"{row['gap']:.3f}", f"{row['gap_s']:.3f}")
    console.print(kt)
    for n in res.scan.notes:
        console.print(f"[yellow]note:[/] {n}")
    console.print("elbow K={elbow} · silhouette K={s} · gap K={gap} → [bold]K={k}[/]{o}".format(
        elbow=res.scan.choices["elbow"], s=res.scan.choices.get("silhouette", "—"), gap=res.scan.choices["gap"],
        k=res.k, o=" (given)" if k else " (recommended)"))
    if len(res.dropped):
        console.print(f"[yellow]dropped (too few return days in the window):[/] {', '.join(map(str, res.dropped))}")
    tt = Table("ETF", "name", "size (亿元)", "manager", "top industries", "K-means", "hier.", "rep.",
               title=f"ETF screening result (seed 001 table 1 style){_tag(b)}")
    for r in res.table.itertuples(index=False):
        tt.add_row(str(r.etf), str(r.name), f"{r.aum_yi:,.2f}" + ("*" if r.aum_source == "proxy" else ""),
                   str(r.manager or ""), str(r.top_industry), str(r.kmeans), str(r.hier), "★" if r.representative else "")
    console.print(tt)
    if (res.table["aum_source"] == "proxy").any():
        console.print("* size estimated from the 20-day traded amount (AUM unknown)")
    if no_report:
        return
    from etfrot.report import Section, write_report

    secs = [
        Section("Choosing K", text=f"K-means (n_init={n_init}, seed={seed}) on {window}-day "
                                  f"{'raw' if raw else 'z-scored'} daily index returns; gap statistic with {refs} "
                                  f"{reference} references and the '{gap_rule}' rule. " + " ".join(res.scan.notes),
                tables={"k_scan": st, "choices": _choices(res)}, figures=[plot_k_scan(res.scan, b.label)]),
        Section("ETF clusters (seed 001 table 1)", tables={"table_1": res.table, "representatives": res.reps}),
        Section("Hierarchical clustering", text=f"{linkage} linkage, Euclidean distance, cut into K={res.k}.",
                figures=[plot_dendrogram(res.hclust, _names(b, res), b.label)]),
    ]
    if res.shares is not None:
        sh = res.shares.copy()
        etf_of = dict(zip(res.table["index"], res.table["etf"]))
        sh.index = [etf_of.get(i, i) for i in sh.index]
        secs.append(Section("SW level-1 industries (seed 001 table 2)",
                            tables={"industry_to_etfs": industry_to_etfs(sh), "shares": sh}))
    path = write_report(_out(out, "cluster", res.date), title=f"ETF clustering {res.date:%Y-%m-%d}",
                        synthetic=b.is_synthetic, data_label=b.label, sections=secs,
                        config={"date": f"{res.date:%Y-%m-%d}", "window": window, "k_range": [k_min, k_max], "k": res.k,
                                "refs": refs, "reference": reference, "gap_rule": gap_rule, "n_init": n_init, "seed": seed, "linkage": linkage,
                                "representative": representative, "standardize": not raw, **kw},
                        manifest={"data_hash": b.content_hash, "seeds": [seed]})
    console.print(f"report: {path}")


def _choices(res):
    import pandas as pd

    return pd.DataFrame({"criterion": list(res.scan.choices) + ["used"],
                         "k": list(res.scan.choices.values()) + [res.k]})


def _names(b, res):
    import pandas as pd

    etf_names = b.info("etf")["name"]
    return pd.Series({i: etf_names.get(e, "") for i, e in zip(res.table["index"], res.table["etf"])})
