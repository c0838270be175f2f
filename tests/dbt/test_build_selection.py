"""A build runs only the dbt nodes that what changed since the last complete build can affect
(liquidationheatmap/build_selection.py, docs/build.md), and its marts are those of a build of
everything. Real dbt on the session's small simulated market (conftest.py): its incremental
warehouse was built on two days, then on the third day by selection; the full one on all three."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from liquidationheatmap import dbt_runner
from liquidationheatmap.build_selection import plan, read_inputs, source_selectors, state_folder
from liquidationheatmap.dbt_runner import build_warehouse, copy_warehouse, read_state, working_database
from liquidationheatmap.ingest import ingest_archive


def _served(warehouse: Path) -> dict[str, pd.DataFrame]:
    """Every relation the warehouse serves, without the load times, rows sorted on every column."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'main'"
            ).fetchall()
        ]
        frames = {}
        for name in sorted(names):
            frame = con.execute(f"select * from {name}").df()
            # Bookkeeping columns (_loaded_at, the _inputs fingerprint of the ensemble heatmap and
            # the zones) say when and from what a row was written, not what it holds.
            frame = frame.drop(columns=[c for c in frame.columns if c.startswith(("_loaded_at", "_inputs"))])
            frames[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    finally:
        con.close()
    return frames


def _assert_same_marts(warehouse: Path, reference: Path) -> None:
    built, expected = _served(warehouse), _served(reference)
    assert set(built) == set(expected)
    different = {}
    for name, frame in expected.items():
        try:
            pd.testing.assert_frame_equal(
                built[name], frame, check_exact=False, rtol=1e-9, atol=1e-9, obj=name
            )
        except AssertionError as error:
            different[name] = str(error)[:400]
    assert not different, different


def _ran_models(outcome) -> set[str]:
    return {n.name for n in outcome.nodes if n.resource_type in ("model", "seed")}


def _descendants(warehouse: Path, name: str) -> set[str]:
    manifest = json.loads((state_folder(warehouse) / "manifest.json").read_text(encoding="utf-8"))
    by_id = {uid: node["name"] for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    start = next(uid for uid, model in by_id.items() if model == name)
    seen, todo = {start}, [start]
    while todo:
        for child in manifest["child_map"].get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return {by_id[uid] for uid in seen if uid in by_id}


def test_a_new_day_runs_only_what_it_reaches_and_equals_a_full_build(built):
    outcome = built.added_day
    assert "aggTrades" in outcome.reason and "1 new day" in outcome.reason, outcome.reason
    ran = _ran_models(outcome)
    # Seeds and the models that read no lake dataset are not rebuilt for a new day of trades.
    assert "dim_margin_tiers" not in ran and "int_trades__deduplicated" in ran
    _assert_same_marts(built.incremental, built.full)


def test_nothing_new_runs_no_node_and_publishes_nothing(built, tmp_path):
    warehouse = tmp_path / "liquidations.duckdb"
    copy_warehouse(built.incremental, warehouse)
    served = warehouse.stat()
    # Ingesting the same archive again finds every file unchanged: its manifest file records no load.
    report = ingest_archive(built.lake.parent / "archive" / "data", built.lake, show_progress=False)
    assert report.loaded == 0 and report.unchanged > 0
    outcome = build_warehouse(built.lake, warehouse)
    assert outcome.success and outcome.nodes == [] and outcome.publication is None
    assert outcome.reason.startswith("nothing new since the build of "), outcome.reason
    after = warehouse.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (
        served.st_ino,
        served.st_mtime_ns,
        served.st_size,
    )
    assert read_state(warehouse)["state"] == "published"
    _assert_same_marts(warehouse, built.full)


def test_a_moved_project_reads_its_own_seed_files(built, tmp_path, monkeypatch):
    """dbt's saved parse keeps a seed's absolute path and does not notice the project moved: a build
    from the moved project must read the seed from there (the old folder is gone)."""
    warehouse = tmp_path / "liquidations.duckdb"
    copy_warehouse(built.full, warehouse)
    first = tmp_path / "first"
    shutil.copytree(
        dbt_runner.DBT_PROJECT_DIR, first / "dbt_project", ignore=shutil.ignore_patterns("target", "logs")
    )
    monkeypatch.setattr(dbt_runner, "DBT_PROJECT_DIR", first / "dbt_project")
    before = build_warehouse(built.lake, warehouse, select=["heatmap_timeframes"])
    assert before.success, [(n.name, n.message) for n in before.failures] or before.error
    moved = tmp_path / "moved"
    shutil.move(first, moved)
    monkeypatch.setattr(dbt_runner, "DBT_PROJECT_DIR", moved / "dbt_project")
    after = build_warehouse(built.lake, warehouse, select=["heatmap_timeframes"])
    assert after.success, [(n.name, n.message) for n in after.failures] or after.error
    assert [n.name for n in after.nodes if n.resource_type == "seed"] == ["heatmap_timeframes"]


def test_an_edited_model_rebuilds_it_and_its_descendants(built, tmp_path, monkeypatch):
    warehouse = tmp_path / "liquidations.duckdb"
    copy_warehouse(built.incremental, warehouse)
    project = tmp_path / "dbt_project"
    shutil.copytree(dbt_runner.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models/intermediate/quality/int_coverage__days.sql"
    if not model.exists():
        model = next(project.rglob("int_coverage__days.sql"))
    model.write_text(model.read_text(encoding="utf-8") + "\n-- edited\n", encoding="utf-8")
    monkeypatch.setattr(dbt_runner, "DBT_PROJECT_DIR", project)
    outcome = build_warehouse(built.lake, warehouse)
    assert outcome.success, [(n.name, n.message) for n in outcome.failures] or outcome.error
    assert "int_coverage__days.sql" in outcome.reason, outcome.reason
    assert _ran_models(outcome) == _descendants(warehouse, "int_coverage__days")
    assert any(n.resource_type == "test" for n in outcome.nodes)  # its tests ran with it
    _assert_same_marts(warehouse, built.full)
    assert build_warehouse(built.lake, warehouse).nodes == []  # the edit is now the reference


def test_a_failed_build_is_rebuilt_by_the_next(built, tmp_path, monkeypatch):
    warehouse = tmp_path / "liquidations.duckdb"
    copy_warehouse(built.full, warehouse)
    # A model that fails as it runs, after its selection started: a pre-hook that raises in DuckDB.
    # (A tiny memory limit failed the same way only when DuckDB's first allocation fell inside the
    # model; when it fell in dbt's catalog queries, the build failed before any node ran.)
    project = tmp_path / "dbt_project"
    shutil.copytree(dbt_runner.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models/marts/liquidations/fct_liquidation_history.sql"
    model.write_text(
        "{{ config(pre_hook=\"select error('injected failure')\") }}\n" + model.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    with monkeypatch.context() as patch:
        patch.setattr(dbt_runner, "DBT_PROJECT_DIR", project)
        failed = build_warehouse(built.lake, warehouse, select=["fct_liquidation_history+"])
    assert not failed.success and "fct_liquidation_history" in {n.name for n in failed.failures}
    assert "fct_liquidation_history" in read_inputs(warehouse).dirty
    repaired = build_warehouse(built.lake, warehouse)
    assert repaired.success, [(n.name, n.message) for n in repaired.failures] or repaired.error
    assert _descendants(warehouse, "fct_liquidation_history") <= _ran_models(repaired)
    assert "int_trades__deduplicated" not in _ran_models(repaired)
    assert read_inputs(warehouse).dirty == []
    _assert_same_marts(warehouse, built.full)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"extra_vars": {"bucket_minutes": 5}}, "vars"),  # even set to its default value
        ({"full_refresh": True}, "--full-refresh"),
        ({}, "nothing new since the build of"),
    ],
)
def test_a_changed_var_or_a_full_refresh_builds_every_node(built, change, expected):
    """The decision on the incremental warehouse's real record (no dbt run: it would be a full build)."""
    from liquidationheatmap.build_selection import current_inputs
    from liquidationheatmap.dbt_runner import _build_arguments, lake_datasets, truth_datasets

    present = lake_datasets(built.lake)
    _, dbt_vars = _build_arguments(built.lake, present, False, None, None, change.get("extra_vars"))
    now = current_inputs(
        built.lake,
        built.incremental,
        dbt_runner.DBT_PROJECT_DIR,
        [*present, *truth_datasets(built.lake)],
        dbt_vars,
    )
    chosen = plan(
        built.incremental,
        working_database(built.incremental),
        now,
        previous_state="published",
        full_refresh=change.get("full_refresh", False),
        select=None,
        exclude=None,
    )
    assert expected in chosen.reason, chosen.reason
    if change:
        assert chosen.select is None and chosen.run_dbt
    else:
        assert chosen.select == [] and not chosen.run_dbt and not chosen.publish


def test_dbt_reads_the_ingest_manifest_as_one_file_taken_when_the_build_started(built, tmp_path):
    """The manifest is a file per ingest run (a year of daily runs: 365 files, each opened by every
    query of it); a build hands dbt one copy (dbt_runner.snapshot_lake_manifest), and a change to the
    manifest still selects what reads it."""
    snapshot = dbt_runner.target_dir_for(built.incremental) / dbt_runner.MANIFEST_SNAPSHOT
    lake_rows = duckdb.sql(
        f"select * from read_parquet('{built.lake}/_manifest/manifest-*.parquet', union_by_name = true)"
    ).df()
    copied = duckdb.sql(f"select * from read_parquet('{snapshot}')").df()
    # Other tests of this session ingest into the lake after that build: those runs came later.
    taken = datetime.fromtimestamp(snapshot.stat().st_mtime, UTC).replace(tzinfo=None)
    later = lake_rows["ingested_at"] > taken
    assert len(copied) > 0 and not later[lake_rows["run_id"].isin(copied["run_id"])].any()
    pd.testing.assert_frame_equal(
        copied.sort_values(["run_id", "source_path"]).reset_index(drop=True),
        lake_rows[~later].sort_values(["run_id", "source_path"]).reset_index(drop=True),
    )
    compiled = (
        dbt_runner.target_dir_for(built.incremental)
        / "compiled/liquidationheatmap/models/staging/ingest/stg_ingest__manifest.sql"
    ).read_text(encoding="utf-8")
    assert str(snapshot) in compiled and "manifest-*" not in compiled
    # The lake's files stay the source's location: a change to them selects what reads them.
    manifest = json.loads((state_folder(built.incremental) / "manifest.json").read_text(encoding="utf-8"))
    assert source_selectors(manifest)["_manifest"] == "source:ingest.manifest"
    assert dbt_runner.snapshot_lake_manifest(tmp_path / "no_lake", tmp_path / "target") is None


def test_a_table_of_an_earlier_version_stops_the_build_with_the_refresh_that_repairs_it(built, tmp_path):
    """A warehouse built before stg_truth__liquidations was incremental holds it without _loaded_at:
    the build stops on dbt's schema change (not on a query of the missing column) and the hint names
    the one model to refresh, which repairs it."""
    from liquidationheatmap.commands.build import schema_change_hint

    warehouse = tmp_path / "liquidations.duckdb"
    copy_warehouse(built.incremental, warehouse)
    with duckdb.connect(str(working_database(warehouse))) as con:
        con.execute("alter table stg_truth__liquidations drop column _loaded_at")
        con.execute("alter table stg_truth__liquidations drop column file_date")
    failed = build_warehouse(built.lake, warehouse, select=["stg_truth__liquidations"])
    assert not failed.success
    hint = schema_change_hint(failed.failures)
    assert hint is not None, [(n.name, n.message) for n in failed.failures]
    assert "--full-refresh --select stg_truth__liquidations`" in hint
    repaired = build_warehouse(built.lake, warehouse, select=["stg_truth__liquidations"], full_refresh=True)
    assert repaired.success, [(n.name, n.message) for n in repaired.failures] or repaired.error
    with duckdb.connect(str(working_database(warehouse)), read_only=True) as con:
        columns = {row[0] for row in con.execute("describe stg_truth__liquidations").fetchall()}
    assert {"_loaded_at", "file_date"} <= columns
