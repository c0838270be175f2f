"""The walk-forward models built day by day equal a full build, and keep the windows no new data touches.

Three simulated days with their truth: days 1-2 ingested and built, then day 3 ingested and built
incrementally; a full build of the same lake beside it. Windows of one day of training and half a
day of testing (the session's WINDOW_VARS), ensemble weights fitted (not the session's var), so
every window has its own fitted parameters. Adds three builds of a small market (about a minute).
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
    "int_leverage__learned",
    "fct_ensemble_weights",
    "int_levels__variants",
    "int_scoring__live_notional_per_bucket",
    "int_scoring__windows",
    "int_scoring__window_map_cells",
    "int_scoring__window_truth_cells",
    "int_scoring__window_oracle_cells",
    "int_scoring__placement",
    "fct_model_scores",
    "fct_liquidation_history_ensemble",
    "fct_liquidation_heatmap_ensemble",
)
BOOKKEEPING = ["_loaded_at", "_settings"]


def _frame(warehouse, table: str) -> pd.DataFrame:
    with duckdb.connect(str(working_database(warehouse)), read_only=True) as con:
        frame = con.sql(f"select * from {table}").df()
    frame = frame.drop(columns=[c for c in BOOKKEEPING if c in frame.columns])
    return frame.sort_values(list(frame.columns), ignore_index=True, na_position="first")


def _loads(warehouse, table: str) -> dict[int, object]:
    with duckdb.connect(str(working_database(warehouse)), read_only=True) as con:
        return dict(con.sql(f"select window_id, max(_loaded_at) from {table} group by 1").fetchall())


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
        table: _loads(incremental, table) for table in ("int_leverage__learned", "fct_ensemble_weights")
    }
    ingest_archive(raw, lake, start_date=second_day + timedelta(days=1), show_progress=False, workers=1)
    second = build_warehouse(lake, incremental, extra_vars=window_vars)
    assert second.success, [(n.name, n.message) for n in second.failures] or second.error
    full = root / "full" / "liquidations.duckdb"
    third = build_warehouse(lake, full, extra_vars=window_vars, full_refresh=True)
    assert third.success, [(n.name, n.message) for n in third.failures] or third.error
    yield incremental, full, before
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("table", TABLES)
def test_a_day_added_gives_what_a_full_build_gives(built, table):
    incremental, full, _ = built
    left, right = _frame(incremental, table), _frame(full, table)
    assert len(left) == len(right) > 0, table
    pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-9, obj=table)


def test_windows_the_new_day_does_not_reach_are_not_fitted_again(built):
    incremental, _, before = built
    after = {table: _loads(incremental, table) for table in before}
    for table, loads in before.items():
        # Day 3's files change data from day 2 on (the day before their first event): window 1
        # (trained on day 1) and the prior are kept; windows 2-3 (trained into day 2) are fitted
        # again, windows 4-5 are new.
        assert sorted(loads) == [0, 1, 2, 3], table
        assert sorted(after[table]) == [0, 1, 2, 3, 4, 5], table
        assert after[table][0] == loads[0] and after[table][1] == loads[1], table
        assert all(after[table][w] > loads[1] for w in (2, 3, 4, 5)), table
