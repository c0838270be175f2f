"""The build lock and the publication's check, on their own (fast: no dbt)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from liquidationheatmap.build_lock import BuildLocked, build_lock, is_build_locked, read_holder
from liquidationheatmap.publish import (
    PublishError,
    ServedRelation,
    served_relations,
    swap_in,
    write_serving_database,
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
    con.close()


def test_only_the_served_relations_are_published_with_their_row_counts(tmp_path):
    working, target, warehouse = tmp_path / "w.duckdb", tmp_path / "wh.publishing", tmp_path / "wh.duckdb"
    _working(working)
    relations = [ServedRelation("fct_a", ("id", "value")), ServedRelation("seed_b", ("name",))]
    publication = write_serving_database(working, target, relations, required={"fct_a", "seed_b"})
    assert publication.rows == {"fct_a": 1000, "seed_b": 1}
    assert publication.columns["fct_a"] == ["id", "value"]
    swap_in(target, warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    tables = {n for (n,) in con.execute("select table_name from information_schema.tables").fetchall()}
    con.close()
    assert tables == {"fct_a", "seed_b"} and not target.exists()


@pytest.mark.parametrize(
    ("relations", "required", "message"),
    [
        ([ServedRelation("fct_missing", ())], {"fct_missing"}, "did not leave fct_missing"),
        ([ServedRelation("fct_a", ("id", "price"))], {"fct_a"}, "lacks the columns its YAML declares: price"),
    ],
)
def test_a_publication_that_fails_its_check_leaves_no_file(tmp_path, relations, required, message):
    working, target = tmp_path / "w.duckdb", tmp_path / "wh.publishing"
    _working(working)
    with pytest.raises(PublishError, match=message):
        write_serving_database(working, target, relations, required=required)
    assert not target.exists()


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
