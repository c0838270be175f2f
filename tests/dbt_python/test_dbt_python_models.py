"""Issue 5's dbt models on a real build: truth staging, zones, the ensemble, weights, periods, scores."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from liquidationheatmap.settings import PROJECT_ROOT
from python_models.ensemble import ENSEMBLE_MODEL, fit_weights
from python_models.truth import truth_from_force_orders

pytestmark = pytest.mark.slow

SCORE_BOUNDS = {
    "overlap": (0.0, 1.0),
    "hourly_correlation": (-1.0, 1.0),
    "calibration": (0.0, math.inf),
    "emd_pct": (0.0, math.inf),
}
REFERENCES = {"uniform", "proximity", "oracle"}


def _truth_csv(raw: Path) -> pd.DataFrame:
    files = sorted((raw / "truth" / "liquidations").glob("*/*.csv"))
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


def test_truth_staging_reads_every_forceorder_row_with_the_fill_notional(scored_build, db):
    truth = truth_from_force_orders(_truth_csv(scored_build.raw))
    rows, notional, longs = db.sql(
        "select count(*), sum(fill_notional), count(*) filter (position_side = 'long') "
        "from stg_truth__liquidations"
    ).fetchone()
    assert len(truth) > 50
    assert rows == len(truth)
    assert notional == pytest.approx(truth["notional"].sum(), rel=1e-12)
    assert longs == int((truth["side"] == "long").sum())


def test_zones_hold_exactly_the_levels_in_their_price_range_and_the_densest_bin(db):
    zones = db.sql("select * from fct_liquidation_clusters where model <> 'ensemble'").df()
    bins = db.sql(
        "select model, side, price_bin, sum(live_notional) as notional "
        "from fct_liquidation_levels group by all"
    ).df()
    assert set(zip(zones["model"], zones["side"], strict=True)) == {
        (m, s)
        for m in ("binance_standard", "funding_adjusted", "large_trades", "learned_leverage")
        for s in ("long", "short")
    }
    for (model, side), group in bins.groupby(["model", "side"]):
        mine = zones[(zones["model"] == model) & (zones["side"] == side)]
        inside = pd.Series(False, index=group.index)
        for zone in mine.itertuples():
            members = group[(group["price_bin"] >= zone.price_low) & (group["price_bin"] < zone.price_high)]
            assert len(members) == zone.member_count
            assert members["notional"].sum() == pytest.approx(zone.total_notional, rel=1e-9)
            inside |= group.index.isin(members.index)
        densest = group.loc[group["notional"].idxmax()]
        assert bool(inside[group["notional"].idxmax()]), (model, side, densest.price_bin)
        # Zones are where the levels are dense: their bins hold more per bin than the noise left out.
        assert group.loc[inside, "notional"].mean() > group.loc[~inside, "notional"].mean()


def test_ensemble_weighted_one_and_zero_equals_binance_standard_in_every_mart(db):
    pairs = {
        "fct_liquidation_levels": (
            ["symbol", "side", "leverage", "price_bin"],
            ["live_notional", "liquidation_price"],
        ),
        "fct_liquidation_heatmap": (
            ["symbol", "timeframe", "bucket_start", "price_bin", "side"],
            ["live_notional", "live_quantity"],
        ),
        "fct_liquidation_history": (["symbol", "bucket_start", "side"], ["liquidated_notional"]),
    }
    for mart, (keys, values) in pairs.items():
        model = db.sql(f"select * from {mart} where model = 'binance_standard'").df()
        ensemble = db.sql(f"select * from {mart}_ensemble").df()
        assert set(ensemble["model"]) == {"ensemble"}
        # The zero-weighted model contributes cells of value 0, which the marts drop or keep as 0.
        ensemble = ensemble[ensemble[values[0]] > 0]
        joined = model.merge(ensemble, on=keys, how="outer", suffixes=("", "_ens"), indicator=True)
        assert set(joined["_merge"]) == {"both"}, mart
        for value in values:
            assert joined[f"{value}_ens"].to_numpy() == pytest.approx(joined[value].to_numpy(), rel=1e-12)
    zone_columns = "side, zone_id, centroid_price, price_low, price_high, total_notional, member_count"
    by_model = db.sql(
        f"select {zone_columns} from fct_liquidation_clusters where model = 'binance_standard' order by 1, 2"
    ).fetchall()
    by_ensemble = db.sql(
        f"select {zone_columns} from fct_liquidation_clusters where model = 'ensemble' order by 1, 2"
    ).fetchall()
    assert len(by_ensemble) == len(by_model) > 0
    for ours, theirs in zip(by_ensemble, by_model, strict=True):
        assert ours[:2] == theirs[:2] and ours[6] == theirs[6]
        assert ours[2:6] == pytest.approx(theirs[2:6], rel=1e-12)


def test_weights_table_records_the_var_weights_summing_to_one_in_every_window(db):
    rows = db.sql(
        "select window_id, model, weight, weight_source from fct_ensemble_weights order by window_id, model"
    ).fetchall()
    # Window 0 (in force before the first fit) and windows 1-3 (their train spans are built).
    assert [r[0] for r in rows] == [w for w in range(4) for _ in range(4)]
    assert {r[1:] for r in rows} == {
        ("binance_standard", 1.0, "var"),
        ("funding_adjusted", 0.0, "var"),
        ("large_trades", 0.0, "var"),
        ("learned_leverage", 0.0, "var"),
    }


def test_walk_forward_windows_step_by_the_test_span_from_midnight_of_the_first_day(db):
    periods = db.sql(
        "select window_id, period, period_start, period_end, is_complete from int_scoring__periods "
        "order by window_id, period_start"
    ).fetchall()
    first, last = db.sql("select min(bucket_start), max(bucket_start) from int_buckets__timeline").fetchone()
    assert first == pd.Timestamp("2026-10-01 00:00") and last + pd.Timedelta(minutes=5) == pd.Timestamp(
        "2026-10-03"
    )
    day, half = pd.Timedelta(days=1), pd.Timedelta(hours=12)
    expected = []
    for k, complete in ((1, True), (2, True), (3, False)):
        start = first + (k - 1) * half
        expected += [
            (k, "train", start, start + day, complete),
            (k, "test", start + day, start + day + half, complete),
        ]
    assert periods == expected
    # Scores: each complete window's test span, and window 0 pooling them.
    scored = db.sql(
        "select distinct window_id, period, period_start, period_end from fct_model_scores order by 1"
    ).fetchall()
    assert scored == [
        (0, "test", first + day, first + 2 * day),
        (1, "test", first + day, first + day + half),
        (2, "test", first + day + half, first + 2 * day),
    ]


def test_every_model_is_scored_beside_the_three_references_in_every_period_and_horizon(scored_build, db):
    scores = db.sql("select * from fct_model_scores").df()
    variants = {row[0] for row in db.sql("select model from fct_ensemble_weights").fetchall()}
    models = variants | {ENSEMBLE_MODEL}
    assert variants >= {"binance_standard", "funding_adjusted"}
    placement = scores[scores["horizon_hours"].notna()]
    history = scores[scores["horizon_hours"].isna()]
    assert set(placement["model"]) == models | REFERENCES
    assert set(history["model"]) == models  # calibration and correlation judge predicted history only
    assert set(placement["horizon_hours"].astype(int)) == {1, 4}
    # maps x sides x windows (0, 1, 2) x horizons x metrics
    assert len(placement) == len(models | REFERENCES) * 3 * 3 * 2 * 3
    assert len(history) == len(models) * 3 * 3 * 2
    kinds = scores.drop_duplicates("model").set_index("model")["kind"]
    assert {m for m, k in kinds.items() if k == "reference"} == REFERENCES
    for metric, (low, high) in SCORE_BOUNDS.items():
        values = scores.loc[scores["metric"] == metric, "value"].dropna()
        assert ((values >= low - 1e-12) & (values <= high + 1e-12)).all(), metric
    pooled = placement[(placement["side"] == "all") & placement["metric"].isin(["overlap", "skill"])]
    assert pooled["value"].notna().all()
    assert (pooled["low"] <= pooled["value"] + 1e-12).all() and (
        pooled["value"] <= pooled["high"] + 1e-12
    ).all()
    # Calibration's n is the true notional of the span: windows 1 + 2 = the pooled = all truth of
    # the test spans (the second day).
    truth = truth_from_force_orders(_truth_csv(scored_build.raw))
    in_range = truth[(truth["time"] >= "2026-10-02") & (truth["time"] < "2026-10-03")]
    calibration_n = history[
        (history["model"] == "binance_standard")
        & (history["side"] == "all")
        & (history["metric"] == "calibration")
    ].set_index("window_id")["n"]
    assert calibration_n[0] == pytest.approx(in_range["notional"].sum(), rel=1e-9)
    assert calibration_n[1] + calibration_n[2] == pytest.approx(calibration_n[0], rel=1e-9)


def test_the_reference_maps_rank_oracle_above_uniform_above_proximity(db):
    overlap = db.sql(
        "select window_id, horizon_hours, model, value from fct_model_scores "
        "where metric = 'overlap' and side = 'all' and kind = 'reference'"
    ).df()
    table = overlap.pivot_table(index=["window_id", "horizon_hours"], columns="model", values="value")
    assert len(table) == 6  # windows 0, 1, 2 x 1 h and 4 h
    for key, row in table.iterrows():
        assert row["oracle"] > row["uniform"] > row["proximity"], (key, row.to_dict())
    skill = db.sql(
        "select model, value from fct_model_scores "
        "where metric = 'skill' and side = 'all' and model in ('uniform', 'oracle')"
    ).fetchall()
    assert {round(value, 12) for model, value in skill if model == "uniform"} == {0.0}
    assert {round(value, 12) for model, value in skill if model == "oracle"} == {1.0}


def test_ensemble_scores_equal_the_model_it_is_made_of(db):
    scores = db.sql(
        "select model, side, window_id, horizon_hours, metric, value, n from fct_model_scores "
        "where model in ('binance_standard', 'ensemble')"
    ).df()
    keys = ["side", "window_id", "horizon_hours", "metric"]
    model = scores[scores["model"] == "binance_standard"].drop(columns="model")
    ensemble = scores[scores["model"] == "ensemble"].drop(columns="model")
    joined = model.merge(ensemble, on=keys, suffixes=("", "_ens"), how="outer")
    assert len(joined) == len(model) == len(ensemble) == 3 * 3 * (2 * 3 + 2)
    assert joined["value_ens"].to_numpy() == pytest.approx(joined["value"].to_numpy(), rel=1e-9, nan_ok=True)


def test_only_the_oracle_reads_the_true_positions(scored_build):
    manifest = json.loads((scored_build.warehouse.parent / "dbt_target" / "manifest.json").read_text())
    nodes = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    positions = "model.liquidationheatmap.stg_truth__positions"
    oracle = "model.liquidationheatmap.int_scoring__window_oracle_cells"
    readers = {node["name"] for node in nodes.values() if positions in node["depends_on"]["nodes"]}
    # Besides the oracle only the data-quality listing of the truth files (paths and sizes) reads them.
    assert readers == {"int_scoring__window_oracle_cells", "int_quality__truth_files"}

    def ancestors(uid: str, seen: set[str]) -> set[str]:
        for parent in nodes.get(uid, {}).get("depends_on", {}).get("nodes", []):
            if parent not in seen:
                seen.add(parent)
                ancestors(parent, seen)
        return seen

    model_marts = [uid for uid, node in nodes.items() if node["name"].startswith("fct_liquidation_")]
    model_marts.append("model.liquidationheatmap.fct_ensemble_weights")
    model_marts.append("model.liquidationheatmap.fct_model_calibration")
    assert len(model_marts) >= 7
    for uid in model_marts:
        upstream = ancestors(uid, set())
        assert positions not in upstream and oracle not in upstream, uid


def test_the_fit_on_the_train_windows_gives_weights_on_the_simplex_for_every_variant(db):
    start, end = db.sql(
        "select period_start, period_end from int_scoring__periods where period = 'train' and window_id = 1"
    ).fetchone()
    inside = f"window_start >= '{start}' and window_end <= '{end}'"
    windows = db.sql(f"select * from int_scoring__windows where {inside}").df()
    cells = db.sql(
        "select cells.symbol, cells.window_start, cells.horizon_hours, cells.side, model, score_bin, "
        "live_notional as value from int_scoring__window_map_cells as cells "
        f"inner join int_scoring__windows using (symbol, window_start, horizon_hours, side) where {inside}"
    ).df()
    truth = db.sql(
        "select t.* from int_scoring__window_truth_cells as t "
        f"inner join int_scoring__windows using (symbol, window_start, horizon_hours, side) where {inside}"
    ).df()
    weights = fit_weights(windows, cells, truth, step=0.05)
    variants = {row[0] for row in db.sql("select distinct model from fct_ensemble_weights").fetchall()}
    assert set(weights) == variants
    assert sum(weights.values()) == pytest.approx(1.0) and min(weights.values()) >= 0


def test_the_new_dbt_tests_ran_and_passed(scored_build):
    statuses = {node.name: node.status for node in scored_build.outcome.nodes}
    for name in (
        "assert_ensemble_weights_sum_to_one",
        "assert_model_scores_within_bounds",
        "assert_scoring_periods_are_contiguous_and_disjoint",
        "assert_ensemble_levels_sum_the_weighted_models",
        "assert_model_calibration_is_the_shrunk_ratio",
    ):
        assert statuses.get(name) == "pass", name
    for model in (
        "fct_liquidation_clusters",
        "fct_ensemble_weights",
        "fct_liquidation_levels_ensemble",
        "fct_liquidation_heatmap_ensemble",
        "fct_liquidation_history_ensemble",
        "fct_model_scores",
        "fct_model_calibration",
    ):
        assert statuses.get(model) == "success", model


def test_dbt_docs_block_is_the_scoring_definitions_page():
    page = (PROJECT_ROOT / "docs" / "model_scoring.md").read_text()
    block = (PROJECT_ROOT / "dbt_project" / "docs" / "model_scoring.md").read_text().splitlines(keepends=True)
    assert block[0] == "{% docs model_scoring %}\n"
    assert block[-1] == "{% enddocs %}\n"
    assert "".join(block[2:-1]) == page


def test_score_prints_the_pooled_headline_the_latest_window_and_the_history(scored_build, capsys):
    from liquidationheatmap.cli import main

    assert main(["score", "--warehouse", str(scored_build.warehouse), "--markdown"]) == 0
    text = capsys.readouterr().out
    tables = [line for line in text.splitlines() if line.startswith("**BTCUSDT")]
    assert len(tables) == 4  # pooled and the latest window x 1 h and 4 h
    assert sum("2 test windows pooled" in t for t in tables) == 2
    assert sum("window 2 test" in t for t in tables) == 2
    assert sum("· 1 h ·" in t for t in tables) == 2 and sum("· 4 h ·" in t for t in tables) == 2
    lines = text.splitlines()
    for name in ("binance_standard", "funding_adjusted", "ensemble"):
        assert sum(line.startswith(f"| {name} |") for line in lines) == 4
    for name in ("oracle", "uniform", "proximity"):
        assert sum(line.startswith(f"| {name} (ref.) |") for line in lines) == 4
    history = text[text.index("**History of windows**") :].splitlines()
    assert [line.split(" | ")[1] for line in history if line.startswith("| BTCUSDT")] == ["1", "2"]
    assert main(["score", "--warehouse", str(scored_build.warehouse), "--horizon", "4", "--window", "1"]) == 0
    terminal = capsys.readouterr().out
    assert "· 4 h ·" in terminal and "· 1 h ·" not in terminal and "bootstrap interval" in terminal
    assert "window 1 test" in terminal and "history of windows" in terminal
    assert main(["score", "--warehouse", str(scored_build.warehouse), "--window", "x"]) == 2
