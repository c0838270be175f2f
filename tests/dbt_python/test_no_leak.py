"""The models never read what they must not: truth/positions, and truth of the test period.

Models may learn from recorded liquidations of a walk-forward window's train span only
(learned_leverage, the fitted ensemble weights, the notional scales), and a window's parameters
are used only after its train span. Truth is lake data (`ingest` loads the simulator's truth/
folder), so each build gets a lake of its own, ingested from the session's archive beside an
edited copy of its truth/ (windows of one day of training, half a day of testing: window 1 trains
on the first day, window 2's parameters come into force 12 hours later):
- truth/positions deleted: every model mart and fitted parameter is the same;
- liquidations after window 1's train span changed (rows dropped, quantities tripled): window 0's
  and 1's parameters are the same, and so is every model output up to the time window 2's
  parameters come into force (so window 1's test span saw no truth of its own), while the scores
  of window 1 did see the change;
- liquidations of window 1's train span changed (every other row dropped): its fitted leverage
  weights and notional scales do change (so the checks above can fail).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from liquidationheatmap.dbt_runner import build_warehouse
from liquidationheatmap.ingest import ingest_archive
from liquidationheatmap.publish import working_database

pytestmark = pytest.mark.slow

# Everything a model produces or fits; scores are left out (they read the truth by definition).
MODEL_TABLES = (
    "int_leverage__learned",
    "int_levels__variants",
    "fct_liquidation_levels",
    "fct_liquidation_history",
    "fct_liquidation_heatmap",
    "fct_ensemble_weights",
    "fct_liquidation_levels_ensemble",
    "fct_liquidation_history_ensemble",
    "fct_liquidation_heatmap_ensemble",
    "fct_liquidation_clusters",
    "fct_model_calibration",
)


def _build(raw: Path, truth: Path, warehouse: Path, window_vars: dict) -> Path:
    """A full build of a lake ingested from the archive in `raw` and the truth folder `truth`."""
    root = warehouse.parent
    archive = root / "raw"
    shutil.copytree(raw, archive, ignore=shutil.ignore_patterns("truth"))
    shutil.copytree(truth, archive / "truth")
    lake = root / "lake"
    ingest_archive(archive, lake, show_progress=False, workers=1)
    outcome = build_warehouse(lake, warehouse, full_refresh=True, extra_vars=window_vars)
    assert outcome.success, [(n.name, n.message) for n in outcome.failures] or outcome.error
    return warehouse


# When a model's rows were computed (differs between builds by definition).
BOOKKEEPING = ("_loaded_at", "_inputs")
# Where each model's rows say when they apply: rows before window 2's parameters come into force.
BEFORE = {
    "int_leverage__learned": "window_id <= 1",
    "fct_ensemble_weights": "window_id <= 1",
    "fct_model_calibration": "window_id <= 1",
    "int_levels__variants": "opened_at < '{cut}'",
    "fct_liquidation_history": "bucket_start < '{cut}'",
    "fct_liquidation_history_ensemble": "bucket_start < '{cut}'",
    # The state at the instant window 2's parameters come into force uses them (strictly before).
    "fct_liquidation_heatmap_ensemble": "snapshot_at + interval 5 minute < '{cut}'",
    "int_scoring__live_notional_per_bucket": "bucket_start + interval 5 minute <= '{cut}'",
}


def _table(warehouse: Path, table: str, where: str = "true") -> pd.DataFrame:
    # The working database holds every model (the warehouse file only the served marts).
    with duckdb.connect(str(working_database(warehouse)), read_only=True) as con:
        frame = con.sql(f"select * from {table} where {where}").df()
    frame = frame.drop(columns=[c for c in BOOKKEEPING if c in frame.columns])
    return frame.sort_values(list(frame.columns), ignore_index=True, na_position="first")


def _assert_same_tables(a: Path, b: Path, tables=MODEL_TABLES, where=None) -> None:
    for table in tables:
        condition = "true" if where is None else where[table]
        left, right = _table(a, table, condition), _table(b, table, condition)
        assert len(left) == len(right), table
        # Float sums may differ in the last bits between runs (parallel aggregation order).
        pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-9, obj=table)


def _rewrite_liquidations(truth: Path, keep) -> int:
    """Rewrite every liquidation file through keep(row) -> row | None; return the rows changed."""
    changed = 0
    for path in sorted((truth / "liquidations").glob("*/*.csv")):
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            fields, rows = reader.fieldnames, list(reader)
        out = []
        for row in rows:
            new = keep(dict(row))
            changed += new != row
            if new is not None:
                out.append(new)
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(out)
    return changed


@pytest.fixture(scope="module")
def baseline(scored_build, window_vars, tmp_path_factory):
    root = tmp_path_factory.mktemp("no_leak")
    raw = scored_build.raw
    truth = root / "truth"
    shutil.copytree(raw / "truth", truth)
    warehouse = _build(raw, truth, root / "baseline" / "liquidations.duckdb", window_vars)
    with duckdb.connect(str(working_database(warehouse)), read_only=True) as con:
        split, cut = con.sql(
            "select min(period_end), max(period_end) from int_scoring__periods "
            "where period = 'train' and window_id <= 2"
        ).fetchone()
    # split: the end of window 1's train span; cut: when window 2's parameters come into force.
    split_ms = int(pd.Timestamp(split).timestamp() * 1000)
    yield raw, truth, warehouse, split_ms, root, pd.Timestamp(cut), window_vars
    shutil.rmtree(root, ignore_errors=True)


def _scaled(row: dict) -> dict:
    for column in ("original_quantity", "last_fill_quantity", "accumulated_fill_quantity"):
        row[column] = repr(float(row[column]) * 3)
    return row


def test_a_build_without_truth_positions_gives_identical_model_marts(baseline):
    raw, truth, warehouse, _, root, _, window_vars = baseline
    without = root / "without_positions"
    shutil.copytree(truth, without)
    shutil.rmtree(without / "positions")

    other = _build(raw, without, root / "b" / "liquidations.duckdb", window_vars)

    _assert_same_tables(warehouse, other)


def test_changing_truth_after_a_train_span_changes_nothing_the_window_used(baseline):
    raw, truth, warehouse, split_ms, root, cut, window_vars = baseline
    changed_truth = root / "test_changed"
    shutil.copytree(truth, changed_truth)
    counter = iter(range(10**9))

    def in_test_dropped_or_tripled(row):
        if int(row["time"]) < split_ms:
            return row
        return None if next(counter) % 2 else _scaled(row)

    assert _rewrite_liquidations(changed_truth, in_test_dropped_or_tripled) > 0

    other = _build(raw, changed_truth, root / "c" / "liquidations.duckdb", window_vars)

    where = {table: condition.format(cut=cut) for table, condition in BEFORE.items()}
    _assert_same_tables(warehouse, other, tables=list(BEFORE), where=where)
    assert len(_table(warehouse, "int_levels__variants", where["int_levels__variants"])) > 0
    with duckdb.connect(str(warehouse), read_only=True) as a, duckdb.connect(str(other), read_only=True) as b:
        query = "select round(sum(value), 9) from fct_model_scores where window_id = 1"
        assert a.sql(query).fetchall() != b.sql(query).fetchall()  # the scores did see the change


def test_changing_train_span_truth_changes_the_fitted_leverage(baseline):
    raw, truth, warehouse, split_ms, root, _, window_vars = baseline
    changed_truth = root / "train_changed"
    shutil.copytree(truth, changed_truth)

    counter = iter(range(10**9))

    def in_train_halved(row):
        return None if int(row["time"]) < split_ms and next(counter) % 2 else row

    assert _rewrite_liquidations(changed_truth, in_train_halved) > 0

    other = _build(raw, changed_truth, root / "d" / "liquidations.duckdb", window_vars)

    window_1 = "window_id = 1"
    before = _table(warehouse, "int_leverage__learned", window_1)
    after = _table(other, "int_leverage__learned", window_1)
    assert (before["truth_count"] > 0).all()
    assert not before["weight"].round(9).equals(after["weight"].round(9))
    # So does its notional scale (fitted on the same truth), which the no-leak checks above hold fixed.
    scales = [
        _table(path, "fct_model_calibration", window_1).set_index("model")["notional_scale"]
        for path in (warehouse, other)
    ]
    assert (scales[0] != 1).any()
    assert not scales[0].round(9).equals(scales[1].round(9))
