"""The same dbt project on Apache Spark (dbt-spark, a local[2] session) and on DuckDB gives the same
marts: a small simulated market (2 symbols x 2 days, with its truth) is ingested once and built on
both engines; every SQL mart must hold the same rows (keys exact, numbers within 1e-9 relative),
and every dbt test and unit test passes on both.

Needs the `spark` dependency group (`uv sync --group spark`, which CI syncs) and Java 17.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from liquidationheatmap.dbt_runner import DbtOutcome, build_warehouse, spark_disabled_notice, spark_paths
from liquidationheatmap.ingest import ingest_archive
from liquidationheatmap.simulate import simulate_market

try:
    import pyspark  # noqa: F401
except ImportError:
    # .ci/run syncs every dependency group: under CI a missing Spark is a failure, never a skip.
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        raise
    pytest.skip(
        "needs the spark dependency group: uv sync --group spark (dbt-spark[session], pyspark)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module", autouse=True)
def java(needs_program) -> Path:
    """Spark runs on Java 17 (Debian: openjdk-17-jre-headless); skipped when missing, failed under CI."""
    return needs_program("java")


# The fixture builds the market on both engines: 141 s on a quiet machine, past pytest's default
# 600 s on the shared 2-core one at load 15-20 (docs/scale.md).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SYMBOLS = ["BTCUSDT", "ETHUSDT"]
START = date(2025, 3, 1)
DAYS = 2
TRADES_PER_DAY = 5_000
RELATIVE_TOLERANCE = 1e-9
SCHEMA = "liquidationheatmap"
# Variants fitted by a dbt Python model (int_leverage__learned): built on DuckDB (and Databricks)
# only, so the DuckDB marts' rows of these models have no Spark twin.
PYTHON_FITTED_MODELS = ("learned_leverage",)


@dataclass(frozen=True)
class TwoEngines:
    duckdb_warehouse: Path
    spark_tables: Path
    duckdb_outcome: DbtOutcome
    spark_outcome: DbtOutcome
    manifest: dict


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> TwoEngines:
    root = tmp_path_factory.mktemp("spark")
    raw, lake = root / "raw", root / "lake"
    simulate_market(raw, SYMBOLS, START, DAYS, TRADES_PER_DAY, seed=13, show_progress=False)
    report = ingest_archive(raw, lake, show_progress=False)  # the archive and truth/ beside it
    assert report.rejected == 0
    warehouse = root / "duckdb" / "liquidations.duckdb"
    on_duckdb = build_warehouse(lake, warehouse)
    assert on_duckdb.success, [(n.name, n.message) for n in on_duckdb.failures] or on_duckdb.error
    spark_warehouse = root / "spark_target" / "liquidations.duckdb"  # Spark's tables go beside it
    on_spark = build_warehouse(lake, spark_warehouse, target="spark")
    assert on_spark.success, [(n.name, n.message) for n in on_spark.failures] or on_spark.error
    manifest = json.loads((spark_warehouse.with_name("dbt_target_spark") / "manifest.json").read_text())
    tables = Path(spark_paths(spark_warehouse)["DBT_SPARK_WAREHOUSE"]) / f"{SCHEMA}.db"
    yield TwoEngines(warehouse, tables, on_duckdb, on_spark, manifest)
    shutil.rmtree(root, ignore_errors=True)


def _sql_marts(manifest: dict) -> dict[str, list[str]]:
    """Every enabled SQL mart on the Spark target, with its key: the columns of its
    unique_combination (or unique) test, else every column that is not a double."""
    marts = {
        node["name"]: []
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["language"] == "sql"
        and node["path"].startswith("marts/")
        and node["config"]["enabled"]
    }
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("attached_node"):
            continue
        model = node["attached_node"].rsplit(".", 1)[-1]
        metadata = node.get("test_metadata") or {}
        where = node["config"].get("where") or ""
        # A where of test_scope.sql's placeholders narrows only an incremental build's test.
        if model not in marts or (where and not (where.startswith("__") and where.endswith("__"))):
            continue
        kwargs = metadata.get("kwargs", {})
        if metadata.get("name") == "unique_combination":
            marts[model] = list(kwargs["columns"])
        elif metadata.get("name") == "unique" and not marts[model]:
            marts[model] = [kwargs["column_name"]]
    return marts


def _normalise(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _rows(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[list[str], list[tuple]]:
    result = con.execute(f"select * from {relation}")
    columns = [d[0] for d in result.description]
    return columns, [tuple(_normalise(v) for v in row) for row in result.fetchall()]


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)
    return a == b


def test_every_sql_mart_is_the_same_on_spark_and_duckdb(built: TwoEngines):
    marts = _sql_marts(built.manifest)
    assert {"fct_liquidation_heatmap", "fct_liquidation_levels", "fct_liquidation_history"} <= set(marts)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"attach '{built.duckdb_warehouse}' as warehouse (read_only)")
    compared, mismatched = {}, {}
    for mart, key in sorted(marts.items()):
        relation = f"warehouse.main.{mart}"
        names = [d[0] for d in con.execute(f"describe {relation}").fetchall()]
        # _loaded_at says when a row was written (an incremental model's bookkeeping), not what it holds.
        kept_columns = ", ".join(n for n in names if n != "_loaded_at")
        relation = f"(select {kept_columns} from {relation})"
        if "model" in names:
            fitted = ", ".join(f"'{m}'" for m in PYTHON_FITTED_MODELS)
            relation = f"(select * from {relation} where model not in ({fitted}))"
        columns, duck_rows = _rows(con, relation)
        spark_files = built.spark_tables / mart
        spark_columns, spark_rows = _rows(
            con, f"(select {', '.join(columns)} from read_parquet('{spark_files}/**/*.parquet'))"
        )
        assert spark_columns == columns, mart
        if not key:
            doubles = {
                d[0] for d in con.execute(f"describe warehouse.main.{mart}").fetchall() if d[1] == "DOUBLE"
            }
            key = [c for c in columns if c not in doubles]
        positions = [columns.index(c) for c in key]

        def keyed(rows, positions=positions):
            return {tuple(row[i] for i in positions): row for row in rows}

        on_duckdb, on_spark = keyed(duck_rows), keyed(spark_rows)
        if len(on_duckdb) != len(duck_rows) or len(on_spark) != len(spark_rows):
            # No unique key (two true liquidations in the same millisecond and side): the rows as a
            # sorted multiset, value by value.
            ordered_duckdb, ordered_spark = sorted(duck_rows, key=repr), sorted(spark_rows, key=repr)
            if len(ordered_duckdb) != len(ordered_spark) or not all(
                _close(a, b)
                for left, right in zip(ordered_duckdb, ordered_spark, strict=True)
                for a, b in zip(left, right, strict=True)
            ):
                mismatched[mart] = "rows differ"
        elif sorted(on_spark, key=repr) != sorted(on_duckdb, key=repr):
            mismatched[mart] = "keys differ"
        else:
            for row_key, duck_row in on_duckdb.items():
                spark_row = on_spark[row_key]
                differing = [
                    (column, duck_value, spark_value)
                    for column, duck_value, spark_value in zip(columns, duck_row, spark_row, strict=True)
                    if not _close(duck_value, spark_value)
                ]
                if differing:
                    mismatched[mart] = f"{dict(zip(key, row_key, strict=True))}: {differing}"
                    break
        compared[mart] = len(duck_rows)
    # Every SQL mart, the heatmap included: its cuts (price bins, reached or not, live or not) rest
    # on exact sums and counts, never on a float whose last bits depend on the order of addition
    # (docs/scale.md, "Equal on both engines").
    assert not mismatched, mismatched
    # The market is big enough that the marts hold rows to compare.
    assert compared["fct_liquidation_heatmap"] > 100 and compared["fct_liquidation_levels"] > 10, compared


def test_every_test_and_unit_test_passes_on_both_engines(built: TwoEngines):
    for outcome in (built.duckdb_outcome, built.spark_outcome):
        statuses = {n.status for n in outcome.nodes if n.resource_type in ("test", "unit_test")}
        assert statuses <= {"pass", "warn"}, [(n.name, n.status) for n in outcome.failures]
    spark_units = {n.name for n in built.spark_outcome.nodes if n.resource_type == "unit_test"}
    duckdb_units = {n.name for n in built.duckdb_outcome.nodes if n.resource_type == "unit_test"}
    assert spark_units, "no unit test ran on Spark"
    # Every unit test of an SQL model runs on Spark too (the Python marts' are disabled there).
    sql_units = {
        node["name"] for node in built.manifest["unit_tests"].values() if node["config"].get("enabled", True)
    }
    assert spark_units == sql_units and spark_units <= duckdb_units


def test_spark_builds_the_sql_models_and_no_python_model(built: TwoEngines):
    built_on_spark = {n.name for n in built.spark_outcome.nodes if n.resource_type == "model"}
    built_on_duckdb = {n.name for n in built.duckdb_outcome.nodes if n.resource_type == "model"}
    python_models = {
        "fct_liquidation_clusters",
        "fct_model_scores",
        "fct_ensemble_weights",
        "int_leverage__learned",
    }
    assert python_models <= built_on_duckdb
    assert not python_models & built_on_spark
    # The notice `build --target spark` prints names every Python model it leaves out, and the
    # variant whose fit is one.
    disabled_python = {
        node["name"]
        for nodes in built.manifest["disabled"].values()
        for node in nodes
        if node["resource_type"] == "model" and node["language"] == "python"
    }
    assert python_models <= disabled_python
    notice = spark_disabled_notice()
    assert all(name in notice for name in disabled_python), (disabled_python, notice)
    assert all(model in notice for model in PYTHON_FITTED_MODELS), notice
    assert "stg_truth__positions" in built_on_spark and "int_trades__deduplicated" in built_on_spark
