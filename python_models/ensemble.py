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


# --- Tempering with a flat map (docs/model_scoring.md "Tempered with a flat map") -----------------
FLAT_MODEL = "flat"
TEMPERED_SUFFIX = "_tempered"
REACH_COLUMNS = ["symbol", "window_start", "side", "reach_low", "reach_high"]


def reach_pct(windows: pd.DataFrame, *, quantile: float, horizon_hours: int | None = None) -> dict:
    """How far price went on each side within the horizon, per (symbol, side): the ``quantile`` of
    the windows' excursions in % of their start price.

    ``windows``: scoring windows (python_models.scoring WINDOW_COLUMNS) that are all in the past of
    where the reach is used (a train span's). A long window's excursion runs from its start price
    down to the lower edge of its lowest traversed bin, a short window's up to the upper edge of
    its highest (so at least the start price's own bin). One horizon: ``horizon_hours``, default the
    shortest given. Returns {(symbol, side): reach in %}; a (symbol, side) without windows is left
    out.
    """
    if not 0 < quantile <= 1:
        raise ValueError(f"reach quantile must be in (0, 1]; got {quantile}")
    require_columns(
        windows,
        ["symbol", "horizon_hours", "side", "start_price", "score_bin_size", "low_bin", "high_bin"],
        "scoring windows",
    )
    if windows.empty:
        return {}
    if horizon_hours is None:
        horizon_hours = int(windows["horizon_hours"].min())
    chosen = windows[windows["horizon_hours"].astype("int64") == int(horizon_hours)]
    price = chosen["start_price"].astype("float64")
    size = chosen["score_bin_size"].astype("float64")
    long = chosen["side"].astype(str) == "long"
    edge = np.where(long, chosen["low_bin"] * size, (chosen["high_bin"] + 1) * size)
    excursion = 100 * np.abs(price - edge) / price
    frame = pd.DataFrame(
        {"symbol": chosen["symbol"].astype(str), "side": chosen["side"].astype(str), "x": excursion}
    )
    return {key: float(group["x"].quantile(quantile)) for key, group in frame.groupby(["symbol", "side"])}


def reach_bins(windows: pd.DataFrame, reach: Mapping) -> pd.DataFrame:
    """The scoring bins within reach of each window's start price: REACH_COLUMNS, one row per
    (symbol, window_start, side) (the map at t is the same for every horizon).

    Longs: from the bin of start_price x (1 - reach / 100) up to the start price's bin; shorts: from
    the start price's bin up to the bin of start_price x (1 + reach / 100). ``reach``: {(symbol,
    side): % of price} (reach_pct of a past span); a (symbol, side) not in it gets no rows. Uses
    only the start price (known at t) and the reach (fitted before t): no future path.
    """
    frame = windows[["symbol", "window_start", "side", "start_price", "score_bin_size"]].drop_duplicates(
        ["symbol", "window_start", "side"]
    )
    keys = list(zip(frame["symbol"].astype(str), frame["side"].astype(str), strict=True))
    r = np.array([reach.get(k, np.nan) for k in keys], dtype="float64")
    price = frame["start_price"].to_numpy(dtype="float64")
    size = frame["score_bin_size"].to_numpy(dtype="float64")
    start_bin = np.floor(price / size)
    long = (frame["side"].astype(str) == "long").to_numpy()
    far = np.floor(price * (1 + np.where(long, -1, 1) * r / 100) / size)
    out = frame[["symbol", "window_start", "side"]].assign(
        reach_low=np.where(long, far, start_bin), reach_high=np.where(long, start_bin, far)
    )
    out = out[np.isfinite(r)]
    return out.astype({"reach_low": "int64", "reach_high": "int64"}).reset_index(drop=True)[REACH_COLUMNS]


def flat_cells(
    windows: pd.DataFrame, reach: pd.DataFrame, reach_mass: pd.DataFrame, *, model: str = FLAT_MODEL
) -> pd.DataFrame:
    """The flat map on each window's traversed bins: the map's live notional within reach at t
    (``reach_mass``: symbol, window_start, side, value) spread evenly over the reach bins
    (``reach``: reach_bins), kept where those bins are traversed (CELL_COLUMNS, model = ``model``).

    Mixed as (1 - a) x map + a x flat, the map's mass within reach is kept and a share a of it is
    spread flat over the reach; what lies beyond the reach is scaled by 1 - a. Every input is
    known at t, so the mix is a map that could be served at t.
    """
    require_columns(reach, REACH_COLUMNS, "reach bins")
    require_columns(reach_mass, ["symbol", "window_start", "side", "value"], "reach mass")
    keys = ["symbol", "window_start", "side"]
    level = reach.merge(reach_mass[[*keys, "value"]], on=keys, how="inner")
    level["value"] = level["value"].astype("float64") / (level["reach_high"] - level["reach_low"] + 1)
    framed = windows[[*keys, "horizon_hours", "low_bin", "high_bin"]].merge(level, on=keys, how="inner")
    low = np.maximum(framed["low_bin"].to_numpy(), framed["reach_low"].to_numpy())
    high = np.minimum(framed["high_bin"].to_numpy(), framed["reach_high"].to_numpy())
    count = np.maximum(high - low + 1, 0)
    rows = framed.loc[
        np.repeat(np.arange(len(framed)), count), ["symbol", "window_start", "horizon_hours", "side", "value"]
    ]
    first = np.repeat(low, count)
    step = np.arange(int(count.sum())) - np.repeat(np.r_[0, np.cumsum(count)[:-1]], count)
    rows = rows.assign(model=model, score_bin=(first + step).astype("int64")).reset_index(drop=True)
    return rows[CELL_COLUMNS]


def fit_temper(
    windows: pd.DataFrame,
    map_cells: pd.DataFrame,
    flat: pd.DataFrame,
    truth_cells: pd.DataFrame,
    *,
    step: float = 0.05,
    draws: int = BAGGING_DRAWS,
    seed: int = BAGGING_SEED,
) -> float:
    """The flat share a of the tempered map (1 - a) x map + a x flat, fitted on the windows given
    (a train span's only): fit_weights on the two maps, so bagged over day-block resamples and
    held at the better of a = 0 and a = 1 unless a mix does better robustly. ``map_cells``: one
    map (any model name); ``flat``: flat_cells of that map."""
    name = "map"
    cells = pd.concat([map_cells.assign(model=name), flat.assign(model=FLAT_MODEL)], ignore_index=True)[
        CELL_COLUMNS
    ]
    if cells.empty or not (truth_cells["liquidated_notional"] > 0).any():
        return 0.0  # nothing judged: no reason to move away from the map
    if not (cells["model"] == name).any() or not (cells["model"] == FLAT_MODEL).any():
        return 0.0  # nothing to mix
    weights = fit_weights(windows, cells, truth_cells, step=step, draws=draws, seed=seed)
    return float(weights[FLAT_MODEL])


def reach_mass(session, live, symbols, reach: pd.DataFrame, *, bucket_minutes: int, bin_multiple: int = 1):
    """Per (symbol, window_start, side, model): the map's live notional at t on the reach bins.

    ``live``: a DuckDB relation of int_scoring__live_notional_per_bucket (symbol, model,
    bucket_start, side, price_bin, live_notional; the map at t is the bucket ending at t, as in
    int_scoring__window_map_cells); ``symbols``: int_symbols__settings (symbol, price_bin_size);
    ``reach``: reach_bins. Computed in DuckDB; returns a pandas frame (symbol, window_start, side,
    model, value).
    """
    columns = ["symbol", "window_start", "side", "model", "value"]
    if reach.empty:
        return pd.DataFrame(columns=columns)
    first, last = reach["window_start"].min(), reach["window_start"].max()
    step = f"to_minutes({int(bucket_minutes)})"
    bins = session.from_df(reach[REACH_COLUMNS]).set_alias("r")
    joined = (
        live.filter(f"bucket_start + {step} between '{pd.Timestamp(first)}' and '{pd.Timestamp(last)}'")
        .set_alias("live")
        .join(symbols.project("symbol as settings_symbol, price_bin_size"), "live.symbol = settings_symbol")
        .join(
            bins,
            f"live.symbol = r.symbol and live.side = r.side and live.bucket_start + {step} = r.window_start",
        )
    )
    score_bin = f"cast(floor(round(price_bin / price_bin_size) / {int(bin_multiple)}) as bigint)"
    keys = "r.symbol, r.window_start, r.side, live.model"
    out = (
        joined.filter(f"{score_bin} between reach_low and reach_high")
        .aggregate(f"{keys}, sum(live_notional) as value", keys)
        .df()
    )
    return out[columns]
