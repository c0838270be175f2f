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

The build scores every model map smoothed this way (``smooth_window_cells``, in
int_scoring__placement and the ensemble fit; vars map_smoothing_*, capped at 10 bins so the cells
read stay within ``margin_bins`` of the traversed ones) and the API serves the same smoothing
(api/queries/heatmap.py, api/queries/levels.py); docs/model_scoring.md, "Smoothed by distance".
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd


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


# The build's smoothing of every model map (dbt vars map_smoothing_rate, map_smoothing_min_bins,
# map_smoothing_max_bins; docs/model_scoring.md): the defaults, which the API also uses when the
# served warehouse has no dim_map_smoothing row.
DEFAULT_RATE = 0.2
DEFAULT_MIN_BINS = 0.5
DEFAULT_MAX_BINS = 10.0


def margin_bins(rate: float, max_sigma: float) -> int:
    """How many bins beyond a range the smoothed map on it reads: ceil(3 x max_sigma), 0 when off."""
    if rate == 0:
        return 0
    if not math.isfinite(max_sigma):
        raise ValueError(f"smoothing with rate {rate!r} needs a finite max_sigma (bins); got {max_sigma!r}")
    return math.ceil(3 * max_sigma)


def smooth_window_cells(
    windows: pd.DataFrame,
    cells: pd.DataFrame,
    *,
    rate: float,
    min_sigma: float,
    max_sigma: float,
) -> pd.DataFrame:
    """Every (window, model) map of ``cells`` smoothed by ``smooth_by_distance`` around the window's
    price at t, on its traversed bins (the scoring's maps; python_models.scoring's CELL_COLUMNS).

    ``windows``: the scoring windows (symbol, window_start, horizon_hours, side, start_price,
    score_bin_size, low_bin, high_bin); ``cells``: the maps at t with value, which must hold every
    cell within ``margin_bins`` of the traversed bins. The price bin at t is floor(start_price /
    score_bin_size). Rate 0 returns ``cells`` unchanged (the map as it is, bin by bin)."""
    if rate == 0 or cells.empty:
        return cells
    margin_bins(rate, max_sigma)
    keys = ["symbol", "window_start", "horizon_hours", "side"]
    frame = windows[[*keys, "start_price", "score_bin_size", "low_bin", "high_bin"]].drop_duplicates(keys)
    by_window = {tuple(row[:4]): row[4:] for row in frame.itertuples(index=False, name=None)}
    cells = cells.reset_index(drop=True)
    score_bins = cells["score_bin"].to_numpy(dtype="int64")
    values = cells["value"].to_numpy(dtype="float64")
    group_keys, group_of, out_bins, out_values = [], [], [], []
    for key, rows in cells.groupby([*keys, "model"], sort=False).indices.items():
        window = by_window.get(tuple(key[:4]))
        if window is None:
            continue
        start_price, size, low, high = window
        low, high = int(low), int(high)
        spread = smooth_by_distance(
            score_bins[rows],
            values[rows],
            math.floor(float(start_price) / float(size)),
            rate,
            low,
            high,
            min_sigma=min_sigma,
            max_sigma=max_sigma,
        )
        keep = np.flatnonzero(spread > 0)
        group_of.append(np.full(len(keep), len(group_keys)))
        group_keys.append(key)
        out_bins.append(low + keep)
        out_values.append(spread[keep])
    if not group_keys:
        return cells.iloc[0:0]
    out = pd.DataFrame(group_keys, columns=[*keys, "model"]).iloc[np.concatenate(group_of)]
    out = out.reset_index(drop=True)
    out["score_bin"] = np.concatenate(out_bins).astype("int64")
    out["value"] = np.concatenate(out_values)
    return out


def smoothing_settings(meta: Mapping) -> dict[str, float]:
    """{rate, min_sigma, max_sigma} of the dbt vars map_smoothing_* (the model's meta map_smoothing:
    rate, min_bins, max_bins), checked: max_bins may be null only when rate is 0."""
    rate = float(meta["rate"])
    min_sigma = float(meta["min_bins"])
    max_sigma = math.inf if meta["max_bins"] is None else float(meta["max_bins"])
    if rate < 0 or min_sigma < 0 or max_sigma < min_sigma:
        raise ValueError(
            "vars map_smoothing_rate, map_smoothing_min_bins, map_smoothing_max_bins: need rate >= 0 and "
            f"0 <= min <= max; got {rate!r}, {min_sigma!r}, {max_sigma!r}"
        )
    margin_bins(rate, max_sigma)
    return {"rate": rate, "min_sigma": min_sigma, "max_sigma": max_sigma}
