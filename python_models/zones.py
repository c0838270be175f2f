"""Liquidation zones: DBSCAN over the latest live liquidation levels.

Each (symbol, model, side) is clustered on its own, in relative price units
``x = ln(liquidation_price / current_price)`` (a distance of 0.01 is about 1 % of price, whatever the
symbol's price), with every price bin weighted by its live notional. See docs/model_scoring.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from python_models.truth import require_columns

LEVEL_COLUMNS = [
    "symbol",
    "model",
    "side",
    "price_bin",
    "price_bin_size",
    "liquidation_price",
    "live_notional",
    "current_price",
]
ZONE_COLUMNS = [
    "symbol",
    "model",
    "side",
    "zone_id",
    "centroid_price",
    "price_low",
    "price_high",
    "total_notional",
    "member_count",
    "eps",
    "min_samples",
    "current_price",
]
# DBSCAN measures 1-D distances as sqrt((a - b)^2), which can land one ulp above |a - b|; widening eps
# by this factor keeps a point whose k-distance equals eps a core point, as the k-distance rule intends.
_EPS_ULP_GUARD = 1 + 1e-9


def dbscan_1d(x: np.ndarray, weight: np.ndarray, eps: float, min_samples: float) -> np.ndarray:
    """DBSCAN's labels for points on a line: the rules and the labels of scikit-learn's
    ``DBSCAN(eps, min_samples).fit(x.reshape(-1, 1), sample_weight=weight).labels_``.

    A point is a core point when the weight within eps of it (its own included; distance
    sqrt((a - b)^2) <= eps, as scikit-learn measures it) is at least min_samples. Clusters grow from
    the core points in index order, each through the core points within eps (its depth-first
    expansion, `dbscan_inner`); a non-core point within eps of a core point takes the label of the
    first cluster that reaches it; the others are noise (-1). Written here, on numpy, because the
    points of a zone search are one-dimensional and few (a side's price bins): importing
    scikit-learn cost about 3.6 s of CPU in every build that finds zones again, more than the search.
    """
    x = np.asarray(x, dtype="float64").ravel()
    weight = np.asarray(weight, dtype="float64").ravel()
    n = len(x)
    labels = np.full(n, -1, dtype="int64")
    if n == 0:
        return labels
    neighbourhoods = []
    for start in range(0, n, 1024):  # blocks of rows: memory stays n x 1024
        block = x[start : start + 1024, None]
        within = np.sqrt((block - x[None, :]) ** 2) <= eps
        neighbourhoods.extend(np.flatnonzero(row) for row in within)
    is_core = np.array([weight[neighbours].sum() >= min_samples for neighbours in neighbourhoods])
    label = 0
    for first in range(n):
        if labels[first] != -1 or not is_core[first]:
            continue
        stack = [first]
        while stack:
            point = stack.pop()
            if labels[point] != -1:
                continue
            labels[point] = label
            if is_core[point]:
                stack.extend(j for j in neighbourhoods[point] if labels[j] == -1)
        label += 1
    return labels


def weighted_k_distance(x: np.ndarray, weight: np.ndarray, min_samples: int) -> np.ndarray:
    """For each point, the smallest radius r with total weight in [x - r, x + r] >= min_samples.

    The point's own weight counts, as in DBSCAN's core-point rule; with unit weights this is the
    distance to the (min_samples - 1)-th nearest other point. ``inf`` when the whole set weighs less
    than min_samples (nothing can be a core point then).
    """
    x = np.asarray(x, dtype="float64")
    weight = np.asarray(weight, dtype="float64")
    n = len(x)
    if n == 0 or weight.sum() < min_samples:
        return np.full(n, np.inf)
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], weight[order]
    cumulative = np.r_[0.0, np.cumsum(ws)]

    def window_weight(radius: np.ndarray) -> np.ndarray:
        left = np.searchsorted(xs, xs - radius, side="left")
        right = np.searchsorted(xs, xs + radius, side="right")
        return cumulative[right] - cumulative[left]

    low = np.zeros(n)
    high = np.full(n, xs[-1] - xs[0])
    done = window_weight(low) >= min_samples
    high[done] = 0.0
    # Bisection to float resolution, then snap to the farthest point inside the window so the answer is
    # an actual point-to-point distance (deterministic, not a bisection artefact).
    for _ in range(200):
        open_ = high - low > 1e-15 * np.maximum(1.0, np.abs(xs))
        if not open_.any():
            break
        mid = (low + high) / 2
        enough = window_weight(mid) >= min_samples
        high = np.where(open_ & enough, mid, high)
        low = np.where(open_ & ~enough, mid, low)
    left = np.searchsorted(xs, xs - high, side="left")
    right = np.searchsorted(xs, xs + high, side="right") - 1
    snapped = np.maximum(xs - xs[left], xs[right] - xs)
    out = np.empty(n)
    out[order] = snapped
    return out


def knee_eps(k_distances: np.ndarray) -> float:
    """eps at the knee of the sorted k-distance curve (Kneedle: farthest point below the chord).

    Sorted ascending, the curve is flat over points inside dense groups and climbs over isolated ones;
    the knee is the last point of the flat part. With x and y both scaled to [0, 1], it is the point
    maximising x - y. Returns NaN when no distance is finite.
    """
    y = np.sort(np.asarray(k_distances, dtype="float64"))
    y = y[np.isfinite(y)]
    if len(y) == 0:
        return float("nan")
    if len(y) < 3 or y[-1] == y[0]:
        return float(y[-1])
    x_scaled = np.arange(len(y)) / (len(y) - 1)
    y_scaled = (y - y[0]) / (y[-1] - y[0])
    return float(y[int(np.argmax(x_scaled - y_scaled))])


def normalised_weights(notional: np.ndarray, min_samples: int) -> np.ndarray:
    """DBSCAN sample weights: notional in units of the group's median bin, scaled by m / (m - 1/2).

    DBSCAN's core rule is "weight within eps >= min_samples" (m). In units of the median bin, m typical
    bins would sit exactly on that threshold, so a 1 % wobble in notional would flip core points. The
    factor m / (m - 1/2) puts the threshold halfway between m - 1 and m typical bins: a core point needs
    at least m - 1/2 typical bins' worth of notional within eps (m typical bins pass, m - 1 do not, with
    a margin of about 1 / (2m) either way); one bin holding >= (m - 1/2) × the median is a core alone.
    """
    notional = np.asarray(notional, dtype="float64")
    return notional / np.median(notional) * min_samples / (min_samples - 0.5)


def _bins_of(levels: pd.DataFrame) -> pd.DataFrame:
    """One point per (symbol, model, side, price_bin): notional summed over leverage, price weighted."""
    live = levels.loc[levels["live_notional"] > 0, LEVEL_COLUMNS].copy()
    live["price_x_notional"] = live["liquidation_price"] * live["live_notional"]
    keys = ["symbol", "model", "side", "price_bin"]
    bins = live.groupby(keys, as_index=False, sort=True).agg(
        live_notional=("live_notional", "sum"),
        price_x_notional=("price_x_notional", "sum"),
        price_bin_size=("price_bin_size", "max"),
        current_price=("current_price", "first"),
        current_prices=("current_price", "nunique"),
    )
    bins["liquidation_price"] = bins["price_x_notional"] / bins["live_notional"]
    return bins.drop(columns=["price_x_notional"])


def _zones_of_group(bins: pd.DataFrame, eps: float | None, min_samples: int, min_eps: float) -> pd.DataFrame:
    current = bins["current_price"].iloc[0]
    if bins["current_prices"].max() > 1 or bins["current_price"].nunique() > 1:
        group = bins[["symbol", "model", "side"]].iloc[0].to_dict()
        raise ValueError(f"levels: several current_price values for {group}; pass one measurement time")
    x = np.log(bins["liquidation_price"].to_numpy() / current)
    weight = normalised_weights(bins["live_notional"].to_numpy(), min_samples)
    chosen = eps if eps is not None else knee_eps(weighted_k_distance(x, weight, min_samples))
    if not np.isfinite(chosen):
        return pd.DataFrame(columns=ZONE_COLUMNS)
    chosen = max(float(chosen), min_eps)
    labels = dbscan_1d(x, weight, chosen * _EPS_ULP_GUARD, min_samples)
    members = bins.assign(label=labels)
    members = members[members["label"] >= 0]
    if members.empty:
        return pd.DataFrame(columns=ZONE_COLUMNS)
    members = members.assign(
        price_x_notional=members["liquidation_price"] * members["live_notional"],
        price_top=members["price_bin"] + members["price_bin_size"],
    )
    zones = members.groupby("label", as_index=False).agg(
        total_notional=("live_notional", "sum"),
        price_x_notional=("price_x_notional", "sum"),
        price_low=("price_bin", "min"),
        price_high=("price_top", "max"),
        member_count=("price_bin", "size"),
    )
    zones["centroid_price"] = zones["price_x_notional"] / zones["total_notional"]
    zones = zones.sort_values("centroid_price", kind="stable").reset_index(drop=True)
    zones["zone_id"] = np.arange(1, len(zones) + 1, dtype="int64")
    for column in ("symbol", "model", "side"):
        zones[column] = bins[column].iloc[0]
    zones["eps"] = chosen
    zones["min_samples"] = min_samples
    zones["current_price"] = current
    return zones[ZONE_COLUMNS]


def find_zones(
    levels: pd.DataFrame,
    *,
    eps: float | None = None,
    min_samples: int = 3,
    min_eps: float = 1e-6,
) -> pd.DataFrame:
    """DBSCAN liquidation zones per (symbol, model, side) over the latest live levels.

    Input: rows of ``fct_liquidation_levels`` (at least symbol, model, side, price_bin, price_bin_size,
    liquidation_price, live_notional, current_price; any leverage split is summed per price bin).
    A point is one price bin: x = ln(liquidation_price / current_price), weighted by live notional in
    units of the group's median bin (see normalised_weights: a core point needs about min_samples
    typical bins' worth of notional within eps). ``eps`` (in those log units, ~ a fraction of price)
    is taken from the knee of the weighted k-distance curve with k = min_samples unless given, floored
    at ``min_eps``.

    Output, one row per zone (noise bins belong to no zone), ordered by symbol, model, side, price:
    symbol, model, side, zone_id (1.. by ascending price within the group), centroid_price
    (notional-weighted), price_low / price_high (lower edge of the lowest member bin, upper edge of
    the highest), total_notional, member_count (price bins), eps, min_samples, current_price.
    """
    require_columns(levels, LEVEL_COLUMNS, "levels")
    if isinstance(min_samples, bool) or not isinstance(min_samples, int | np.integer) or min_samples < 1:
        raise ValueError(f"min_samples must be an integer >= 1; got {min_samples!r}")
    if eps is not None and not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive number or None; got {eps!r}")
    bins = _bins_of(levels)
    parts = [
        _zones_of_group(group, eps, int(min_samples), min_eps)
        for _, group in bins.groupby(["symbol", "model", "side"], sort=True)
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return empty_zones()
    return pd.concat(parts, ignore_index=True).astype(_ZONE_DTYPES)


_ZONE_DTYPES = {
    "symbol": "str",
    "model": "str",
    "side": "str",
    "zone_id": "int64",
    "centroid_price": "float64",
    "price_low": "float64",
    "price_high": "float64",
    "total_notional": "float64",
    "member_count": "int64",
    "eps": "float64",
    "min_samples": "int64",
    "current_price": "float64",
}


def empty_zones() -> pd.DataFrame:
    """A zone frame with no rows and the output dtypes (so a dbt table still gets its columns)."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _ZONE_DTYPES.items()})[ZONE_COLUMNS]
