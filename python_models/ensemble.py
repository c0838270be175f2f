"""The ensemble: a weighted combination of the model variants, and the fit of its weights.

``combine`` serves every mart with one value per key (heatmap, history); ``combine_levels`` also
carries the levels' per-bin liquidation price and measurement columns. ``fit_weights`` picks the weights
on the simplex that maximise the path-conditioned overlap (python_models.scoring) on the windows it
is given (the training period only), for any number of model variants.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

from python_models.scoring import CELL_COLUMNS, WindowLayout, bootstrap_counts, overlap_and_emd
from python_models.truth import require_columns

ENSEMBLE_MODEL = "ensemble"
LEVEL_KEYS = ["symbol", "side", "leverage", "price_bin"]
LEVEL_OUTPUT_COLUMNS = [
    "symbol",
    "model",
    "side",
    "leverage",
    "price_bin",
    "price_bin_size",
    "liquidation_price",
    "live_notional",
    "measured_at",
    "current_price",
]
# Overlaps closer than this are ties; ties go to the weights nearest to equal weights.
_TIE_TOLERANCE = 1e-12
# The largest simplex grid fit_weights searches (231 points for 3 variants at 0.05, 1,771 for 4).
MAX_GRID_POINTS = 2_000
# fit_weights' bagging: day-block bootstrap resamples of the training days, and their seed.
BAGGING_DRAWS = 200
BAGGING_SEED = 12


def normalise_weights(weights: Mapping[str, float], models: list[str] | tuple[str, ...]) -> dict[str, float]:
    """Weights for exactly ``models``, non-negative, scaled to sum to 1."""
    names = sorted(map(str, models))
    if sorted(map(str, weights)) != names:
        raise ValueError(f"weights are for {sorted(weights)} but the frames are for {names}")
    values = {name: float(weights[name]) for name in names}
    bad = {k: v for k, v in values.items() if not math.isfinite(v) or v < 0}
    if bad:
        raise ValueError(f"weights must be finite and >= 0; got {bad}")
    total = sum(values.values())
    if total <= 0:
        raise ValueError(f"weights must not all be zero; got {values}")
    return {name: value / total for name, value in values.items()}


def _check_unique(frame: pd.DataFrame, keys: list[str], name: str) -> None:
    duplicated = frame.duplicated(keys)
    if duplicated.any():
        example = frame.loc[duplicated, keys].iloc[0].to_dict()
        raise ValueError(f"frame for model {name!r}: several rows for key {example}; keys must be unique")


def combine(
    frames: Mapping[str, pd.DataFrame],
    weights: Mapping[str, float],
    *,
    keys: list[str],
    value: str,
    model: str = ENSEMBLE_MODEL,
) -> pd.DataFrame:
    """Weighted sum of ``value`` over the union of ``keys`` across the models' frames.

    A key missing from a model counts as 0 for that model. Weights are normalised to sum to 1, so the
    ensemble of identical frames is that frame. Output: model (= ``model``), the keys, value; sorted
    by the keys. Each frame must hold one row per key (e.g. for the heatmap include timeframe).
    """
    if "model" in keys:
        raise ValueError("keys must not include 'model': each frame is one model")
    norm = normalise_weights(weights, list(frames))
    parts = []
    for name, frame in frames.items():
        require_columns(frame, [*keys, value], f"frame for model {name!r}")
        _check_unique(frame, keys, name)
        part = frame[[*keys, value]].copy()
        part[value] = part[value].astype("float64") * norm[str(name)]
        parts.append(part)
    out = (
        pd.concat(parts, ignore_index=True)
        .groupby(keys, as_index=False, sort=True, dropna=False)[value]
        .sum()
    )
    out.insert(0, "model", model)
    return out[["model", *keys, value]]


def combine_levels(
    frames: Mapping[str, pd.DataFrame], weights: Mapping[str, float], *, model: str = ENSEMBLE_MODEL
) -> pd.DataFrame:
    """The ensemble's ``fct_liquidation_levels`` rows.

    live_notional is the weighted sum per (symbol, side, leverage, price_bin); liquidation_price is
    the mean of the models' prices weighted by weight × notional (by weight alone where every model's
    notional is 0); price_bin_size, measured_at and current_price are per symbol and must agree.
    """
    norm = normalise_weights(weights, list(frames))
    needed = [
        *LEVEL_KEYS,
        "price_bin_size",
        "liquidation_price",
        "live_notional",
        "measured_at",
        "current_price",
    ]
    parts = []
    for name, frame in frames.items():
        require_columns(frame, needed, f"levels for model {name!r}")
        _check_unique(frame, LEVEL_KEYS, name)
        w = norm[str(name)]
        part = frame[needed].copy()
        part["w_notional"] = w * part["live_notional"].astype("float64")
        part["w_price_notional"] = part["w_notional"] * part["liquidation_price"]
        part["w"] = w
        part["w_price"] = w * part["liquidation_price"]
        parts.append(part)
    rows = pd.concat(parts, ignore_index=True)
    per_symbol = rows.groupby("symbol").agg(
        price_bin_size=("price_bin_size", "first"),
        sizes=("price_bin_size", "nunique"),
        measured_at=("measured_at", "first"),
        times=("measured_at", "nunique"),
        current_price=("current_price", "first"),
        prices=("current_price", "nunique"),
    )
    disagree = per_symbol[(per_symbol[["sizes", "times", "prices"]] > 1).any(axis=1)]
    if not disagree.empty:
        raise ValueError(
            f"levels for symbol {disagree.index[0]!r}: models disagree on price_bin_size, measured_at or "
            "current_price; combine levels measured at the same time on the same bins"
        )
    out = rows.groupby(LEVEL_KEYS, as_index=False, sort=True).agg(
        live_notional=("w_notional", "sum"),
        w_price_notional=("w_price_notional", "sum"),
        w=("w", "sum"),
        w_price=("w_price", "sum"),
    )
    by_notional = out["w_price_notional"] / out["live_notional"].where(out["live_notional"] > 0)
    out["liquidation_price"] = by_notional.fillna(out["w_price"] / out["w"])
    out["model"] = model
    for column in ("price_bin_size", "measured_at", "current_price"):
        out[column] = out["symbol"].map(per_symbol[column])
    return out[LEVEL_OUTPUT_COLUMNS]


def simplex_grid(n_models: int, step: float) -> Iterator[tuple[float, ...]]:
    """Every weight vector of ``n_models`` non-negative multiples of ``step`` summing to 1."""
    steps = round(1 / step)
    if steps < 1 or not math.isclose(steps * step, 1.0, rel_tol=1e-9):
        raise ValueError(f"step must divide 1 evenly (e.g. 0.05, 0.1); got {step}")
    for cuts in itertools.combinations(range(steps + n_models - 1), n_models - 1):
        bounds = (-1, *cuts, steps + n_models - 1)
        yield tuple((bounds[i + 1] - bounds[i] - 1) / steps for i in range(n_models))


def grid_step(n_models: int, step: float, max_points: int = MAX_GRID_POINTS) -> float:
    """``step``, or the first coarser step (1/k for k = 10, 8, 5, 4, 2, 1) whose simplex grid has at
    most ``max_points`` points: with many variants a 0.05 grid is too large to search."""
    candidates = [step, *(1 / k for k in (10, 8, 5, 4, 2, 1) if 1 / k > step)]
    for candidate in candidates:
        steps = round(1 / candidate)
        if math.comb(steps + n_models - 1, n_models - 1) <= max_points:
            return candidate
    return 1.0


def fit_weights(
    windows: pd.DataFrame,
    cells: pd.DataFrame,
    truth_cells: pd.DataFrame,
    *,
    step: float = 0.05,
    horizon_hours: int | None = None,
    draws: int = BAGGING_DRAWS,
    seed: int = BAGGING_SEED,
) -> dict[str, float]:
    """Ensemble weights for the combined map, fitted on the windows given, never worse in
    expectation than the best single variant.

    ``windows``, ``cells`` (one map per model variant, CELL_COLUMNS of python_models.scoring) and
    ``truth_cells``: the training windows only; the function sees nothing else, so there is no
    look-ahead. The combined map of a window is sum_m w_m x the variant's live notional per bin
    (then normalised, as any map is), and the objective O(w) is its overlap averaged over the
    windows with their true liquidated notional as weights (scoring.placement_by_window), on one
    horizon (``horizon_hours``, default the shortest given). Grid search over the simplex in steps
    of ``step`` (coarsened by grid_step for many variants); ties (within 1e-12) go to the weights
    nearest to equal weights, then to the first in grid order.

    The rule (what is returned), so that the mix does not chase the training period's noise:
    1. bagging: the argmax over the grid is taken on each of ``draws`` day-block bootstrap
       resamples of the windows' days (scoring.bootstrap_counts, ``seed``) and the weights are the
       mean of those argmaxes (on a single day, the argmax of that day);
    2. the best single variant B (the grid's vertex with the highest O) is the fallback: the bagged
       mix is kept only when it scores at least O(B) on the whole training period and at least as
       well as B (within 1e-12) in at least half of the resamples; otherwise B gets weight 1.
    So the ensemble is a mix only where mixing was better than the best variant robustly on train;
    else it is that variant. With no judged window every point ties and the result is the grid
    point nearest equal weights. Works for any number of variants.
    """
    require_columns(cells, CELL_COLUMNS, "model cells")
    names = sorted(cells["model"].astype(str).unique())
    if not names:
        raise ValueError("fit_weights: no model cells given")
    if horizon_hours is None and len(windows):
        horizon_hours = int(windows["horizon_hours"].min())
    chosen = windows[windows["horizon_hours"] == horizon_hours] if len(windows) else windows
    layout = WindowLayout(chosen)
    q = layout.dense(truth_cells, "liquidated_notional")
    q_total = layout.per_window(q)
    judged = q_total > 0
    step = grid_step(len(names), step)
    grid = np.asarray(list(simplex_grid(len(names), step)), dtype="float64")
    equal = np.full(len(names), 1 / len(names))
    closeness = -((grid - equal) ** 2).sum(axis=1)
    if not judged.any():
        return dict(zip(names, grid[int(np.argmax(closeness))], strict=True))
    # Only the judged windows matter: lay them out again on their own.
    layout = WindowLayout(layout.windows[judged])
    q = layout.dense(truth_cells, "liquidated_notional")
    q_share = q / layout.per_window(q)[layout.slot_window]
    weight = layout.per_window(q)
    days = layout.windows["window_start"].dt.floor("D").to_numpy()
    day_list, day_code = np.unique(days, return_inverse=True)
    by_model = dict(tuple(cells.groupby(cells["model"].astype(str), sort=True)))
    matrix = np.column_stack([layout.dense(by_model[name], "value") for name in names])

    def per_day(weights: np.ndarray) -> np.ndarray:
        """days x points: the sum of window weight x overlap of each weight vector (rows of weights)."""
        out = np.empty((len(day_list), len(weights)))
        chunk = max(1, 2_000_000 // max(layout.size, 1))
        for first in range(0, len(weights), chunk):
            overlap, _, _ = overlap_and_emd(layout, matrix @ weights[first : first + chunk].T, q_share)
            for d in range(len(day_list)):
                rows = day_code == d
                out[d, first : first + chunk] = weight[rows] @ overlap[rows]
        return out

    day_weight = np.bincount(day_code, weights=weight, minlength=len(day_list))
    numerator = per_day(grid)
    objective = numerator.sum(axis=0) / day_weight.sum()

    def argmax(values: np.ndarray) -> int:
        tied = np.flatnonzero(values >= values.max() - _TIE_TOLERANCE)
        return int(tied[int(np.argmax(closeness[tied]))])

    vertices = np.flatnonzero(grid.max(axis=1) >= 1 - 1e-12)
    best_single = int(vertices[int(np.argmax(objective[vertices]))])
    counts = bootstrap_counts(len(day_list), draws=draws, seed=seed) if len(day_list) > 1 else np.ones((1, 1))
    resampled = (counts @ numerator) / (counts @ day_weight)[:, None]
    bagged = grid[[argmax(row) for row in resampled]].mean(axis=0)
    mix = per_day(bagged[None, :])[:, 0]
    mix_resampled = (counts @ mix) / (counts @ day_weight)
    at_least_as_good = mix_resampled >= resampled[:, best_single] - _TIE_TOLERANCE
    keep = (
        mix.sum() / day_weight.sum() >= objective[best_single] - _TIE_TOLERANCE
        and at_least_as_good.mean() >= 0.5
    )
    picked = bagged if keep else grid[best_single]
    return dict(zip(names, (float(w) for w in picked), strict=True))
