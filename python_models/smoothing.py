"""A model's map spread over neighbouring price bins: the liquidation price of a level is not known
to the bin.

A model level sits at one liquidation price (its tier's leverage, its bucket's volume-weighted
entry), so a map is a set of spikes; the true liquidation prices of the positions it stands for are
spread around it (leverage is continuous, entries spread within the bin and the bucket). With few
positions per hour the true liquidations of a window are a few spikes too, and a spiky map is not
punished; with many (a larger market) they follow a smooth density, which a spiky map misses bin by
bin (docs/model_accuracy.md, "Why more trades per day"). Smoothing is the map's own uncertainty:

    smoothed(b) = sum_c map(c) * k(b - c),  k(d) = exp(-d^2 / (2 sigma^2)) / Z,  |d| <= ceil(3 sigma)

with sigma in price bins (Z normalises the truncated kernel to 1, so a side's total live notional is
unchanged). Every input is the map at t, so a smoothed map can be served. ``fit_sigma`` picks sigma
on a train span's scoring windows (the weighted mean overlap, as the ensemble weights are fitted).

``smooth_by_distance`` widens the kernel with the cell's distance from the price at t:
sigma(c) = max(min_sigma, rate x |c - price bin|). A level's liquidation price lies at a distance
from its entry of about 1 / leverage; a tier stands for leverages about a factor 2 apart, so the
distance is uncertain in proportion to itself (a uniform spread of log leverage over a tier's
+-ln(2)/2 has a standard deviation of 0.2 in log, i.e. rate 0.2), and the entry is near the price
of its bucket, so the distance from the price at t stands in for the distance from the entry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np


def gaussian_kernel(sigma_bins: float) -> np.ndarray:
    """The truncated, normalised Gaussian kernel over -ceil(3 sigma) .. ceil(3 sigma) bins ([1.0] at 0)."""
    if sigma_bins < 0 or not math.isfinite(sigma_bins):
        raise ValueError(f"sigma must be a finite number >= 0 (bins); got {sigma_bins!r}")
    if sigma_bins == 0:
        return np.array([1.0])
    half = math.ceil(3 * sigma_bins)
    offsets = np.arange(-half, half + 1, dtype="float64")
    kernel = np.exp(-0.5 * (offsets / sigma_bins) ** 2)
    return kernel / kernel.sum()


def smooth_on_bins(
    bins: np.ndarray, values: np.ndarray, sigma_bins: float, low: int, high: int
) -> np.ndarray:
    """The map (mass ``values`` at integer ``bins``) smoothed by ``gaussian_kernel(sigma_bins)``, on the
    bins low..high (inclusive). Mass outside low..high spreads in; mass inside spreads out and is lost
    from the range, as the whole map would be smoothed before the range is read."""
    if high < low:
        raise ValueError(f"empty bin range {low}..{high}")
    kernel = gaussian_kernel(sigma_bins)
    half = len(kernel) // 2
    bins = np.asarray(bins, dtype="int64")
    values = np.asarray(values, dtype="float64")
    keep = (bins >= low - half) & (bins <= high + half)
    n = high - low + 1
    full = np.zeros(n + 2 * half)
    np.add.at(full, bins[keep] - (low - half), values[keep])
    if half == 0:
        return full
    return np.convolve(full, kernel, mode="valid")


def fit_sigma(train_overlap: Mapping[float, float]) -> float:
    """The sigma of the best weighted mean overlap on the train span; ties go to the smaller sigma
    (less change to the map). An empty mapping (no judged truth) gives 0 (the map unchanged)."""
    if not train_overlap:
        return 0.0
    best = max(train_overlap.values())
    return min(s for s, v in train_overlap.items() if v >= best - 1e-12)


def smooth_by_distance(
    bins: np.ndarray,
    values: np.ndarray,
    price_bin: int,
    rate: float,
    low: int,
    high: int,
    *,
    min_sigma: float = 0.5,
    max_sigma: float = math.inf,
) -> np.ndarray:
    """The map smoothed cell by cell with sigma = min(max_sigma, max(min_sigma, rate x |bin -
    price_bin|)) (rounded to half a bin, so cells share kernels), on the bins low..high:
    ``smooth_on_bins`` per sigma, summed. A finite max_sigma bounds how far a cell's mass reaches."""
    if rate < 0 or min_sigma < 0 or max_sigma < min_sigma:
        raise ValueError(
            f"need rate >= 0 and 0 <= min_sigma <= max_sigma; got {rate!r}, {min_sigma!r}, {max_sigma!r}"
        )
    bins = np.asarray(bins, dtype="int64")
    values = np.asarray(values, dtype="float64")
    sigma = np.minimum(max_sigma, np.maximum(min_sigma, rate * np.abs(bins - price_bin)))
    sigma = np.round(2 * sigma) / 2
    out = np.zeros(high - low + 1)
    for s in np.unique(sigma):
        rows = sigma == s
        out += smooth_on_bins(bins[rows], values[rows], float(s), low, high)
    return out
