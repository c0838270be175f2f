"""The path-conditioned placement yardstick on hand-built windows with known answers."""

import itertools

import numpy as np
import pandas as pd
import pytest
from placement_world import BIN, PRICE, START, SYMBOL, cells, start, truth, windows

from python_models.scoring import (
    DAY_SUM_KEYS,
    DAY_SUM_VALUES,
    SCORE_COLUMNS,
    bootstrap_counts,
    placement_by_window,
    placement_day_sums,
    reference_cells,
    score_models,
    skill,
    summarise_day_sums,
    summarise_placement,
)

ONE_LONG = windows([(1, "long", 90, 99)])  # ten traversed bins, 900 .. 999


def one(frame: pd.DataFrame, model: str) -> pd.Series:
    rows = frame[frame["model"] == model]
    assert len(rows) == 1
    return rows.iloc[0]


def test_an_exact_map_scores_overlap_one_and_no_distance():
    true = {(1, "long"): {93: 2.0, 97: 6.0}}
    scored = placement_by_window(ONE_LONG, cells("exact", {(1, "long"): {93: 20.0, 97: 60.0}}), truth(true))
    row = one(scored, "exact")
    assert row["overlap"] == pytest.approx(1.0, abs=1e-12)
    assert row["emd_pct"] == pytest.approx(0.0, abs=1e-12)
    assert row["weight"] == 8.0


def test_a_flat_map_on_n_bins_against_truth_in_one_bin_scores_one_over_n():
    flat = cells("flat", {(1, "long"): {b: 1.0 for b in range(90, 100)}})
    row = one(placement_by_window(ONE_LONG, flat, truth({(1, "long"): {95: 5.0}})), "flat")
    assert row["overlap"] == pytest.approx(1 / 10, abs=1e-12)
    # |CDF difference| over the bins: 0.1 .. 0.5 below the truth's bin, 0.4 .. 0 from it: 2.5 bins
    assert row["emd_pct"] == pytest.approx(2.5 * BIN / PRICE * 100, abs=1e-12)


def test_emd_of_a_point_mass_three_bins_away_is_three_bins_in_percent_of_price():
    wrong = cells("wrong", {(1, "long"): {90: 1.0}})
    row = one(placement_by_window(ONE_LONG, wrong, truth({(1, "long"): {93: 4.0}})), "wrong")
    assert row["overlap"] == 0.0
    assert row["emd_pct"] == pytest.approx(3 * BIN / PRICE * 100, abs=1e-12)


def test_mass_off_the_traversed_bins_and_windows_without_truth_do_not_count():
    grid = windows([(1, "long", 90, 99), (1, "short", 100, 104)])
    # 80 sits below the path: not traversed, so the map's mass there is ignored.
    model = cells("m", {(1, "long"): {80: 1000.0, 95: 1.0}, (1, "short"): {101: 1.0}})
    scored = placement_by_window(grid, model, truth({(1, "long"): {95: 3.0}}))
    assert scored["side"].tolist() == ["long"]  # the short window saw no liquidation: skipped
    assert one(scored, "m")["overlap"] == pytest.approx(1.0, abs=1e-12)


def test_a_map_without_mass_on_the_bins_overlaps_zero_and_has_no_distance():
    empty = cells("empty", {(1, "long"): {50: 1.0}})
    row = one(placement_by_window(ONE_LONG, empty, truth({(1, "long"): {95: 5.0}})), "empty")
    assert row["overlap"] == 0.0
    assert np.isnan(row["emd_pct"])


def test_overlap_is_the_mean_over_windows_weighted_by_their_true_notional():
    grid = windows([(1, "long", 90, 99), (2, "long", 90, 99)])
    model = cells("m", {(1, "long"): {95: 1.0}, (2, "long"): {90: 1.0}})
    true = truth({(1, "long"): {95: 3.0}, (2, "long"): {99: 1.0}})  # overlap 1 (weight 3), 0 (weight 1)
    summary = summarise_placement(
        placement_by_window(grid, model, true), {"test": (START, START + pd.Timedelta("1D"))}, draws=20
    )
    overlap = summary[(summary["metric"] == "overlap") & (summary["side"] == "all")]
    assert overlap["value"].item() == pytest.approx(0.75, abs=1e-12)
    assert overlap["n"].item() == 4.0


def test_a_window_counts_only_in_the_period_that_holds_all_of_it():
    grid = windows([(1, "long", 90, 99), (2, "long", 90, 99)], horizon=4)
    model = cells("m", {(1, "long"): {95: 1.0}, (2, "long"): {95: 1.0}}, horizon=4)
    true = truth({(1, "long"): {95: 3.0}, (2, "long"): {95: 1.0}}, horizon=4)
    periods = {"train": (START, start(5)), "test": (start(5), start(24))}
    summary = summarise_placement(placement_by_window(grid, model, true), periods, draws=10)
    # [01:00, 05:00) is inside train; [02:00, 06:00) crosses into test and belongs to neither.
    n = summary[(summary["metric"] == "overlap") & (summary["side"] == "all")].set_index("period")["n"]
    assert n.to_dict() == {"train": 3.0}


def test_skill_is_zero_for_uniform_one_for_the_oracle_and_against_a_perfect_one_without_oracle():
    assert skill(np.array(0.5), 0.5, 0.9) == 0.0
    assert skill(np.array(0.9), 0.5, 0.9) == 1.0
    assert skill(np.array(0.7), 0.5, 0.9) == pytest.approx(0.5)
    assert skill(np.array(0.75), 0.5, 1.0) == pytest.approx(0.5)
    assert np.isnan(skill(np.array(0.7), 0.5, 0.5))  # an oracle no better than uniform: undefined


def test_reference_maps_are_flat_and_decaying_from_the_price():
    refs = reference_cells(windows([(1, "long", 97, 99)]), proximity_scale_pct=0.5)
    uniform = refs[refs["model"] == "uniform"]
    proximity = refs[refs["model"] == "proximity"].set_index("score_bin")["value"]
    assert uniform["score_bin"].tolist() == [97, 98, 99] and set(uniform["value"]) == {1.0}
    # bin 99 = [990, 1000), centre 995: 0.5 % from 1000 -> exp(-1)
    assert proximity[99] == pytest.approx(np.exp(-1.0))
    assert proximity[97] < proximity[98] < proximity[99]


def test_bootstrap_is_deterministic_for_a_seed_and_resamples_whole_days():
    first = bootstrap_counts(7, draws=200, seed=12)
    assert np.array_equal(first, bootstrap_counts(7, draws=200, seed=12))
    assert not np.array_equal(first, bootstrap_counts(7, draws=200, seed=13))
    assert first.shape == (200, 7) and set(first.sum(axis=1)) == {7.0}


def several_days() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Six days, one long window a day; truth (notional 1 + day) alternates between bins 95 and 96;
    the model always says 95, so it is right on days 0, 2, 4: overlap (1 + 3 + 5) / 21."""
    hours = [24 * d + 1 for d in range(6)]
    grid = windows([(h, "long", 90, 99) for h in hours])
    true = truth({(h, "long"): {95 + (i % 2): 1.0 + i} for i, h in enumerate(hours)})
    model = cells("m", {(h, "long"): {95: 1.0} for h in hours})
    oracle = pd.concat([truth({(h, "long"): {95 + (i % 2): 1.0} for i, h in enumerate(hours)})]).rename(
        columns={"liquidated_notional": "value"}
    )
    return grid, pd.concat([model, oracle.assign(model="oracle")]), true


def test_score_models_puts_every_model_beside_the_references_with_intervals_around_the_value():
    grid, maps, true = several_days()
    history = pd.DataFrame(columns=["symbol", "model", "bucket_start", "side", "liquidated_notional"])
    truth_rows = pd.DataFrame(columns=["symbol", "time", "side", "price", "quantity"])
    periods = {"test": (START, START + pd.Timedelta("6D"))}
    scores = score_models(grid, maps, true, history, truth_rows, periods=periods, draws=200, seed=12)
    assert list(scores.columns) == SCORE_COLUMNS
    placement = scores[scores["horizon_hours"].notna()]
    assert set(placement["model"]) == {"m", "oracle", "uniform", "proximity"}
    kinds = placement.drop_duplicates("model").set_index("model")["kind"].to_dict()
    assert kinds == {"m": "model", "oracle": "reference", "uniform": "reference", "proximity": "reference"}
    table = placement[placement["side"] == "all"].set_index(["model", "metric"])
    assert table.loc[("oracle", "overlap"), "value"] == pytest.approx(1.0)
    assert table.loc[("uniform", "overlap"), "value"] == pytest.approx(0.1)
    assert table.loc[("m", "overlap"), "value"] == pytest.approx(9 / 21)
    assert table.loc[("m", "skill"), "value"] == pytest.approx((9 / 21 - 0.1) / 0.9)
    for model in ("m", "proximity"):
        for metric in ("overlap", "skill"):
            row = table.loc[(model, metric)]
            assert row["low"] - 1e-12 <= row["value"] <= row["high"] + 1e-12
    assert table.loc[("m", "overlap"), "low"] < table.loc[("m", "overlap"), "high"]
    again = score_models(grid, maps, true, history, truth_rows, periods=periods, draws=200, seed=12)
    pd.testing.assert_frame_equal(scores, again)
    assert SYMBOL in set(scores["symbol"])


def test_without_an_oracle_skill_is_measured_against_a_perfect_overlap():
    grid, maps, true = several_days()
    without_oracle = maps[maps["model"] != "oracle"]
    history = pd.DataFrame(columns=["symbol", "model", "bucket_start", "side", "liquidated_notional"])
    truth_rows = pd.DataFrame(columns=["symbol", "time", "side", "price", "quantity"])
    periods = {"test": (START, START + pd.Timedelta("6D"))}
    scores = score_models(grid, without_oracle, true, history, truth_rows, periods=periods, draws=50)
    table = scores[(scores["side"] == "all") & scores["horizon_hours"].notna()].set_index(["model", "metric"])
    assert "oracle" not in set(scores["model"])
    assert table.loc[("m", "skill"), "value"] == pytest.approx((9 / 21 - 0.1) / (1 - 0.1))


def test_scores_pooled_from_the_windows_day_sums_equal_the_scores_of_all_their_rows():
    # Two windows a day over four days, cut into "evaluation windows" of 1.5, 0.5 and 2 days: the
    # first two share day 1, which the pooled day-block bootstrap must treat as one day.
    hours = [24 * d + h for d in range(4) for h in (1, 13)]
    grid = windows([(h, side, 90, 99) for h in hours for side in ("long", "short")])
    true = truth(
        {(h, side): {95 + (i % 3): 1.0 + i} for i, h in enumerate(hours) for side in ("long", "short")}
    )
    maps = pd.concat(
        [
            cells("m", {(h, side): {95: 1.0, 96: 0.5} for h in hours for side in ("long", "short")}),
            cells("oracle", {(h, "long"): {95 + (i % 3): 1.0} for i, h in enumerate(hours)}),
            reference_cells(grid, proximity_scale_pct=0.5),
        ]
    )
    rows = placement_by_window(grid, maps, true)
    cuts = [START, START + pd.Timedelta("36h"), START + pd.Timedelta("48h"), START + pd.Timedelta("4D")]
    sums = []
    for first, last in itertools.pairwise(cuts):
        inside = (rows["window_start"] >= first) & (rows["window_start"] < last)
        sums.append(placement_day_sums(rows[inside]))
    pooled = pd.concat(sums).groupby(DAY_SUM_KEYS, as_index=False, sort=True)[DAY_SUM_VALUES].sum()
    direct = summarise_placement(rows, {"p": (START, START + pd.Timedelta("4D"))}, draws=100)
    from_sums = summarise_day_sums(pooled.assign(period="p"), draws=100)
    pd.testing.assert_frame_equal(from_sums, direct, check_exact=False, rtol=1e-12)
    assert len(direct) > 0 and (direct["low"] < direct["high"]).any()
