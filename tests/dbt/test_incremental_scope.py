"""Incremental builds read and test only what a new day changes, and still catch what matters.

The session's `built` fixture (conftest.py) built days 1-2, then day 3 incrementally (`incremental`
warehouse), and all three days in one full build (`full` warehouse).
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from liquidationheatmap.dbt_runner import (
    build_results_path,
    build_warehouse,
    copy_warehouse,
    working_database,
)

pytestmark = pytest.mark.slow

DEDUP_KEY_TEST = "test.liquidationheatmap.unique_combination_int_trades__deduplicated_symbol__agg_trade_id"
DEDUP_NOT_NULL_TEST = "test.liquidationheatmap.not_null_int_trades__deduplicated_agg_trade_id"


def _compiled_tests(warehouse) -> dict[str, str]:
    results = json.loads(build_results_path(warehouse).read_text())["results"]
    return {r["unique_id"].rsplit(".", 1)[0]: r["compiled_code"] for r in results}


def _copy_of_full_build(built, tmp_path) -> tuple[Path, Path]:
    """A copy of the fixture's lake and of its full warehouse, for a test that changes them."""
    lake = tmp_path / "lake"
    shutil.copytree(built.lake, lake)
    warehouse = tmp_path / "warehouse" / "liquidations.duckdb"
    copy_warehouse(built.full, warehouse)
    return lake, warehouse


def _write_day_from(lake, source: date, day: date, *, rows: int | None = None, id_offset: int = 0) -> None:
    """Write the BTCUSDT aggTrades of `source` (its first `rows`, or all) into the lake as `day`:
    times moved by the days between them, ids moved by `id_offset`. No manifest entry is written."""
    path = next((lake / f"aggTrades/symbol=BTCUSDT/date={source}").glob("*.parquet"))
    table = pq.read_table(path)
    if rows is not None:
        table = table.slice(0, rows)
    for column, shift in (("transact_time", (day - source).days * 86_400_000), ("agg_trade_id", id_offset)):
        index = table.schema.get_field_index(column)
        table = table.set_column(index, column, pa.array(table.column(column).to_numpy() + shift))
    folder = lake / f"aggTrades/symbol=BTCUSDT/date={day}"
    folder.mkdir()
    pq.write_table(table, folder / f"BTCUSDT-aggTrades-{day}.parquet", compression="zstd")


def _latest_load(warehouse) -> tuple[datetime, int, int]:
    con = duckdb.connect(str(working_database(warehouse)), read_only=True)
    try:
        return con.execute(
            "select _loaded_at, min(agg_trade_id), max(agg_trade_id) from int_trades__deduplicated "
            "where _loaded_at = (select max(_loaded_at) from int_trades__deduplicated) group by 1"
        ).fetchone()
    finally:
        con.close()


def test_incremental_build_tests_the_new_day_and_the_ids_it_could_clash_with(built):
    loaded_at, first_id, last_id = _latest_load(built.incremental)
    compiled = _compiled_tests(built.incremental)
    assert (
        "where ((scoped.symbol = 'BTCUSDT' and scoped.agg_trade_id "
        f"between {first_id} and {last_id}))" in compiled[DEDUP_KEY_TEST]
    )
    assert (
        f"where scoped._loaded_at = cast('{loaded_at:%Y-%m-%d %H:%M:%S.%f}' as timestamp)"
        in (compiled[DEDUP_NOT_NULL_TEST])
    )
    # The new day's ids, exactly: day 3 of the fixture.
    con = duckdb.connect(str(working_database(built.incremental)), read_only=True)
    try:
        day3 = con.execute(
            "select min(agg_trade_id), max(agg_trade_id) from int_trades__deduplicated "
            "where trade_date = date '2025-03-03'"
        ).fetchone()
    finally:
        con.close()
    assert (first_id, last_id) == day3


def test_incremental_build_checks_the_lake_view_on_the_new_day_and_warnings_on_every_day(built):
    compiled = _compiled_tests(built.incremental)
    scoped = (
        "as scoped where (scoped.trade_date between cast('2025-03-03' as date)"
        " and cast('2025-03-03' as date)\n"
        "    and (scoped.symbol, scoped.trade_date) in (\n"
        "      ('BTCUSDT', cast('2025-03-03' as date))"
    )
    assert scoped in compiled["test.liquidationheatmap.not_null_stg_binance__agg_trades_symbol"]
    assert (
        scoped
        in compiled["test.liquidationheatmap.accepted_values_stg_binance__agg_trades_taker_side__buy__sell"]
    )
    # Warnings describe the whole lake in the quality report: never scoped.
    price_warning = "test.liquidationheatmap.value_in_range_stg_binance__agg_trades_price__False__0"
    assert "as scoped where true) dbt_subquery" in compiled[price_warning]
    full = _compiled_tests(built.full)
    assert (
        "as scoped where true) dbt_subquery"
        in full["test.liquidationheatmap.not_null_stg_binance__agg_trades_symbol"]
    )


def test_full_build_tests_every_row(built):
    compiled = _compiled_tests(built.full)
    assert "as scoped where true) dbt_subquery" in compiled[DEDUP_KEY_TEST]
    assert "as scoped where true) dbt_subquery" in compiled[DEDUP_NOT_NULL_TEST]


def test_incremental_day_only_reads_its_own_lake_files(built):
    """The model SQL of the incremental run names the new day as a literal (hive partitions pruned)."""
    compiled = (
        built.incremental.parent
        / "dbt_target/compiled/liquidationheatmap/models/intermediate/trades/int_trades__deduplicated.sql"
    ).read_text()
    assert (
        "where (trade_date between cast('2025-03-03' as date) and cast('2025-03-03' as date)\n"
        "    and (symbol, trade_date) in (\n      ('BTCUSDT', cast('2025-03-03' as date))\n    ))"
    ) in compiled


def test_a_new_day_repeating_old_trade_ids_fails_the_incremental_build(built, tmp_path):
    """Per-day deduplication cannot see a clash across days; the scoped key test must. A full refresh
    deduplicates over all days, so it repairs the table (each id once, the earliest trade kept)."""
    lake, warehouse = _copy_of_full_build(built, tmp_path)
    before = warehouse.read_bytes()
    # Day 4: ten trades of day 2, same ids, two days later.
    _write_day_from(lake, date(2025, 3, 2), date(2025, 3, 4), rows=10)

    incremental = build_warehouse(lake, warehouse)

    assert not incremental.success
    failed = {n.unique_id.rsplit(".", 1)[0]: n.message for n in incremental.failures}
    assert list(failed) == [DEDUP_KEY_TEST]
    assert failed[DEDUP_KEY_TEST] == "Got 10 results, configured to fail if != 0"
    assert warehouse.read_bytes() == before  # the last good warehouse stays

    repaired = build_warehouse(lake, warehouse, full_refresh=True)

    assert repaired.success, [(n.name, n.message) for n in repaired.failures] or repaired.error
    con = duckdb.connect(str(working_database(warehouse)), read_only=True)
    try:
        counts = con.execute(
            "select count(*), count(distinct agg_trade_id), count(*) filter (trade_date = date '2025-03-04') "
            "from int_trades__deduplicated"
        ).fetchone()
    finally:
        con.close()
    assert counts[0] == counts[1] and counts[2] == 0


def test_incremental_quality_profile_counts_every_day_once(built):
    con = duckdb.connect(str(working_database(built.incremental)), read_only=True)
    try:
        days = con.execute(
            "select trade_date, raw_rows, clean_rows from int_quality__trade_days order by trade_date"
        ).fetchall()
        profile = con.execute(
            "select raw_rows, clean_rows from fct_data_quality where dataset = 'aggTrades'"
        ).fetchone()
        lake_rows = {
            d: n
            for d, n in con.execute(
                "select date, count(*) from read_parquet(?, hive_partitioning = true) group by 1",
                [f"{built.lake}/aggTrades/*/*/*.parquet"],
            ).fetchall()
        }
        clean = dict(
            con.execute("select trade_date, count(*) from int_trades__deduplicated group by 1").fetchall()
        )
    finally:
        con.close()
    start = date(2025, 3, 1)
    assert [d[0] for d in days] == [start + timedelta(days=i) for i in range(3)]
    assert [(d[1], d[2]) for d in days] == [(lake_rows[d[0]], clean[d[0]]) for d in days]
    assert profile == (sum(lake_rows.values()), sum(clean.values()))


def test_live_notional_recomputes_only_from_the_day_before_the_new_day(built):
    """Day 3 came in the second build: the scoring grid keeps day 1 from the first build and
    recomputes days 2 and 3 (the day before the new one, and the new one), for every model:
    learned_leverage's walk-forward parameters apply only to levels opened after their window's
    train span, so no past bucket of it changes either."""
    con = duckdb.connect(str(working_database(built.incremental)), read_only=True)
    try:
        loads = con.execute(
            "select cast(bucket_start as date), min(_loaded_at), max(_loaded_at), count(*) "
            "from int_scoring__live_notional_per_bucket group by 1 order by 1"
        ).fetchall()
    finally:
        con.close()
    assert [day for day, *_ in loads] == [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)]
    first_load = loads[0][1]
    assert loads[0][1] == loads[0][2]  # day 1: one load, the first build's
    for _, earliest, latest, _ in loads[1:]:
        assert earliest == latest > first_load  # days 2 and 3: the incremental build's
    compiled = _compiled_tests(built.incremental)
    key_test = (
        "test.liquidationheatmap.unique_combination_int_scoring__live_notional_per_bucket_"
        "symbol__model__bucket_start__price_bin__side"
    )
    assert (
        f"scoped._loaded_at = cast('{loads[1][1]:%Y-%m-%d %H:%M:%S.%f}' as timestamp)" in compiled[key_test]
    )


def test_grid_selected_alone_before_its_upstream_catches_up_in_the_next_build(built, tmp_path):
    """`build --select int_scoring__live_notional_per_bucket` right after a new day, with the trades
    not yet loaded, stamps the grid without that day; the next whole build must still recompute it
    (the new trades' load says so even where no manifest entry does) and equal a full refresh."""
    lake, warehouse = _copy_of_full_build(built, tmp_path)
    # Day 4, written straight into the lake (no manifest entry): day 3's trades a day later, new ids.
    ids = (
        pq.read_table(
            next((lake / "aggTrades/symbol=BTCUSDT/date=2025-03-03").glob("*.parquet")),
            columns=["agg_trade_id"],
        )
        .column("agg_trade_id")
        .to_numpy()
    )
    _write_day_from(lake, date(2025, 3, 3), date(2025, 3, 4), id_offset=int(ids.max() - ids.min() + 1))

    alone = build_warehouse(lake, warehouse, select=["int_scoring__live_notional_per_bucket"])
    assert alone.success, [(n.name, n.message) for n in alone.failures] or alone.error
    whole = build_warehouse(lake, warehouse)
    assert whole.success, [(n.name, n.message) for n in whole.failures] or whole.error
    refreshed = tmp_path / "refreshed" / "liquidations.duckdb"
    full = build_warehouse(lake, refreshed)
    assert full.success, [(n.name, n.message) for n in full.failures] or full.error

    frames = []
    for path in (warehouse, refreshed):
        con = duckdb.connect(str(working_database(path)), read_only=True)
        try:
            frames.append(
                con.execute(
                    "select * exclude (_loaded_at) from int_scoring__live_notional_per_bucket "
                    "order by symbol, model, bucket_start, price_bin, side"
                ).df()
            )
        finally:
            con.close()
    assert frames[0]["bucket_start"].max() >= datetime(2025, 3, 4)
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=False, rtol=1e-9, atol=1e-6)


def test_a_model_stored_by_another_version_is_named_with_the_full_refresh_to_run(built, tmp_path, capsys):
    """An upgrade that changes an incremental model's columns stops dbt (on_schema_change fail); the
    build names the model and the one command that rebuilds it, and the served warehouse stays."""
    from liquidationheatmap.cli import main

    lake, warehouse = _copy_of_full_build(built, tmp_path)
    con = duckdb.connect(str(working_database(warehouse)))
    try:  # what an earlier version stored: one more column than the model now selects
        con.execute("alter table int_trades__deduplicated add column notional_usdt double")
    finally:
        con.close()
    served = warehouse.read_bytes()
    args = [
        "build",
        "--lake",
        str(lake),
        "--warehouse",
        str(warehouse),
        "--select",
        "int_trades__deduplicated",
    ]

    assert main(args) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "int_trades__deduplicated as an earlier version" in out
    assert "liquidationheatmap build --full-refresh" in out
    assert warehouse.read_bytes() == served

    assert main([*args, "--full-refresh"]) == 0


def test_depth_and_mark_price_profiles_only_the_new_day_and_count_every_day_once(built):
    """Day 3 came in the second build: int_quality__dataset_days profiled day 3 again (its lake
    files were ingested since) and kept the first build's days, and the quality mart's bookDepth and
    markPriceKlines rows are the lake's counts."""
    con = duckdb.connect(str(working_database(built.incremental)), read_only=True)
    try:
        days = con.execute(
            "select dataset, lake_date, raw_rows, clean_rows, _loaded_at from int_quality__dataset_days "
            "order by dataset, lake_date"
        ).fetchall()
        profile = dict(
            (r[0], r[1:])
            for r in con.execute(
                "select dataset, raw_rows, clean_rows from fct_data_quality "
                "where dataset in ('bookDepth', 'markPriceKlines')"
            ).fetchall()
        )
        lake_rows = {
            dataset: con.execute(
                "select count(*) from read_parquet(?, hive_partitioning = true)",
                [f"{built.lake}/{dataset}/*/*/*.parquet"],
            ).fetchone()[0]
            for dataset in ("bookDepth", "markPriceKlines")
        }
    finally:
        con.close()
    start = date(2025, 3, 1)
    for dataset in ("bookDepth", "markPriceKlines"):
        own = [d for d in days if d[0] == dataset]
        assert [d[1] for d in own] == [start + timedelta(days=i) for i in range(3)]
        first_load = own[0][4]
        assert own[1][4] == first_load < own[2][4]  # day 2 kept, day 3 profiled by the second build
        assert profile[dataset] == (lake_rows[dataset], sum(d[3] for d in own))


def test_sparse_extremes_rewrite_only_the_spans_reaching_the_new_data(built):
    """The lifecycle's sparse table keeps the rows whose span ends before the rebuild start (the day
    before the new day) and rewrites the others; equal to the full build (test_build_pipeline)."""
    con = duckdb.connect(str(working_database(built.incremental)), read_only=True)
    try:
        first_changed = con.execute(
            "select min(bucket_index) from int_buckets__timeline where bucket_start >= '2025-03-02'"
        ).fetchone()[0]
        mismatched, kept, rewritten = con.execute(
            "select count(*) filter (where (bucket_index + pow(2, span_log2) - 1 >= ?)"
            " <> (_loaded_at = latest)), count(*) filter (where _loaded_at < latest),"
            " count(*) filter (where _loaded_at = latest) "
            "from int_buckets__price_extremes, "
            "(select max(_loaded_at) as latest from int_buckets__price_extremes)",
            [first_changed],
        ).fetchone()
    finally:
        con.close()
    assert mismatched == 0
    assert kept > 0 and rewritten > 0


def test_a_scoped_key_test_fails_on_a_duplicate_among_the_new_rows(built, tmp_path):
    """The incremental build's key tests on the sparse table and the depth profile look at the rows
    it loaded only, and still see a duplicate among them: the compiled test, run on a copy of the
    warehouse holding one duplicated new row, fails."""
    compiled = _compiled_tests(built.incremental)
    tests = {
        "int_buckets__price_extremes": compiled[
            "test.liquidationheatmap.unique_combination_int_buckets__price_extremes_symbol__bucket_index__span_log2"
        ],
        "int_quality__dataset_days": compiled[
            "test.liquidationheatmap.unique_combination_int_quality__dataset_days_dataset__symbol__lake_date"
        ],
    }
    copy = tmp_path / "liquidations.duckdb"
    shutil.copy(working_database(built.incremental), copy)
    con = duckdb.connect()
    try:
        con.execute(f"attach '{copy}' as liquidations")
        for table, sql in tests.items():
            assert "scoped._loaded_at = cast(" in sql
            assert con.execute(f"select count(*) from ({sql})").fetchone()[0] == 0
            con.execute(
                f"insert into liquidations.main.{table} select * from liquidations.main.{table} "
                f"where _loaded_at = (select max(_loaded_at) from liquidations.main.{table}) limit 1"
            )
            assert con.execute(f"select count(*) from ({sql})").fetchone()[0] == 1
    finally:
        con.close()


MARK_PRICE_NOT_NULL_TEST = "test.liquidationheatmap.not_null_stg_binance__mark_price_klines_opened_at"


def test_incremental_build_checks_depth_and_mark_price_views_on_the_new_day_only(built):
    """The error tests on the bookDepth and markPriceKlines lake views read the days of the files
    ingested since the last build (day 3); a full build reads every day. Warnings keep every day."""
    compiled = _compiled_tests(built.incremental)
    full = _compiled_tests(built.full)
    for test, column in (
        (
            "test.liquidationheatmap.accepted_values_stg_binance__book_depth_book_side__bid__ask",
            "snapshot_date",
        ),
        ("test.liquidationheatmap.not_null_stg_binance__book_depth_snapshot_at", "snapshot_date"),
        (MARK_PRICE_NOT_NULL_TEST, "file_date"),
    ):
        day = "cast('2025-03-03' as date)"
        assert (
            f"as scoped where (scoped.{column} between {day} and {day}\n"
            f"    and (scoped.symbol, scoped.{column}) in (\n      ('BTCUSDT', {day})\n    ))"
        ) in compiled[test]
        assert "as scoped where true) dbt_subquery" in full[test]
    warning = (
        "test.liquidationheatmap.not_greater_than_column_stg_binance__mark_price_klines_mark_low__mark_high"
    )
    assert "as scoped where true) dbt_subquery" in compiled[warning]


def test_the_scoped_mark_price_test_fails_on_a_bad_candle_of_the_new_day_only(built, tmp_path):
    """The incremental build's not-null test on the markPriceKlines view, run on a copy of its lake
    holding one candle without an open time: it fails when that candle is on the day it tests (day
    3), and does not read an earlier day (1), which passed the same test when it was loaded."""
    sql = _compiled_tests(built.incremental)[MARK_PRICE_NOT_NULL_TEST]
    path = next((built.lake / "markPriceKlines/symbol=BTCUSDT/date=2025-03-03").glob("*.parquet"))
    candle = pq.read_table(path).slice(0, 1)
    candle = candle.set_column(
        candle.schema.get_field_index("open_time"), "open_time", pa.array([None], type=pa.int64())
    )
    results = {}
    for day in ("2025-03-01", "2025-03-03"):
        lake = tmp_path / day / "lake"
        shutil.copytree(built.lake / "markPriceKlines", lake / "markPriceKlines")
        pq.write_table(candle, lake / f"markPriceKlines/symbol=BTCUSDT/date={day}/bad-candle.parquet")
        copy = tmp_path / day / "liquidations.duckdb"
        shutil.copy(working_database(built.incremental), copy)
        con = duckdb.connect(str(copy))
        try:
            (view,) = con.execute(
                "select sql from duckdb_views() where view_name = 'stg_binance__mark_price_klines'"
            ).fetchone()
            assert str(built.lake) in view
            con.execute(
                view.replace("CREATE VIEW", "CREATE OR REPLACE VIEW").replace(str(built.lake), str(lake))
            )
            results[day] = con.execute(f"select count(*) from ({sql})").fetchone()[0]
        finally:
            con.close()
    assert results == {"2025-03-01": 0, "2025-03-03": 1}
