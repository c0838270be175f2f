"""Smoothing a map over neighbouring price bins: the kernel, the smoothed range and the fit of sigma."""

import math

import numpy as np
import pytest

from python_models.smoothing import fit_sigma, gaussian_kernel, smooth_by_distance, smooth_on_bins


def test_a_zero_sigma_is_the_identity_kernel():
    assert gaussian_kernel(0.0).tolist() == [1.0]


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 3.3])
def test_the_kernel_is_normalised_symmetric_and_three_sigmas_wide(sigma):
    kernel = gaussian_kernel(sigma)
    half = math.ceil(3 * sigma)
    assert len(kernel) == 2 * half + 1
    assert kernel.sum() == pytest.approx(1.0)
    assert np.allclose(kernel, kernel[::-1])
    assert kernel.argmax() == half
    # The ratio of neighbouring weights is the Gaussian's: k(1) / k(0) = exp(-1 / (2 sigma^2)).
    assert kernel[half + 1] / kernel[half] == pytest.approx(math.exp(-1 / (2 * sigma**2)))


@pytest.mark.parametrize("sigma", [-1.0, float("nan"), float("inf")])
def test_a_negative_or_non_finite_sigma_is_refused(sigma):
    with pytest.raises(ValueError, match="sigma"):
        gaussian_kernel(sigma)


def test_zero_sigma_bins_the_cells_on_the_range_and_drops_the_rest():
    out = smooth_on_bins(np.array([3, 5, 5, 9]), np.array([1.0, 2.0, 0.5, 7.0]), 0.0, 4, 6)
    assert out.tolist() == [0.0, 2.5, 0.0]


def test_a_spike_spreads_by_the_kernel_and_keeps_its_mass_on_a_wide_range():
    kernel = gaussian_kernel(1.0)  # 7 weights, bins -3..3
    out = smooth_on_bins(np.array([10]), np.array([4.0]), 1.0, 0, 20)
    assert out.sum() == pytest.approx(4.0)
    assert out[7:14] == pytest.approx(4.0 * kernel)
    assert out[:7].sum() == 0 and out[14:].sum() == 0


def test_mass_outside_the_range_spreads_in_and_mass_inside_spreads_out():
    kernel = gaussian_kernel(1.0)
    # A spike two bins below the range: its kernel's upper tail (offsets +2, +3) lands on bins 0, 1.
    out = smooth_on_bins(np.array([-2]), np.array([1.0]), 1.0, 0, 4)
    assert out.tolist() == pytest.approx([kernel[5], kernel[6], 0.0, 0.0, 0.0])
    # A spike on the range's edge keeps only the half of its kernel that falls on the range.
    edge = smooth_on_bins(np.array([0]), np.array([1.0]), 1.0, 0, 4)
    assert edge.sum() == pytest.approx(kernel[3:].sum())


def test_an_empty_range_is_refused():
    with pytest.raises(ValueError, match="empty bin range"):
        smooth_on_bins(np.array([1]), np.array([1.0]), 1.0, 5, 4)


def test_smoothing_a_spiky_map_raises_its_overlap_with_a_smooth_truth():
    # Truth spread evenly over bins 0..10; the map has all its mass in bin 5: overlap 1/11.
    truth = np.full(11, 1 / 11)
    spiky = smooth_on_bins(np.array([5]), np.array([1.0]), 0.0, 0, 10)
    smooth = smooth_on_bins(np.array([5]), np.array([1.0]), 2.0, 0, 10)
    overlap = lambda p: float(np.minimum(p / p.sum(), truth).sum())  # noqa: E731
    assert overlap(spiky) == pytest.approx(1 / 11)
    assert overlap(smooth) > 0.5


def test_fit_sigma_takes_the_best_train_overlap_and_the_smaller_sigma_on_a_tie():
    assert fit_sigma({0.0: 0.61, 1.0: 0.66, 2.0: 0.64}) == 1.0
    assert fit_sigma({0.0: 0.6, 2.0: 0.7, 3.0: 0.7}) == 2.0
    assert fit_sigma({}) == 0.0


def test_smoothing_by_distance_widens_the_kernel_with_the_distance_from_the_price():
    bins, values = np.array([10, 20]), np.array([1.0, 1.0])
    # rate 0.25 from bin 12: the cell 2 bins away gets sigma 0.5, the cell 8 bins away sigma 2.
    out = smooth_by_distance(bins, values, 12, 0.25, 0, 40)
    near = smooth_on_bins(np.array([10]), np.array([1.0]), 0.5, 0, 40)
    far = smooth_on_bins(np.array([20]), np.array([1.0]), 2.0, 0, 40)
    assert out == pytest.approx(near + far)
    assert out.sum() == pytest.approx(2.0)


def test_smoothing_by_distance_keeps_the_minimum_sigma_at_the_price_and_zero_rate_is_fixed_sigma():
    out = smooth_by_distance(np.array([12]), np.array([3.0]), 12, 0.3, 0, 30, min_sigma=1.0)
    assert out == pytest.approx(smooth_on_bins(np.array([12]), np.array([3.0]), 1.0, 0, 30))
    bins, values = np.array([2, 9, 25]), np.array([1.0, 2.0, 0.5])
    fixed = smooth_by_distance(bins, values, 0, 0.0, 0, 30, min_sigma=1.5)
    assert fixed == pytest.approx(smooth_on_bins(bins, values, 1.5, 0, 30))


def test_smoothing_by_distance_refuses_a_negative_rate():
    with pytest.raises(ValueError, match="rate"):
        smooth_by_distance(np.array([1]), np.array([1.0]), 0, -0.1, 0, 4)


def test_a_max_sigma_caps_how_far_a_far_cell_spreads():
    # 40 bins from the price at rate 0.25 is sigma 10; capped at 2 it spreads as sigma 2.
    capped = smooth_by_distance(np.array([40]), np.array([1.0]), 0, 0.25, 20, 60, max_sigma=2.0)
    assert capped == pytest.approx(smooth_on_bins(np.array([40]), np.array([1.0]), 2.0, 20, 60))
    with pytest.raises(ValueError, match="max_sigma"):
        smooth_by_distance(np.array([1]), np.array([1.0]), 0, 0.2, 0, 4, min_sigma=2.0, max_sigma=1.0)


def _windows_and_cells():
    import pandas as pd

    windows = pd.DataFrame(
        {
            "symbol": ["BTCUSDT", "BTCUSDT"],
            "window_start": pd.to_datetime(["2026-10-01 01:00", "2026-10-01 01:00"]),
            "horizon_hours": [1, 1],
            "side": ["long", "short"],
            "start_price": [1005.0, 1005.0],
            "score_bin_size": [10.0, 10.0],
            "low_bin": [90, 100],
            "high_bin": [100, 110],
        }
    )
    cells = pd.DataFrame(
        {
            "symbol": "BTCUSDT",
            "window_start": pd.Timestamp("2026-10-01 01:00"),
            "horizon_hours": 1,
            "side": ["long", "long", "long", "short", "short"],
            "model": ["a", "a", "b", "a", "a"],
            # 80 lies 10 bins below the long range: inside the margin of a cap of 5 (15 bins).
            "score_bin": [95, 80, 99, 104, 130],
            "value": [4.0, 2.0, 1.0, 3.0, 5.0],
        }
    )
    return windows, cells


def test_window_cells_are_each_maps_smooth_by_distance_on_its_traversed_bins():
    from python_models.smoothing import smooth_window_cells

    windows, cells = _windows_and_cells()
    out = smooth_window_cells(windows, cells, rate=0.2, min_sigma=0.5, max_sigma=5.0)
    for (side, model), got in out.groupby(["side", "model"]):
        window = windows[windows["side"] == side].iloc[0]
        rows = cells[(cells["side"] == side) & (cells["model"] == model)]
        expected = smooth_by_distance(
            rows["score_bin"], rows["value"], 100, 0.2, window.low_bin, window.high_bin, max_sigma=5.0
        )
        dense = np.zeros(len(expected))
        dense[got["score_bin"].to_numpy() - window.low_bin] = got["value"].to_numpy()
        assert dense == pytest.approx(expected, abs=1e-15)
        assert got["score_bin"].between(window.low_bin, window.high_bin).all()
    # The cell 10 bins off the long range reaches it (sigma 2 there); the short one 20 bins off does not.
    far = smooth_window_cells(
        windows, cells[cells["score_bin"] == 80], rate=0.2, min_sigma=0.5, max_sigma=5.0
    )
    assert far["value"].sum() > 0
    assert set(out[(out["side"] == "short")]["model"]) == {"a"}


def test_rate_zero_leaves_the_cells_as_they_are_and_reads_no_margin():
    from python_models.smoothing import margin_bins, smooth_window_cells

    windows, cells = _windows_and_cells()
    assert smooth_window_cells(windows, cells, rate=0.0, min_sigma=0.5, max_sigma=10.0) is cells
    assert margin_bins(0.0, math.inf) == 0
    assert margin_bins(0.2, 10.0) == 30 and margin_bins(0.2, 2.2) == 7


def test_smoothing_settings_need_a_cap_when_on():
    from python_models.smoothing import smoothing_settings

    assert smoothing_settings({"rate": 0.2, "min_bins": 0.5, "max_bins": 10}) == {
        "rate": 0.2,
        "min_sigma": 0.5,
        "max_sigma": 10.0,
    }
    assert smoothing_settings({"rate": 0, "min_bins": 0.5, "max_bins": None})["max_sigma"] == math.inf
    with pytest.raises(ValueError, match="finite max_sigma"):
        smoothing_settings({"rate": 0.2, "min_bins": 0.5, "max_bins": None})
    with pytest.raises(ValueError, match="map_smoothing_rate"):
        smoothing_settings({"rate": -1, "min_bins": 0.5, "max_bins": 10})
