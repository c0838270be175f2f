"""The demo runs the whole pipeline on a simulated market, and a second run reuses what is there."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
from rich.console import Console

from liquidationheatmap.cli import main
from liquidationheatmap.demo import DemoDataset, DemoPaths, run_demo

SMALL = DemoDataset(start_date=date(2026, 10, 1), days=2, trades_per_day=15_000, seed=7)


def test_demo_builds_marts_and_a_second_run_reuses_the_simulation_and_lake(tmp_path: Path) -> None:
    paths = DemoPaths(
        raw=tmp_path / "raw",
        lake=tmp_path / "lake",
        warehouse=tmp_path / "processed" / "liquidations.duckdb",
        lineage_page=tmp_path / "processed" / "lineage.html",
    )
    console = Console(record=True, width=200)
    run_demo(paths, console, SMALL)
    first = console.export_text()
    assert "simulate: 2 days of BTCUSDT from 2026-10-01" in first
    # 2 days x aggTrades, metrics, bookDepth, markPriceKlines, and the truth's liquidations and
    # positions, + one funding file
    assert "ingest: 13 loaded, 0 unchanged" in first
    assert paths.lineage_page.stat().st_size > 100_000

    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        days = con.execute(
            "select count(distinct trade_date) from fct_volume_profile_daily where symbol = 'BTCUSDT'"
        ).fetchone()[0]
        models = {r[0] for r in con.execute("select distinct model from fct_liquidation_levels").fetchall()}
    assert days == 2
    assert models == {"binance_standard", "funding_adjusted", "large_trades", "learned_leverage"}

    raw_files = {p: p.stat().st_mtime_ns for p in paths.raw.rglob("*") if p.is_file()}
    console = Console(record=True, width=200)
    run_demo(paths, console, SMALL)
    second = console.export_text()
    assert "reusing the simulated dataset" in second
    assert "ingest: 0 loaded, 13 unchanged, 0 rows" in second
    assert {p: p.stat().st_mtime_ns for p in paths.raw.rglob("*") if p.is_file()} == raw_files


def test_demo_help_names_every_stage(capsys) -> None:
    try:
        main(["demo", "--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    out = capsys.readouterr().out
    for stage in ("simulate", "ingest", "build", "docs", "serve", "--no-serve"):
        assert stage in out
