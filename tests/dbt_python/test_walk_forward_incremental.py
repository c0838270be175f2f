"""The walk-forward models built day by day equal a full build, and keep the windows no new data touches.

Three simulated days with their truth: days 1-2 ingested and built, then day 3 ingested and built
incrementally, then built again with nothing new; a full build of the same lake beside it. Windows
of one day of training and half a day of testing (the session's WINDOW_VARS), ensemble weights
fitted (not the session's var), so every window has its own fitted parameters. Adds four builds of
a small market (about a minute and a half).
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from liquidationheatmap.dbt_runner import build_warehouse
from liquidationheatmap.ingest import ingest_archive
from liquidationheatmap.publish import working_database
from liquidationheatmap.simulate import simulate_market

pytestmark = pytest.mark.slow

START = date(2026, 10, 1)
TABLES = (
    "stg_truth__liquidations",
    "int_leverage__learned",
    "fct_ensemble_weights",
    "fct_model_calibration",
    "int_levels__variants",
    "int_scoring__live_notional_per_bucket",
    "int_scoring__windows",
    "int_scoring__window_map_cells",
    "int_scoring__window_truth_cells",
    "int_scoring__window_oracle_cells",
    "int_scoring__placement",
    "int_scoring__window_sums",
    "fct_model_scores",
    "fct_liquidation_history_ensemble",
    "fct_liquidation_heatmap_ensemble",
    "int_heatmap__state_intervals",
    "fct_liquidation_heatmap",
    "fct_liquidation_history",
    "fct_liquidation_levels",
    "fct_liquidation_clusters",
)
# The levels chain after the lifecycle, incremental from the rebuild start (macros/incremental_levels.sql).
CHAIN = (
    "int_levels__variants",
    "int_heatmap__state_intervals",
    "fct_liquidation_heatmap",
    "fct_liquidation_heatmap_ensemble",
    "fct_liquidation_history",
)
BOOKKEEPING = ["_loaded_at", "_settings", "_inputs"]


def _frame(warehouse, table: str) -> pd.DataFrame:
    with duckdb.connect(str(working_database(warehouse)), read_only=True) as con:
        frame = con.sql(f"select * from {table}").df()
    frame = frame.drop(columns=[c for c in BOOKKEEPING if c in frame.columns])
    return frame.sort_values(list(frame.columns), ignore_index=True, na_position="first")


def _loads(warehouse, table: str) -> dict[int, object]:
    with duckdb.connect(str(working_database(warehouse)), read_only=True) as con:
        return dict(con.sql(f"select window_id, max(_loaded_at) from {table} group by 1").fetchall())


def _writes(con, table: str) -> list[tuple]:
    """Rows per write: per _loaded_at (the zones: per _inputs, the levels they were found in)."""
    column = "_inputs" if table == "fct_liquidation_clusters" else "_loaded_at"
    return sorted(con.sql(f"select {column}, count(*) from {table} group by 1").fetchall())


@pytest.fixture(scope="module")
def built(tmp_path_factory, window_vars):
    root = tmp_path_factory.mktemp("walk_forward")
    raw, lake = root / "raw", root / "lake"
    simulate_market(raw, ["BTCUSDT"], START, days=3, trades_per_day=20_000, seed=5, show_progress=False)
    second_day = START + timedelta(days=1)
    ingest_archive(raw, lake, end_date=second_day, show_progress=False, workers=1)
    incremental = root / "incremental" / "liquidations.duckdb"
    first = build_warehouse(lake, incremental, extra_vars=window_vars)
    assert first.success, [(n.name, n.message) for n in first.failures] or first.error
    before = {
        table: _loads(incremental, table)
        for table in ("int_leverage__learned", "fct_ensemble_weights", "fct_model_calibration")
    }
    ingest_archive(raw, lake, start_date=second_day + timedelta(days=1), show_progress=False, workers=1)
    second = build_warehouse(lake, incremental, extra_vars=window_vars)
    assert second.success, [(n.name, n.message) for n in second.failures] or second.error
    with duckdb.connect(str(working_database(incremental)), read_only=True) as con:
        written = {table: _writes(con, table) for table in (*CHAIN, "fct_liquidation_clusters")}
    nothing_new = build_warehouse(lake, incremental, extra_vars=window_vars)
    assert nothing_new.success, [(n.name, n.message) for n in nothing_new.failures] or nothing_new.error
    full = root / "full" / "liquidations.duckdb"
    third = build_warehouse(lake, full, extra_vars=window_vars, full_refresh=True)
    assert third.success, [(n.name, n.message) for n in third.failures] or third.error
    yield incremental, full, before, written
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("table", TABLES)
def test_a_day_added_gives_what_a_full_build_gives(built, table):
    incremental, full, _, _ = built
    left, right = _frame(incremental, table), _frame(full, table)
    assert len(left) == len(right) > 0, table
    pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-9, obj=table)


def test_windows_the_new_day_does_not_reach_are_not_fitted_again(built):
    incremental, _, before, _ = built
    after = {table: _loads(incremental, table) for table in before}
    for table, loads in before.items():
        # Day 3's files change data from day 2 on (the day before their first event): window 1
        # (trained on day 1) and the prior are kept; windows 2-3 (trained into day 2) are fitted
        # again, windows 4-5 are new.
        assert sorted(loads) == [0, 1, 2, 3], table
        assert sorted(after[table]) == [0, 1, 2, 3, 4, 5], table
        assert after[table][0] == loads[0] and after[table][1] == loads[1], table
        assert all(after[table][w] > loads[1] for w in (2, 3, 4, 5)), table


def test_the_levels_chain_keeps_what_the_new_day_does_not_change_and_rewrites_nothing_when_nothing_is_new(
    built,
):
    incremental, _, _, written = built
    with duckdb.connect(str(working_database(incremental)), read_only=True) as con:
        now = {table: _writes(con, table) for table in written}
        # A level opened on day 1 and reached on day 3 (after the rebuild start, day 2) ends there.
        crossed = con.sql(
            "select count(*) from int_levels__variants"
            " where opened_at < timestamp '2026-10-02' and reached_at >= timestamp '2026-10-03'"
        ).fetchone()[0]
    assert crossed > 0
    for table in CHAIN:
        # Day 3 kept the rows of day 1 (written by the first build) and wrote the rest.
        assert len(written[table]) >= 2, table
        # The build with nothing new wrote no row.
        assert now[table] == written[table], table
    assert now["fct_liquidation_clusters"] == written["fct_liquidation_clusters"]


def test_incremental_python_models_leave_no_scratch_table(built):
    """dbt-duckdb writes an incremental Python model's result to an ordinary `__dbt_tmp` table and
    never drops it; the project's on-run-end hook does (macros/scratch_tables.sql)."""
    incremental, _, _, _ = built
    with duckdb.connect(str(working_database(incremental)), read_only=True) as con:
        left = con.sql(
            "select table_name from duckdb_tables() where contains(table_name, '__dbt_tmp')"
        ).fetchall()
        python_incremental = con.sql(
            "select count(*) from duckdb_tables()"
            " where table_name in ('fct_liquidation_heatmap_ensemble', 'fct_model_scores')"
        ).fetchone()[0]
    assert python_incremental == 2
    assert left == []
