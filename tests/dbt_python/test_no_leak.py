"""The models never read what they must not: truth/positions, and truth of the test period.

Models may learn from recorded liquidations of the train period only (learned_leverage, the fitted
ensemble weights). Truth is lake data (`ingest` loads the simulator's truth/ folder), so each build
gets a lake of its own, ingested from the session's archive beside an edited copy of its truth/:
- truth/positions deleted: every model mart and fitted parameter is the same;
- test-period liquidations changed (rows dropped, quantities tripled): the same again;
- train-period liquidations changed (every other row dropped): the fitted leverage weights do
  change (so the two checks above can fail).
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
)


def _build(raw: Path, truth: Path, warehouse: Path) -> Path:
    """A full build of a lake ingested from the archive in `raw` and the truth folder `truth`."""
    root = warehouse.parent
    archive = root / "raw"
    shutil.copytree(raw, archive, ignore=shutil.ignore_patterns("truth"))
    shutil.copytree(truth, archive / "truth")
    lake = root / "lake"
    ingest_archive(archive, lake, show_progress=False, workers=1)
    outcome = build_warehouse(lake, warehouse, full_refresh=True)
    assert outcome.success, [(n.name, n.message) for n in outcome.failures] or outcome.error
    return warehouse


def _table(warehouse: Path, table: str) -> pd.DataFrame:
    # The working database holds every model (the warehouse file only the served marts).
    with duckdb.connect(str(working_database(warehouse)), read_only=True) as con:
        frame = con.sql(f"select * from {table}").df()
    return frame.sort_values(list(frame.columns), ignore_index=True, na_position="first")


def _assert_same_tables(a: Path, b: Path) -> None:
    for table in MODEL_TABLES:
        left, right = _table(a, table), _table(b, table)
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
def baseline(scored_build, tmp_path_factory):
    root = tmp_path_factory.mktemp("no_leak")
    raw = scored_build.raw
    truth = root / "truth"
    shutil.copytree(raw / "truth", truth)
    warehouse = _build(raw, truth, root / "baseline" / "liquidations.duckdb")
    with duckdb.connect(str(working_database(warehouse)), read_only=True) as con:
        split = con.sql("select period_end from int_scoring__periods where period = 'train'").fetchone()[0]
    yield raw, truth, warehouse, int(pd.Timestamp(split).timestamp() * 1000), root
    shutil.rmtree(root, ignore_errors=True)


def _scaled(row: dict) -> dict:
    for column in ("original_quantity", "last_fill_quantity", "accumulated_fill_quantity"):
        row[column] = repr(float(row[column]) * 3)
    return row


def test_a_build_without_truth_positions_gives_identical_model_marts(baseline):
    raw, truth, warehouse, _, root = baseline
    without = root / "without_positions"
    shutil.copytree(truth, without)
    shutil.rmtree(without / "positions")

    other = _build(raw, without, root / "b" / "liquidations.duckdb")

    _assert_same_tables(warehouse, other)


def test_changing_test_period_truth_changes_no_fitted_parameter(baseline):
    raw, truth, warehouse, split_ms, root = baseline
    changed_truth = root / "test_changed"
    shutil.copytree(truth, changed_truth)
    counter = iter(range(10**9))

    def in_test_dropped_or_tripled(row):
        if int(row["time"]) < split_ms:
            return row
        return None if next(counter) % 2 else _scaled(row)

    assert _rewrite_liquidations(changed_truth, in_test_dropped_or_tripled) > 0

    other = _build(raw, changed_truth, root / "c" / "liquidations.duckdb")

    _assert_same_tables(warehouse, other)
    with duckdb.connect(str(warehouse), read_only=True) as a, duckdb.connect(str(other), read_only=True) as b:
        query = "select period, round(sum(value), 9) from fct_model_scores where period = 'test' group by 1"
        assert a.sql(query).fetchall() != b.sql(query).fetchall()  # the scores did see the change


def test_changing_train_period_truth_changes_the_fitted_leverage(baseline):
    raw, truth, warehouse, split_ms, root = baseline
    changed_truth = root / "train_changed"
    shutil.copytree(truth, changed_truth)

    counter = iter(range(10**9))

    def in_train_halved(row):
        return None if int(row["time"]) < split_ms and next(counter) % 2 else row

    assert _rewrite_liquidations(changed_truth, in_train_halved) > 0

    other = _build(raw, changed_truth, root / "d" / "liquidations.duckdb")

    before, after = _table(warehouse, "int_leverage__learned"), _table(other, "int_leverage__learned")
    assert (before["truth_count"] > 0).all()
    assert not before["weight"].round(9).equals(after["weight"].round(9))
