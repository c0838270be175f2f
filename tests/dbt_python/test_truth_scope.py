"""Incremental builds test only the truth position files ingest loaded since the last build.

The position files are the largest truth input (gigabytes at 30 days) and only tests read all of
them; the previous build's list of the truth files in the lake (int_quality__truth_files, from
the ingest manifest) tells an incremental build which files are new or loaded again.
"""

from __future__ import annotations

import json
import shutil

import pytest

from liquidationheatmap.dbt_runner import build_results_path, build_warehouse

pytestmark = pytest.mark.slow

WEIGHTS = {
    "binance_standard": 1.0,
    "funding_adjusted": 0.0,
    "large_trades": 0.0,
    "learned_leverage": 0.0,
}  # as the session's build (conftest.py)

KEY_TEST = "test.liquidationheatmap.unique_combination_stg_truth__positions_symbol__position_id"


def _compiled(warehouse) -> dict[str, str]:
    results = json.loads(build_results_path(warehouse).read_text())["results"]
    return {r["unique_id"].rsplit(".", 1)[0]: r["compiled_code"] for r in results}


def test_unchanged_truth_is_not_read_again_and_a_changed_file_is_tested(scored_build, window_vars, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(scored_build.warehouse.parent.parent / "lake", lake)
    truth = tmp_path / "truth"
    shutil.copytree(scored_build.raw / "truth", truth)
    warehouse = tmp_path / "warehouse" / "liquidations.duckdb"
    warehouse.parent.mkdir()
    variables = {"ensemble_weights": WEIGHTS, **window_vars}
    first = build_warehouse(lake, warehouse, extra_vars=variables, full_refresh=True)
    assert first.success, [(n.name, n.message) for n in first.failures] or first.error

    # The same truth folder again: ingest finds every file unchanged, so no truth row is tested:
    # nothing changed, and the build does not run dbt at all (docs/build.md, "What a build runs").
    unchanged = build_warehouse(lake, warehouse, truth=truth, extra_vars=variables)

    assert unchanged.success, [(n.name, n.message) for n in unchanged.failures] or unchanged.error
    assert unchanged.nodes == [] and unchanged.reason.startswith("nothing new"), unchanged.reason

    # A position repeated in the last day's file: ingest loads that file again, only its lake
    # partition is tested, and the clash is found. (A clash between a changed file and an unchanged
    # one is left to a full build: finding it would mean reading every file again.)
    files = sorted((truth / "positions" / "BTCUSDT").glob("*.csv"))
    repeated = files[-1].read_text().splitlines()[1]
    with files[-1].open("a") as handle:
        handle.write(repeated + "\n")
    day = files[-1].stem.rsplit("-", 3)[-3:]
    before = warehouse.read_bytes()

    changed = build_warehouse(lake, warehouse, truth=truth, extra_vars=variables)

    assert not changed.success
    failed = {n.unique_id.rsplit(".", 1)[0]: n.message for n in changed.failures}
    assert list(failed) == [KEY_TEST], failed
    assert failed[KEY_TEST] == "Got 1 result, configured to fail if != 0"
    compiled = _compiled(warehouse)[KEY_TEST]
    assert f"('BTCUSDT', cast('{'-'.join(day)}' as date))" in compiled
    first_day = "-".join(files[0].stem.rsplit("-", 3)[-3:])
    assert f"cast('{first_day}' as date)" not in compiled  # the unchanged file is not read again
    assert warehouse.read_bytes() == before  # the last good warehouse stays
