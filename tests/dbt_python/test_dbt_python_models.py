"""Issue 5's dbt models on a real build: truth staging, zones, the ensemble, weights, periods, scores."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from liquidationheatmap.settings import PROJECT_ROOT
from python_models.ensemble import ENSEMBLE_MODEL, combine, fit_weights
from python_models.scoring import score_models
from python_models.truth import prepare_truth, truth_from_force_orders

pytestmark = pytest.mark.slow

SCORE_BOUNDS = {
    "zone_hit_rate": (0.0, 1.0),
    "hourly_correlation": (-1.0, 1.0),
    "calibration": (0.0, math.inf),
    "median_distance_pct": (0.0, math.inf),
}


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


def test_weights_table_records_the_var_weights_summing_to_one(db):
    rows = db.sql(
        "select model, weight, weight_source, fitted_from, fitted_to from fct_ensemble_weights order by model"
    ).fetchall()
    assert rows == [
        ("binance_standard", 1.0, "var", None, None),
        ("funding_adjusted", 0.0, "var", None, None),
        ("large_trades", 0.0, "var", None, None),
        ("learned_leverage", 0.0, "var", None, None),
    ]
    assert sum(row[1] for row in rows) == 1.0


def test_train_and_test_periods_split_the_built_range_at_a_whole_hour_without_overlap(db):
    periods = db.sql(
        "select period, period_start, period_end from int_scoring__periods order by period_start"
    ).fetchall()
    first, last = db.sql("select min(bucket_start), max(bucket_start) from int_buckets__timeline").fetchone()
    (train, train_start, split), (test, test_start, test_end) = periods
    assert (train, test) == ("train", "test")
    assert train_start == first == pd.Timestamp("2026-10-01 00:00")
    assert test_end == last + pd.Timedelta(minutes=5) == pd.Timestamp("2026-10-03 00:00")
    assert test_start == split == pd.Timestamp("2026-10-02 00:00")
    score_periods = db.sql(
        "select distinct period, period_start, period_end from fct_model_scores order by period_start"
    ).fetchall()
    assert score_periods == periods


def test_scores_cover_every_model_side_period_and_metric_within_bounds(scored_build, db):
    scores = db.sql("select * from fct_model_scores").df()
    assert len(scores) == 5 * 3 * 2 * 4
    assert set(scores["model"]) == {
        "binance_standard",
        "funding_adjusted",
        "large_trades",
        "learned_leverage",
        "ensemble",
    }
    for metric, (low, high) in SCORE_BOUNDS.items():
        values = scores.loc[scores["metric"] == metric, "value"].dropna()
        assert ((values >= low - 1e-12) & (values <= high + 1e-12)).all(), metric
    pooled = scores[(scores["side"] == "all") & (scores["metric"] == "zone_hit_rate")]
    assert pooled["value"].notna().all()
    # Calibration's n is the true notional of the period: train + test = all truth in the range.
    truth = truth_from_force_orders(_truth_csv(scored_build.raw))
    in_range = truth[(truth["time"] >= "2026-10-01") & (truth["time"] < "2026-10-03")]
    calibration_n = scores[
        (scores["model"] == "binance_standard")
        & (scores["side"] == "all")
        & (scores["metric"] == "calibration")
    ]["n"]
    assert calibration_n.sum() == pytest.approx(in_range["notional"].sum(), rel=1e-9)


def test_ensemble_scores_equal_the_model_it_is_made_of(db):
    scores = db.sql(
        "select model, side, period, metric, value, n from fct_model_scores "
        "where model in ('binance_standard', 'ensemble')"
    ).df()
    model = scores[scores["model"] == "binance_standard"].drop(columns="model")
    ensemble = scores[scores["model"] == "ensemble"].drop(columns="model")
    joined = model.merge(ensemble, on=["side", "period", "metric"], suffixes=("", "_ens"))
    assert len(joined) == 3 * 2 * 4
    assert joined["value_ens"].to_numpy() == pytest.approx(joined["value"].to_numpy(), rel=1e-9, nan_ok=True)


def _scores_on(db, table: str, weights: dict[str, float]) -> pd.DataFrame:
    """score_models as fct_model_scores calls it, on the heatmap rows of ``table``."""
    periods = {
        name: (pd.Timestamp(start), pd.Timestamp(end))
        for name, start, end in db.sql(
            "select period, period_start, period_end from int_scoring__periods order by period_start"
        ).fetchall()
    }
    bins = dict(db.sql("select symbol, price_bin_size from dim_symbols").fetchall())
    heat_keys = ["symbol", "bucket_start", "price_bin", "side"]
    history_keys = ["symbol", "bucket_start", "side"]

    def with_ensemble(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
        frames = {name: frame[frame["model"] == name] for name in weights}
        combined = combine(frames, weights, keys=keys, value=value, model=ENSEMBLE_MODEL)
        return pd.concat([frame[["model", *keys, value]], combined], ignore_index=True)

    heatmap = db.sql(f"select symbol, model, bucket_start, price_bin, side, live_notional from {table}").df()
    history = db.sql(
        "select symbol, model, bucket_start, side, liquidated_notional from fct_liquidation_history"
    ).df()
    truth = db.sql(
        "select symbol, liquidated_at as time, position_side as side, fill_price as price, "
        "fill_quantity as quantity from stg_truth__liquidations"
    ).df()
    return score_models(
        with_ensemble(heatmap, heat_keys, "live_notional"),
        with_ensemble(history, history_keys, "liquidated_notional"),
        prepare_truth(truth),
        periods=periods,
        price_bin_size=bins,
        bucket="5min",
        top_share=0.2,
    )


def test_judged_cells_are_a_part_of_the_heatmap_that_gives_the_same_scores_as_the_whole(db):
    whole = db.sql("select count(*) from int_scoring__live_notional_per_bucket").fetchone()[0]
    judged = db.sql("select count(*) from int_scoring__judged_cells").fetchone()[0]
    outside = db.sql(
        "select count(*) from (select * from int_scoring__judged_cells "
        "except all select symbol, model, bucket_start, price_bin, side, live_notional "
        "from int_scoring__live_notional_per_bucket)"
    ).fetchone()[0]
    assert outside == 0
    assert 0 < judged < whole
    weights = dict(db.sql("select model, weight from fct_ensemble_weights").fetchall())
    on_whole = _scores_on(db, "int_scoring__live_notional_per_bucket", weights)
    on_judged = _scores_on(db, "int_scoring__judged_cells", weights)
    mart = db.sql("select symbol, model, side, period, metric, value, n from fct_model_scores").df()
    keys = ["symbol", "model", "side", "period", "metric"]
    mart = mart.sort_values(keys).reset_index(drop=True)
    assert len(on_whole) == len(on_judged) == len(mart) == 5 * 3 * 2 * 4
    for frame in (on_judged, mart):
        assert frame[keys].astype(str).to_numpy().tolist() == on_whole[keys].astype(str).to_numpy().tolist()
        assert frame["value"].isna().tolist() == on_whole["value"].isna().tolist()
        # Equal up to the order floating-point sums are taken in (the rows come in another order).
        assert frame["value"].to_numpy() == pytest.approx(
            on_whole["value"].to_numpy(), rel=1e-12, nan_ok=True
        )
        assert frame["n"].to_numpy() == pytest.approx(on_whole["n"].to_numpy(), rel=1e-12)


def test_the_fit_on_judged_cells_picks_the_weights_of_the_fit_on_the_whole_heatmap(db):
    train_end = db.sql("select period_end from int_scoring__periods where period = 'train'").fetchone()[0]
    bins = dict(db.sql("select symbol, price_bin_size from dim_symbols").fetchall())
    truth = prepare_truth(
        db.sql(
            "select symbol, liquidated_at as time, position_side as side, fill_price as price, "
            f"fill_quantity as quantity from stg_truth__liquidations where liquidated_at < '{train_end}'"
        ).df()
    )
    fitted = {}
    for table in ("int_scoring__live_notional_per_bucket", "int_scoring__judged_cells"):
        rows = db.sql(
            f"select symbol, model, bucket_start, price_bin, side, live_notional from {table} "
            f"where bucket_start < '{train_end}'"
        ).df()
        predictions = {name: rows[rows["model"] == name] for name in ("binance_standard", "funding_adjusted")}
        fitted[table] = fit_weights(predictions, truth, price_bin_size=bins, bucket="5min", step=0.05)
    assert fitted["int_scoring__judged_cells"] == fitted["int_scoring__live_notional_per_bucket"]
    assert sum(fitted["int_scoring__judged_cells"].values()) == pytest.approx(1.0)


def test_the_new_dbt_tests_ran_and_passed(scored_build):
    statuses = {node.name: node.status for node in scored_build.outcome.nodes}
    for name in (
        "assert_ensemble_weights_sum_to_one",
        "assert_model_scores_within_bounds",
        "assert_scoring_periods_are_contiguous_and_disjoint",
        "assert_ensemble_levels_sum_the_weighted_models",
    ):
        assert statuses.get(name) == "pass", name
    for model in (
        "fct_liquidation_clusters",
        "fct_ensemble_weights",
        "fct_liquidation_levels_ensemble",
        "fct_liquidation_heatmap_ensemble",
        "fct_liquidation_history_ensemble",
        "fct_model_scores",
    ):
        assert statuses.get(model) == "success", model


def test_dbt_docs_block_is_the_scoring_definitions_page():
    page = (PROJECT_ROOT / "docs" / "model_scoring.md").read_text()
    block = (PROJECT_ROOT / "dbt_project" / "docs" / "model_scoring.md").read_text().splitlines(keepends=True)
    assert block[0] == "{% docs model_scoring %}\n"
    assert block[-1] == "{% enddocs %}\n"
    assert "".join(block[2:-1]) == page
