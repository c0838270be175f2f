"""A full build in batches of days (macros/full_refresh_batches.sql) stores the same rows as one
statement over every day.

The session's `full` warehouse (conftest.py) was built with the default batch (7 days: its three
days in one statement); here the same lake is built again one day per statement.
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from liquidationheatmap.dbt_runner import build_results_path, build_warehouse, working_database

pytestmark = pytest.mark.slow

BATCHED_MODELS = {
    "int_trades__deduplicated": ["symbol", "agg_trade_id"],
    "int_trades__per_bucket": ["symbol", "bucket_start"],
    "int_trades__per_bucket_price_bin": ["symbol", "bucket_number", "price_bin"],
}
# And what is built on them, up to the per-day profile.
DOWNSTREAM = {"int_quality__trade_days": ["symbol", "trade_date"]}


def _table(warehouse, model: str, keys: list[str]) -> pd.DataFrame:
    con = duckdb.connect(str(working_database(warehouse)), read_only=True)
    try:
        frame = con.execute(f"select * exclude (_loaded_at) from {model}").df()
    finally:
        con.close()
    return frame.sort_values(keys).reset_index(drop=True)


def test_a_full_build_one_day_per_statement_equals_one_statement(built, tmp_path):
    warehouse = tmp_path / "batched" / "liquidations.duckdb"
    outcome = build_warehouse(
        built.lake,
        warehouse,
        select=["+int_trades__per_bucket_price_bin", "+int_quality__trade_days"],
        exclude=["resource_type:test", "resource_type:unit_test"],  # the rows are what is compared
        extra_vars={"full_refresh_batch_days": 1},
    )
    assert outcome.success, [(n.name, n.message) for n in outcome.failures] or outcome.error
    compiled = {
        r["unique_id"].rsplit(".", 1)[-1]: r["compiled_code"]
        for r in json.loads(build_results_path(warehouse).read_text())["results"]
    }
    for model, keys in {**BATCHED_MODELS, **DOWNSTREAM}.items():
        if model in BATCHED_MODELS:  # the model was written batch by batch (3 days, 3 statements)
            assert "/* day_batches 2025-03-01 2025-03-0" in compiled[model]
        batched, whole = _table(warehouse, model, keys), _table(built.full, model, keys)
        assert len(batched) == len(whole) > 0
        pd.testing.assert_frame_equal(batched, whole, check_exact=True)
