"""python_models.leverage: the reach-corrected leverage fit, the prior, and the lifetime pieces."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from python_models.leverage import (
    LIFETIME_MULTIPLIERS,
    basis_from_levels,
    fit_leverage,
    lifetime_pieces,
    survival,
    turnover_half_life_hours,
)

PRIOR = {5: 0.5, 100: 0.5}
HOURS = pd.date_range("2026-10-01", periods=48, freq="h")


def _basis(per_tier: dict[int, np.ndarray]) -> pd.DataFrame:
    """A basis whose every lifetime candidate is the same (no decay information)."""
    rows = [
        ("BTCUSDT", "long", hour, tier, m, float(values[i]))
        for tier, values in per_tier.items()
        for m in LIFETIME_MULTIPLIERS
        for i, hour in enumerate(HOURS)
    ]
    return pd.DataFrame(rows, columns=["symbol", "side", "hour", "leverage", "multiplier", "notional"])


def _truth(values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"side": "long", "hour": HOURS, "notional": values})


def test_reach_is_corrected_a_rarely_reached_tier_gets_its_opening_share_not_its_liquidation_share():
    rng = np.random.default_rng(3)
    # Per unit opened, 100x is reached in many hours, 5x in few (and then with much less notional).
    high = rng.uniform(50, 100, len(HOURS))
    low = np.where(rng.uniform(size=len(HOURS)) < 0.1, 20.0, 0.0)
    truth = 0.2 * high + 0.8 * low  # 80 % opened at 5x, 20 % at 100x
    liquidated_share_5x = (0.8 * low).sum() / truth.sum()
    fitted = fit_leverage(_basis({5: low, 100: high}), _truth(truth), PRIOR, math.inf, prior_strength=0)
    weights = dict(zip(fitted["leverage"], fitted["weight"], strict=True))
    assert liquidated_share_5x < 0.15  # counting liquidations would say about 10 % at 5x
    assert weights[5] == pytest.approx(0.8, abs=1e-6)
    assert weights[100] == pytest.approx(0.2, abs=1e-6)


def test_without_truth_the_prior_is_kept_and_with_little_truth_it_is_blended():
    basis = _basis({5: np.ones(len(HOURS)), 100: np.ones(len(HOURS))})
    no_truth = pd.DataFrame(columns=["side", "hour", "notional"])
    prior_only = fit_leverage(basis, no_truth, PRIOR, 6.0, prior_strength=100)
    assert prior_only["weight"].tolist() == [0.5, 0.5]
    assert prior_only["half_life_hours"].tolist() == pytest.approx([6.0, 6.0])
    assert (prior_only["blend"] == 0).all()

    only_5x = _basis({5: np.arange(1.0, 49.0), 100: np.ones(len(HOURS))})
    truth = _truth(np.arange(1.0, 49.0))  # exactly one unit of 5x: liquidatable share 1
    blended = fit_leverage(only_5x, truth, PRIOR, math.inf, prior_strength=48)  # n = 48 -> a = 1/2
    weights = dict(zip(blended["leverage"], blended["weight"], strict=True))
    assert blended["blend"].iloc[0] == pytest.approx(0.5)
    assert weights[5] == pytest.approx(0.5 * 1.0 + 0.5 * 0.5, abs=1e-6)
    assert weights[100] == pytest.approx(0.5 * 0.5, abs=1e-6)


def test_a_tier_the_window_never_reaches_keeps_its_prior_and_a_short_fit_is_never_liquidated():
    basis = _basis({5: np.arange(1.0, 49.0), 100: np.zeros(len(HOURS))})
    fitted = fit_leverage(basis, _truth(0.25 * np.arange(1.0, 49.0)), PRIOR, math.inf, prior_strength=0)
    weights = dict(zip(fitted["leverage"], fitted["weight"], strict=True))
    assert fitted.set_index("leverage")["identifiable"].to_dict() == {5: True, 100: False}
    assert weights[100] == 0.5  # never reached in the window: the data say nothing about it
    assert weights[5] == pytest.approx(0.25, abs=1e-6)  # 0.25 liquidatable of the 0.5 it may share
    assert fitted["weight"].sum() == pytest.approx(0.75, abs=1e-6)


def test_the_fit_picks_the_lifetime_whose_realised_survival_matches_the_truth():
    opened = pd.Timestamp("2026-10-01")
    ages = np.arange(1, 48)
    levels = pd.DataFrame(
        {
            "symbol": "BTCUSDT",
            "side": "long",
            "leverage": 100,
            "opened_at": opened,
            "reached_at": [opened + pd.Timedelta(hours=int(a)) for a in ages],
            "liquidated_notional": 0.5 * 100.0,  # seed weight 0.5: one unit liquidates 100 each hour
        }
    )
    basis = basis_from_levels(levels, {5: 0.5, 100: 0.5}, {"BTCUSDT": 8.0})
    one_unit = basis[basis["multiplier"] == math.inf]["notional"]
    assert one_unit.tolist() == pytest.approx([100.0] * len(ages))
    hours = pd.to_datetime([opened + pd.Timedelta(hours=int(a)) for a in ages])
    # The truth as positions with an 8 h half-life would give it, cut into the marts' three pieces.
    alive = survival(ages * 12.0, 8.0, pieces=3, bucket_minutes=5)
    assert alive.min() == 0.0 and alive.max() == 1.0 and 0 < alive[10] < 1
    truth = pd.DataFrame({"side": "long", "hour": hours, "notional": 100.0 * alive})
    fitted = fit_leverage(basis, truth, {5: 0.5, 100: 0.5}, 8.0, prior_strength=0)
    tier = fitted.set_index("leverage").loc[100]
    assert tier["half_life_hours"] == pytest.approx(8.0, rel=1e-6)
    assert tier["components"] == [(1.0, pytest.approx(0.5, abs=1e-6))]
    assert tier["weight"] == pytest.approx(0.5, abs=1e-6)  # at most the prior mass of the tiers seen


def test_lifetime_pieces_are_the_survival_quantiles_in_whole_buckets():
    pieces = lifetime_pieces(10.0, 2, 60)
    # quantiles 1/4 and 3/4 of 2^(-t/10): t = 10 log2(4/3) = 4.15 h -> 5, 10 log2(4) = 20 h -> 20
    assert pieces == [(0.5, 5), (0.5, 20)]
    assert lifetime_pieces(math.inf, 3, 5) == [(1.0, None)]
    assert sum(share for share, _ in lifetime_pieces(1.0, 3, 5)) == pytest.approx(1.0)


def test_turnover_half_life_is_open_interest_over_the_opening_rate_times_ln2():
    assert turnover_half_life_hours(1_000.0, 100.0, 0.5) == pytest.approx(20 * math.log(2))
    assert turnover_half_life_hours(1_000.0, 0.0, 0.5) == math.inf


def test_lifetime_candidates_are_checked_and_without_multiplier_one_the_prior_does_not_decay():
    from python_models.leverage import check_multipliers

    assert check_multipliers([4, "inf", 0.25, 1]) == (0.25, 1.0, 4.0, math.inf)
    assert check_multipliers([None]) == (math.inf,)
    for bad in ([1, 4], [], [0, "inf"]):
        with pytest.raises(ValueError, match="include inf"):
            check_multipliers(bad)
    only_reach = (math.inf,)
    basis = _basis({5: np.ones(len(HOURS)), 100: np.ones(len(HOURS))})
    basis = basis[basis["multiplier"] == math.inf]
    no_truth = pd.DataFrame(columns=["side", "hour", "notional"])
    prior_only = fit_leverage(basis, no_truth, PRIOR, 6.0, prior_strength=100, multipliers=only_reach)
    assert prior_only["half_life_hours"].tolist() == [math.inf, math.inf]
    assert prior_only["components"].tolist() == [[(math.inf, 0.5)], [(math.inf, 0.5)]]
    # with truth, only the no-decay candidate is fitted: a tier's weight is its opening share
    rng = np.random.default_rng(5)
    high = rng.uniform(50, 100, len(HOURS))
    low = np.where(rng.uniform(size=len(HOURS)) < 0.2, 30.0, 0.0)
    fitted = fit_leverage(
        _basis({5: low, 100: high}).query("multiplier == inf"),
        _truth(0.7 * low + 0.3 * high),
        PRIOR,
        6.0,
        prior_strength=0,
        multipliers=only_reach,
    )
    assert dict(zip(fitted["leverage"], fitted["weight"], strict=True)) == pytest.approx({5: 0.7, 100: 0.3})
    assert (fitted["half_life_hours"] == math.inf).all()


def test_the_basis_has_one_lifetime_candidate_per_multiplier_given():
    levels = pd.DataFrame(
        {
            "symbol": "BTCUSDT",
            "side": "long",
            "leverage": [5, 100],
            "opened_at": pd.Timestamp("2026-10-01 00:00"),
            "reached_at": pd.Timestamp("2026-10-01 10:00"),
            "liquidated_notional": [10.0, 20.0],
        }
    )
    basis = basis_from_levels(levels, PRIOR, {"BTCUSDT": 2.0}, multipliers=("inf",))
    assert basis["multiplier"].tolist() == [math.inf, math.inf]
    assert basis["notional"].tolist() == [20.0, 40.0]
