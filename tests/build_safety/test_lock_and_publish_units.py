"""The build lock and the publication (what changed, written and checked), on their own (fast: no dbt)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from liquidationheatmap import publish
from liquidationheatmap.build_lock import BuildLocked, build_lock, is_build_locked, read_holder
from liquidationheatmap.publish import (
    PublishError,
    ServedRelation,
    collect_garbage,
    open_read_only,
    publish_serving,
    publishing_path,
    relocate,
    served_relations,
    serving_folder,
    swap_in,
)


def test_a_second_holder_is_refused_with_the_first_ones_pid_and_command(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    with build_lock(warehouse, "build") as me:
        assert is_build_locked(warehouse)
        refused = rf"being built by PID {os.getpid()} \(`build`, started "
        with pytest.raises(BuildLocked, match=refused), build_lock(warehouse, "docs", wait=False):
            pass
        waited = []
        began = time.monotonic()
        with pytest.raises(BuildLocked), build_lock(warehouse, "docs", timeout=0.5, on_wait=waited.append):
            pass
        assert time.monotonic() - began >= 0.5 and waited == [me]
    assert not is_build_locked(warehouse)
    with build_lock(warehouse, "docs") as again:
        assert read_holder(warehouse) == again


def test_the_lock_of_a_killed_process_is_free_at_once(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nfrom liquidationheatmap.build_lock import build_lock\n"
            f"with build_lock({str(warehouse)!r}, 'live'):\n"
            "    print('held', flush=True)\n    time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert read_holder(warehouse).command == "live"
        with (
            pytest.raises(BuildLocked, match=rf"PID {holder.pid} \(`live`"),
            build_lock(warehouse, "build", wait=False),
        ):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    with build_lock(warehouse, "build", wait=False):  # no stale lock to clean up
        assert read_holder(warehouse).pid == os.getpid()


def _working(path):
    con = duckdb.connect(str(path))
    con.execute("create table fct_a as select range as id, range * 2.0 as value from range(1000)")
    con.execute("create table seed_b as select 'x' as name")
    con.execute("create table int_big as select range as id from range(100000)")
    # A big mart: two symbols x three months, a HUGEINT column (Parquet has none: written as text).
    con.execute(
        "create table fct_big as select case when range % 2 = 0 then 'BTCUSDT' else 'ETHUSDT' end as symbol, "
        "timestamp '2025-01-01' + to_minutes(range * 60) as measured_at, "
        "range::hugeint * 1e20::hugeint as huge, range / 7.0 as value from range(2000)"
    )
    con.close()


RELATIONS = [
    ServedRelation("fct_a", ("id", "value")),
    ServedRelation("seed_b", ("name",)),
    ServedRelation("fct_big", ("symbol", "measured_at")),
]


def _publish(working, warehouse):
    publication = publish_serving(working, warehouse, RELATIONS, required={r.name for r in RELATIONS})
    if not publication.unchanged:
        swap_in(publication.path, warehouse)
    collect_garbage(warehouse, publication.files | publication.previous_files)
    return publication


def _served(warehouse, sql):
    con = open_read_only(warehouse)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


ONE_ROW = "symbol = 'ETHUSDT' and measured_at = timestamp '2025-03-01 01:00'"


def _set_one_value(working, value: float) -> None:
    con = duckdb.connect(str(working))
    con.execute(f"update fct_big set value = {value} where {ONE_ROW}")
    con.close()


@pytest.fixture
def small_relations(monkeypatch):
    monkeypatch.setattr(publish, "SMALL_RELATION_ROWS", 1500)  # fct_big (2,000 rows) goes to Parquet


def test_only_the_served_relations_are_published_with_their_row_counts(tmp_path, small_relations):
    working, warehouse = tmp_path / "w.duckdb", tmp_path / "wh.duckdb"
    _working(working)
    publication = _publish(working, warehouse)
    assert publication.rows == {"fct_a": 1000, "seed_b": 1, "fct_big": 2000}
    assert publication.columns["fct_a"] == ["id", "value"]
    assert publication.storage == {"fct_a": "table", "seed_b": "table", "fct_big": "parquet"}
    # One file per symbol and month of the first timestamp column (2,000 hours: Jan, Feb, Mar).
    assert sorted(f.rsplit("-", 1)[0] for f in publication.files) == [
        f"fct_big/symbol={symbol}/2025-{month}"
        for symbol in ("BTCUSDT", "ETHUSDT")
        for month in ("01", "02", "03")
    ]
    assert not publishing_path(warehouse).exists()
    tables = {
        n for (n,) in _served(warehouse, "select table_name from duckdb_tables() where schema_name = 'main'")
    }
    views = {n for (n,) in _served(warehouse, "select view_name from duckdb_views() where not internal")}
    assert tables == {"fct_a", "seed_b"} and views == {"fct_big"}
    # The view serves the working table exactly: its columns, types and every row.
    con = duckdb.connect(str(working), read_only=True)
    expected = con.execute("select * from fct_big order by all").fetchall()
    types = con.execute("describe fct_big").fetchall()
    con.close()
    assert _served(warehouse, "select * from fct_big order by all") == expected
    assert _served(warehouse, "describe fct_big") == types


def test_a_build_with_nothing_new_writes_nothing_and_one_changed_partition_one_file(
    tmp_path, small_relations
):
    working, warehouse = tmp_path / "w.duckdb", tmp_path / "wh.duckdb"
    _working(working)
    first = _publish(working, warehouse)
    identity = (warehouse.stat().st_ino, warehouse.stat().st_mtime_ns)

    again = _publish(working, warehouse)
    assert again.unchanged and again.written == [] and again.files == first.files
    assert (warehouse.stat().st_ino, warehouse.stat().st_mtime_ns) == identity  # the API's cache stays warm

    # Float noise (a parallel sum's last bits) in a big and a small relation is no change.
    con = duckdb.connect(str(working))
    con.execute("update fct_big set value = value * (1 + 1e-14) where symbol = 'BTCUSDT' and value > 1")
    con.execute("update fct_a set value = value * (1 - 1e-14) where id % 3 = 0")
    con.close()
    noisy = _publish(working, warehouse)
    assert noisy.unchanged and (warehouse.stat().st_ino, warehouse.stat().st_mtime_ns) == identity

    _set_one_value(working, -1)
    changed = _publish(working, warehouse)
    assert not changed.unchanged and [f.rsplit("-", 1)[0] for f in changed.written] == [
        "fct_big/symbol=ETHUSDT/2025-03"
    ]
    assert _served(
        warehouse, "select value from fct_big where measured_at = timestamp '2025-03-01 01:00'"
    ) == [(-1.0,)]
    # The replaced generation's file stays for readers that opened it, until the next publication.
    folder = serving_folder(warehouse)
    assert {str(p.relative_to(folder)) for p in folder.rglob("*.parquet")} == first.files | changed.files
    _set_one_value(working, -2)
    latest = _publish(working, warehouse)
    assert {str(p.relative_to(folder)) for p in folder.rglob("*.parquet")} == changed.files | latest.files
    assert not (first.files - changed.files) & latest.files


def test_a_copied_warehouse_reads_its_own_files(tmp_path, small_relations):
    working, warehouse = tmp_path / "a" / "w.duckdb", tmp_path / "a" / "wh.duckdb"
    working.parent.mkdir()
    _working(working)
    _publish(working, warehouse)
    copy = tmp_path / "b" / "wh.duckdb"
    copy.parent.mkdir()
    shutil.copy2(warehouse, copy)
    shutil.copytree(serving_folder(warehouse), serving_folder(copy))
    relocate(copy)
    shutil.rmtree(tmp_path / "a")
    assert _served(copy, "select count(*) from fct_big") == [(2000,)]


@pytest.mark.parametrize(
    ("relations", "required", "message"),
    [
        ([ServedRelation("fct_missing", ())], {"fct_missing"}, "did not leave fct_missing"),
        ([ServedRelation("fct_a", ("id", "price"))], {"fct_a"}, "lacks the columns its YAML declares: price"),
    ],
)
def test_a_publication_that_fails_its_check_leaves_no_file(tmp_path, relations, required, message):
    working, warehouse = tmp_path / "w.duckdb", tmp_path / "wh.duckdb"
    _working(working)
    with pytest.raises(PublishError, match=message):
        publish_serving(working, warehouse, relations, required=required)
    assert not publishing_path(warehouse).exists() and not warehouse.exists()
    assert not any(serving_folder(warehouse).rglob("*"))


def test_served_relations_are_marts_seeds_and_models_marked_serve(tmp_path):
    def node(kind, name, path, meta=None):
        return {
            "resource_type": kind,
            "name": name,
            "original_file_path": path,
            "config": {"materialized": "table", "meta": meta or {}},
            "columns": {"id": {}},
        }

    nodes = [
        node("model", "fct_x", "models/marts/x/fct_x.sql"),
        node("model", "int_y", "models/intermediate/int_y.sql"),
        node("model", "int_candles", "models/intermediate/int_candles.sql", {"serve": True}),
        node("seed", "tiers", "seeds/tiers.csv"),
        node("test", "not_null_x", "models/marts/x/_x.yml"),
    ]
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"nodes": {n["name"]: n for n in nodes}}))
    assert [r.name for r in served_relations(manifest)] == ["fct_x", "int_candles", "tiers"]
