"""DBSCAN liquidation zones on planted levels."""

import numpy as np
import pandas as pd
import pytest

from python_models.zones import ZONE_COLUMNS, dbscan_1d, find_zones, knee_eps, weighted_k_distance

BIN = 10.0
CURRENT = 1000.0
# Two dense clusters of 7 bins below the price (long liquidations) and four isolated bins.
CLUSTER_A = [770.0 + BIN * i for i in range(7)]  # bins 770..830, notional 300 each
CLUSTER_B = [870.0 + BIN * i for i in range(7)]  # bins 870..930, notional 500 each
NOISE = [500.0, 600.0, 700.0, 980.0]  # notional 100 each


def level(price_bin, notional, *, side="long", model="binance_standard", leverage=10, offset=5.0):
    return {
        "symbol": "BTCUSDT",
        "model": model,
        "side": side,
        "leverage": leverage,
        "price_bin": price_bin,
        "price_bin_size": BIN,
        "liquidation_price": price_bin + offset,
        "live_notional": notional,
        "measured_at": pd.Timestamp("2025-01-01 12:00"),
        "current_price": CURRENT,
    }


def planted_levels() -> pd.DataFrame:
    rows = [level(p, 300.0) for p in CLUSTER_A] + [level(p, 500.0) for p in CLUSTER_B]
    rows += [level(p, 100.0) for p in NOISE]
    return pd.DataFrame(rows)


def test_two_planted_clusters_become_two_zones_with_their_centroids_and_ranges():
    zones = find_zones(planted_levels())
    assert list(zones.columns) == ZONE_COLUMNS
    assert zones["zone_id"].tolist() == [1, 2]
    assert zones["centroid_price"].tolist() == pytest.approx([805.0, 905.0], rel=1e-12)
    assert zones["price_low"].tolist() == [770.0, 870.0]
    assert zones["price_high"].tolist() == [840.0, 940.0]
    assert zones["total_notional"].tolist() == [2100.0, 3500.0]
    assert zones["member_count"].tolist() == [7, 7]
    assert zones["min_samples"].tolist() == [3, 3]
    assert zones["current_price"].tolist() == [CURRENT, CURRENT]


def test_noise_bins_are_in_no_zone():
    zones = find_zones(planted_levels())
    for price in NOISE:
        inside = (zones["price_low"] <= price) & (price < zones["price_high"])
        assert not inside.any(), price
    assert zones["total_notional"].sum() == 7 * 300.0 + 7 * 500.0


def test_tuned_eps_is_the_k_distance_knee_in_log_price_units():
    zones = find_zones(planted_levels())
    # Median bin notional is 300, weights are notional / 300 × 3 / 2.5: a cluster B bin (weight 2)
    # reaches 3 with one neighbour, a cluster A bin (weight 1.2) needs two. The largest in-cluster
    # k-distance is A's lowest bin (price 775) reaching 795, two bins up; in log units the lowest
    # prices are the farthest apart.
    expected = np.log(795.0 / 775.0)
    assert zones["eps"].iloc[0] == pytest.approx(expected, rel=1e-12)
    assert zones["eps"].nunique() == 1


def test_eps_choice_is_stable_under_small_perturbations():
    base = find_zones(planted_levels())["eps"].iloc[0]
    rng = np.random.default_rng(7)
    for _ in range(10):
        levels = planted_levels()
        levels["live_notional"] *= rng.uniform(0.98, 1.02, len(levels))
        levels["liquidation_price"] += rng.uniform(-0.2, 0.2, len(levels))
        zones = find_zones(levels)
        assert len(zones) == 2
        assert zones["eps"].iloc[0] == pytest.approx(base, rel=0.05)


def test_leverage_split_of_a_bin_is_summed_into_one_point():
    split = []
    for row in planted_levels().to_dict("records"):
        split.append({**row, "leverage": 10, "live_notional": row["live_notional"] * 0.25})
        split.append({**row, "leverage": 50, "live_notional": row["live_notional"] * 0.75})
    pd.testing.assert_frame_equal(find_zones(pd.DataFrame(split)), find_zones(planted_levels()))


def test_sides_and_models_are_clustered_separately():
    short = [level(p, 300.0, side="short") for p in (1100.0, 1110.0, 1120.0, 1130.0)]
    other_model = [level(p, 300.0, model="funding_adjusted") for p in CLUSTER_A]
    levels = pd.concat([planted_levels(), pd.DataFrame(short + other_model)], ignore_index=True)
    zones = find_zones(levels)
    assert zones[["model", "side", "zone_id"]].values.tolist() == [
        ["binance_standard", "long", 1],
        ["binance_standard", "long", 2],
        ["binance_standard", "short", 1],
        ["funding_adjusted", "long", 1],
    ]
    assert zones["centroid_price"].tolist() == pytest.approx([805.0, 905.0, 1120.0, 805.0], rel=1e-12)


def test_one_bin_worth_min_samples_typical_bins_is_a_zone_on_its_own():
    levels = pd.concat([planted_levels(), pd.DataFrame([level(400.0, 300.0 * 3)])])
    zones = find_zones(levels)
    alone = zones[zones["member_count"] == 1]
    assert alone["centroid_price"].tolist() == [405.0]
    assert alone["total_notional"].tolist() == [900.0]


def test_min_samples_minus_one_typical_bins_side_by_side_are_noise():
    levels = pd.concat([planted_levels(), pd.DataFrame([level(p, 300.0) for p in (400.0, 410.0)])])
    pd.testing.assert_frame_equal(
        find_zones(levels), find_zones(planted_levels()), check_exact=False, rtol=0.05
    )
    assert find_zones(levels)["member_count"].tolist() == [7, 7]


def test_given_eps_is_used_and_reported():
    zones = find_zones(planted_levels(), eps=0.06, min_samples=3)
    assert zones["eps"].tolist() == [0.06]
    # 0.06 in log units bridges the gap between the clusters and reaches 980 (a border point): one zone.
    assert zones["member_count"].tolist() == [15]


def test_eps_below_the_bin_spacing_leaves_typical_bins_as_noise():
    zones = find_zones(planted_levels(), eps=1e-4)
    assert zones.empty
    assert list(zones.columns) == ZONE_COLUMNS


def test_zero_notional_levels_are_ignored():
    levels = pd.concat([planted_levels(), pd.DataFrame([level(p, 0.0) for p in (400.0, 410.0, 420.0)])])
    pd.testing.assert_frame_equal(find_zones(levels), find_zones(planted_levels()))


def test_weighted_k_distance_with_unit_weights_is_the_k_minus_1th_neighbour_distance():
    x = np.array([7.0, 0.0, 3.0, 1.0])
    ones = np.ones(4)
    assert weighted_k_distance(x, ones, 2).tolist() == [4.0, 1.0, 2.0, 1.0]
    assert weighted_k_distance(x, ones, 3).tolist() == [6.0, 3.0, 3.0, 2.0]
    assert weighted_k_distance(x, np.array([1.0, 3.0, 1.0, 1.0]), 3).tolist() == [6.0, 0.0, 3.0, 1.0]
    assert np.isinf(weighted_k_distance(x, ones, 5)).all()


def test_knee_is_the_last_point_of_the_flat_part():
    assert knee_eps(np.array([10.0, 1.0, 1.0, 1.0, 1.0])) == 1.0
    assert knee_eps(np.array([1.0, 2.0, 3.0, 50.0, 60.0])) == 3.0
    assert np.isnan(knee_eps(np.array([np.inf, np.inf])))


def test_missing_columns_and_bad_parameters_are_named():
    with pytest.raises(ValueError, match=r"levels: missing column.*current_price"):
        find_zones(planted_levels().drop(columns=["current_price"]))
    with pytest.raises(ValueError, match="min_samples must be an integer"):
        find_zones(planted_levels(), min_samples=0)
    with pytest.raises(ValueError, match="eps must be a positive number"):
        find_zones(planted_levels(), eps=-1.0)


def test_two_current_prices_in_one_group_are_rejected():
    levels = planted_levels()
    levels.loc[0, "current_price"] = 999.0
    with pytest.raises(ValueError, match="several current_price values"):
        find_zones(levels)


@pytest.mark.parametrize("seed", range(40))
def test_dbscan_1d_labels_equal_scikit_learns(seed):
    """The line DBSCAN gives scikit-learn's labels, numbering included: random weighted points with
    runs, gaps, repeated positions and border points between two clusters, eps on and off the
    point spacing."""
    from sklearn.cluster import DBSCAN

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    x = np.round(rng.normal(0, 1, n) * rng.choice([0.01, 0.1, 1.0]), int(rng.integers(2, 6)))
    if seed % 3 == 0:
        rng.shuffle(x)
    else:
        x.sort()
    weight = rng.choice([1.0, 0.5, 2.0, 0.3], n) * rng.uniform(0.5, 1.5, n)
    spacing = np.median(np.diff(np.unique(x))) if len(np.unique(x)) > 1 else 0.01
    eps = float(spacing * rng.choice([0.5, 1.0, 2.0, 5.0]))
    min_samples = int(rng.choice([1, 2, 3, 5]))
    expected = DBSCAN(eps=eps, min_samples=min_samples).fit(x.reshape(-1, 1), sample_weight=weight).labels_
    assert dbscan_1d(x, weight, eps, min_samples).tolist() == expected.tolist()


def test_dbscan_1d_border_point_joins_the_first_cluster_that_reaches_it():
    # Core points 0, 0.05, 0.1 and 0.4, 0.45, 0.5 (weight 1, min_samples 3, eps 0.16); the point at
    # 0.25 (weight 0.1) weighs 2.1 within eps, so it is no core point, but it lies within eps of the
    # cores 0.1 and 0.4: a border point of both clusters, labelled with the first one found.
    x = np.array([0.0, 0.05, 0.1, 0.25, 0.4, 0.45, 0.5])
    weight = np.array([1.0, 1.0, 1.0, 0.1, 1.0, 1.0, 1.0])
    assert dbscan_1d(x, weight, 0.16, 3).tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert dbscan_1d(x[::-1], weight[::-1], 0.16, 3).tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert dbscan_1d(np.array([]), np.array([]), 0.1, 2).tolist() == []
