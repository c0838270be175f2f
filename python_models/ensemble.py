"""The ensemble: a weighted combination of the model variants, and the fit of its weights.

``combine`` serves every mart with one value per key (heatmap, history); ``combine_levels`` also
carries the levels' per-bin liquidation price and measurement columns. ``fit_weights`` picks the weights
on the simplex that maximise the zone hit rate on the rows it is given (the training period only).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

from python_models.density import heatmap_with_truth, top_density_mask_sorted
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
# Hit rates closer than this are ties; ties go to the weights nearest to equal weights.
_TIE_TOLERANCE = 1e-12


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


def _union_matrix(
    predictions: Mapping[str, pd.DataFrame],
    truth: pd.DataFrame,
    price_bin_size: float | Mapping[str, float],
    bucket: str | pd.Timedelta | None,
) -> tuple[pd.DataFrame, np.ndarray, list[str], float]:
    names = sorted(map(str, predictions))
    long = pd.concat(
        [frame.assign(model=name) for name, frame in ((str(k), v) for k, v in predictions.items())],
        ignore_index=True,
    )
    rows, scored = heatmap_with_truth(long, truth, price_bin_size=price_bin_size, bucket=bucket)
    keys = ["symbol", "bucket_start", "side", "bin"]
    wide = rows.pivot_table(
        index=[*keys, "truth_notional"],
        columns="model",
        values="live_notional",
        aggfunc="sum",
        fill_value=0.0,
    )
    wide = wide.reindex(columns=names, fill_value=0.0).reset_index()
    return wide, wide[names].to_numpy(dtype="float64"), names, float(scored["notional"].sum())


def fit_weights(
    predictions: Mapping[str, pd.DataFrame],
    truth: pd.DataFrame,
    *,
    price_bin_size: float | Mapping[str, float],
    bucket: str | pd.Timedelta | None = None,
    step: float = 0.05,
    top_share: float = 0.2,
) -> dict[str, float]:
    """Ensemble weights that maximise the zone hit rate of the combined heatmap on these rows.

    ``predictions``: model -> heatmap at bucket resolution (symbol, bucket_start, price_bin, side,
    live_notional), ``truth``: true liquidations (see truth.prepare_truth). Pass only the training
    period: the function sees nothing else, so there is no look-ahead. Grid search over the simplex in
    steps of ``step``; the objective is the pooled hit rate over symbols and sides (true notional in
    the combined heatmap's top ``top_share`` bins one bucket before / all judged true notional). Ties
    (within 1e-12) go to the higher truth-weighted density share (see _density_share), then to the
    weights nearest to equal weights, then to the first in grid order; with no judged truth at all
    every point ties, so the result is the grid point nearest equal weights.
    """
    if not predictions:
        raise ValueError("fit_weights: no model predictions given")
    wide, matrix, names, total = _union_matrix(predictions, truth, price_bin_size, bucket)
    # A group (symbol, bucket, side) without truth in the next bucket adds 0 to the hit rate and to
    # the density share whatever the weights: rank only the groups that hold truth.
    groups = wide.groupby(["symbol", "bucket_start", "side"], sort=False).ngroup().to_numpy()
    with_truth = np.bincount(groups, weights=wide["truth_notional"].to_numpy())[groups] > 0
    wide, matrix = wide.loc[with_truth].reset_index(drop=True), matrix[with_truth]
    groups = wide.groupby(["symbol", "bucket_start", "side"], sort=False).ngroup().to_numpy()
    # Sort once by group and bin (the tie key), so each grid point only sorts by value.
    presorted = np.lexsort((wide["bin"].to_numpy(), groups))
    groups, matrix = groups[presorted], matrix[presorted]
    truth_notional = wide["truth_notional"].to_numpy()[presorted]
    equal = np.full(len(names), 1 / len(names))
    best_key: tuple[float, float, float] | None = None
    best_weights: tuple[float, ...] = tuple(equal)
    for candidate in simplex_grid(len(names), step):
        w = np.asarray(candidate)
        combined = matrix @ w
        mask = top_density_mask_sorted(groups, combined, top_share)
        hit = float(truth_notional[mask].sum() / total) if total > 0 else 0.0
        key = (hit, _density_share(groups, combined, truth_notional, total), -float(np.sum((w - equal) ** 2)))
        if best_key is None or _better(key, best_key):
            best_key, best_weights = key, candidate
    return dict(zip(names, best_weights, strict=True))


def _density_share(
    groups: np.ndarray, combined: np.ndarray, truth_notional: np.ndarray, total: float
) -> float:
    """Truth-weighted share of each bucket's density that sat in the bins where liquidations came.

    A smooth companion to the hit rate (which is flat over wide ranges of weights): among weights with
    the same hit rate it prefers the ones that put more of the density where the truth was.
    """
    if total <= 0:
        return 0.0
    per_group = np.bincount(groups, weights=combined)
    share = np.divide(combined, per_group[groups], out=np.zeros_like(combined), where=per_group[groups] > 0)
    return float((share * truth_notional).sum() / total)


def _better(key: tuple[float, ...], best: tuple[float, ...]) -> bool:
    """Lexicographic comparison where values closer than _TIE_TOLERANCE count as equal."""
    for value, incumbent in zip(key, best, strict=True):
        if value > incumbent + _TIE_TOLERANCE:
            return True
        if value < incumbent - _TIE_TOLERANCE:
            return False
    return False
