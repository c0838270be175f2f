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
