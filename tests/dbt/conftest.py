"""A small simulated market, ingested and built with dbt once per session.

Three simulated days: days 1-2 are ingested and built, then day 3 is ingested and built
incrementally (`incremental` warehouse); a fresh full build of the same lake is the `full`
warehouse. Tests read both read-only: the intermediate tables in dbt's working database
(`working_database(path)`), what is served in the warehouse file itself.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from liquidationheatmap.dbt_runner import build_warehouse, working_database
from liquidationheatmap.ingest import ingest_archive
from liquidationheatmap.simulate import simulate_market

START = date(2025, 3, 1)
DAYS = 3
TRADES_PER_DAY = 20_000


@dataclass
class BuiltLake:
    lake: Path
    full: Path
    incremental: Path
    loaded_before: dict  # (symbol, trade_date) -> _loaded_at after the first (2-day) build
    loaded_after: dict  # the same after the incremental build
    added_day: object = None  # the DbtOutcome of the incremental build (what it selected and ran)


def _loaded_at(warehouse: Path) -> dict:
    con = duckdb.connect(str(working_database(warehouse)), read_only=True)
    try:
        rows = con.execute(
            "select symbol, trade_date, min(_loaded_at), max(_loaded_at), count(*) "
            "from int_trades__deduplicated group by 1, 2"
        ).fetchall()
    finally:
        con.close()
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> BuiltLake:
    root = tmp_path_factory.mktemp("dbt_build")
    archive, lake = root / "archive", root / "lake"
    simulate_market(archive, ["BTCUSDT"], START, DAYS, TRADES_PER_DAY, seed=7, show_progress=False)
    last_day = START + timedelta(days=DAYS - 1)
    if (archive / "data").is_dir():
        archive = archive / "data"  # the archive proper; truth/ beside it is not market data
    ingest_archive(archive, lake, end_date=last_day - timedelta(days=1), show_progress=False)
    incremental = root / "incremental" / "liquidations.duckdb"
    first = build_warehouse(lake, incremental)
    assert first.success, [(n.name, n.message) for n in first.failures] or first.error
    before = _loaded_at(incremental)
    ingest_archive(archive, lake, start_date=last_day, show_progress=False)
    second = build_warehouse(lake, incremental)
    assert second.success, [(n.name, n.message) for n in second.failures] or second.error
    after = _loaded_at(incremental)
    full = root / "full" / "liquidations.duckdb"
    third = build_warehouse(lake, full)
    assert third.success, [(n.name, n.message) for n in third.failures] or third.error
    yield BuiltLake(lake, full, incremental, before, after, second)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
def full_db(built):
    con = duckdb.connect(str(working_database(built.full)), read_only=True)
    yield con
    con.close()
