"""Scoring every model against true liquidations: the path-conditioned placement yardstick.

Definitions in docs/model_scoring.md (the `model_scoring` docs block). In short, for each start time
t (every hour boundary) and horizon h (1 h, 4 h) and side, the *traversed bins* are the price bins
the path of (t, t + h] crossed on that side (longs: from the lowest low up to the price at t; shorts:
from the price at t up to the highest high). p = a map's live notional at t on those bins,
normalised; q = the true liquidated notional in [t, t + h) on those bins, normalised.

- overlap = sum(min(p, q)): 1 when the map's mass is exactly where the liquidations came;
- emd_pct = the Wasserstein-1 distance between p and q, in % of the price at t;
both averaged over (t, side) with the window's true liquidated notional as the weight. Every model is
shown beside three reference maps computed the same way: uniform (flat on the traversed bins),
proximity (density decaying with the distance from the price at t) and oracle (the true open
positions at t by true liquidation price; simulated data only). skill = (model - uniform) /
(oracle - uniform) on overlap, or (model - uniform) / (1 - uniform) without an oracle. 90 %
intervals come from a day-block bootstrap. calibration and hourly_correlation judge the predicted
liquidation history (size and timing).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from python_models.truth import prepare_truth, require_columns, to_timestamp

SIDES = ["long", "short"]
ALL_SIDES = "all"
HISTORY_COLUMNS = ["symbol", "model", "bucket_start", "side", "liquidated_notional"]
METRIC_COLUMNS = ["symbol", "model", "side", "value", "n"]
HOUR = pd.Timedelta("1h")

UNIFORM, PROXIMITY, ORACLE = "uniform", "proximity", "oracle"
REFERENCES = (UNIFORM, PROXIMITY, ORACLE)
WINDOW_KEYS = ["symbol", "window_start", "horizon_hours", "side"]
WINDOW_COLUMNS = [*WINDOW_KEYS, "start_price", "score_bin_size", "low_bin", "high_bin"]
CELL_COLUMNS = [*WINDOW_KEYS, "model", "score_bin", "value"]
TRUTH_CELL_COLUMNS = [*WINDOW_KEYS, "score_bin", "liquidated_notional"]
PLACEMENT_METRICS = ("overlap", "skill", "emd_pct")
HISTORY_METRICS = ("calibration", "hourly_correlation")
SCORE_COLUMNS = [
    "symbol",
    "model",
    "kind",
    "side",
    "period",
    "horizon_hours",
    "metric",
    "value",
    "low",
    "high",
    "n",
]
METRIC_ORDER = (*PLACEMENT_METRICS, *HISTORY_METRICS)


def _models_and_symbols(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    return sorted(frame["model"].astype(str).unique()), sorted(frame["symbol"].astype(str).unique())


def _window_frame(windows: pd.DataFrame) -> pd.DataFrame:
    require_columns(windows, WINDOW_COLUMNS, "scoring windows")
    out = pd.DataFrame(
        {
            "symbol": windows["symbol"].astype(str).array,
            "window_start": to_timestamp(windows["window_start"]).to_numpy(),
            "horizon_hours": windows["horizon_hours"].astype("int64").to_numpy(),
            "side": windows["side"].astype(str).array,
            "start_price": windows["start_price"].astype("float64").to_numpy(),
            "score_bin_size": windows["score_bin_size"].astype("float64").to_numpy(),
            "low_bin": windows["low_bin"].astype("int64").to_numpy(),
            "high_bin": windows["high_bin"].astype("int64").to_numpy(),
        }
    )
    bad = out[out["high_bin"] < out["low_bin"]]
    if not bad.empty:
        raise ValueError(f"scoring windows: high_bin < low_bin for {bad[WINDOW_KEYS].iloc[0].to_dict()}")
    if out.duplicated(WINDOW_KEYS).any():
        first = out.loc[out.duplicated(WINDOW_KEYS), WINDOW_KEYS].iloc[0].to_dict()
        raise ValueError(f"scoring windows: several rows for {first}")
    return out


class WindowLayout:
    """The traversed bins of every window laid end to end: one slot per (window, bin).

    Window i owns the slots offsets[i] .. offsets[i] + n_bins[i] - 1, bin low_bin[i] first, so a
    cumulative sum along the slots is a cumulative distribution within each window.
    """

    def __init__(self, windows: pd.DataFrame) -> None:
        self.windows = _window_frame(windows).reset_index(drop=True)
        self.n_bins = (self.windows["high_bin"] - self.windows["low_bin"] + 1).to_numpy()
        self.offsets = np.r_[0, np.cumsum(self.n_bins)[:-1]].astype("int64")
        self.size = int(self.n_bins.sum())
        self.slot_window = np.repeat(np.arange(len(self.windows)), self.n_bins)
        self._index = pd.Series(
            np.arange(len(self.windows)),
            index=pd.MultiIndex.from_frame(self.windows[WINDOW_KEYS]),
        )

    def slots(self, cells: pd.DataFrame, bin_column: str = "score_bin") -> tuple[np.ndarray, np.ndarray]:
        """(row positions in ``cells`` that fall on a traversed bin, their slot numbers)."""
        if cells.empty or not len(self.windows):
            return np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64")
        keys = pd.MultiIndex.from_arrays(
            [
                cells["symbol"].astype(str).array,
                to_timestamp(cells["window_start"]).to_numpy(),
                cells["horizon_hours"].astype("int64").to_numpy(),
                cells["side"].astype(str).array,
            ]
        )
        window = self._index.reindex(keys).to_numpy()
        known = ~np.isnan(window)
        window = np.where(known, window, 0).astype("int64")
        position = (
            cells[bin_column].to_numpy(dtype="float64").astype("int64")
            - self.windows["low_bin"].to_numpy()[window]
        )
        inside = known & (position >= 0) & (position < self.n_bins[window])
        rows = np.flatnonzero(inside)
        return rows, self.offsets[window[rows]] + position[rows]

    def dense(self, cells: pd.DataFrame, value: str) -> np.ndarray:
        """``cells[value]`` summed onto the slots (0 where a window's bin has no row)."""
        rows, slots = self.slots(cells)
        values = cells[value].to_numpy(dtype="float64")[rows]
        return np.bincount(slots, weights=values, minlength=self.size).astype("float64")

    def per_window(self, slot_values: np.ndarray) -> np.ndarray:
        """Sum of slot values per window (columns kept for a 2-d array)."""
        if self.size == 0:
            shape = (len(self.windows), *slot_values.shape[1:])
            return np.zeros(shape)
        return np.add.reduceat(slot_values, self.offsets, axis=0)


def reference_cells(windows: pd.DataFrame, *, proximity_scale_pct: float) -> pd.DataFrame:
    """The uniform and proximity reference maps on every window's traversed bins.

    uniform: 1 on each traversed bin. proximity: exp(-d / proximity_scale_pct), d = distance of the
    bin's centre from the price at t in % of that price (a map that knows nothing but the price).
    """
    if not proximity_scale_pct > 0:
        raise ValueError(f"proximity_scale_pct must be positive; got {proximity_scale_pct}")
    layout = WindowLayout(windows)
    win = layout.windows
    rows = win.loc[layout.slot_window, WINDOW_KEYS].reset_index(drop=True)
    score_bin = win["low_bin"].to_numpy()[layout.slot_window] + (
        np.arange(layout.size) - layout.offsets[layout.slot_window]
    )
    size = win["score_bin_size"].to_numpy()[layout.slot_window]
    price = win["start_price"].to_numpy()[layout.slot_window]
    distance_pct = 100 * np.abs((score_bin + 0.5) * size - price) / price
    uniform = rows.assign(model=UNIFORM, score_bin=score_bin, value=1.0)
    proximity = rows.assign(
        model=PROXIMITY, score_bin=score_bin, value=np.exp(-distance_pct / proximity_scale_pct)
    )
    return pd.concat([uniform, proximity], ignore_index=True)[CELL_COLUMNS]


def _normalised(layout: WindowLayout, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    totals = layout.per_window(values)
    per_slot = totals[layout.slot_window]
    share = np.divide(values, per_slot, out=np.zeros_like(values), where=per_slot > 0)
    return share, totals


def overlap_and_emd(
    layout: WindowLayout, p: np.ndarray, q_share: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per window: overlap sum(min(p, q)), EMD in bins, and whether p had any mass.

    ``p``: raw map values per slot (1-d, or 2-d with one column per map), normalised here;
    ``q_share``: the truth already normalised per window.
    """
    p_share, p_total = _normalised(layout, p)
    q = q_share if p_share.ndim == 1 else q_share[:, None]
    overlap = layout.per_window(np.minimum(p_share, q))
    cumulative = np.cumsum(p_share - q, axis=0)
    before = np.concatenate([np.zeros((1, *cumulative.shape[1:])), cumulative])[layout.offsets]
    within = cumulative - before[layout.slot_window]
    emd_bins = layout.per_window(np.abs(within))
    return overlap, emd_bins, p_total > 0


def placement_by_window(
    windows: pd.DataFrame, cells: pd.DataFrame, truth_cells: pd.DataFrame
) -> pd.DataFrame:
    """overlap and emd_pct of every map in ``cells`` on every window that saw true liquidations.

    ``cells``: CELL_COLUMNS (model = the map's name; models, the ensemble and the reference maps alike);
    ``truth_cells``: TRUTH_CELL_COLUMNS. Rows off a window's traversed bins are ignored. A window
    (t, side) without true liquidated notional on its bins is skipped. A map with no mass on the
    bins scores overlap 0 and an undefined emd_pct. Output: WINDOW_KEYS, model, overlap, emd_pct,
    weight (the window's true liquidated notional, USDT).
    """
    require_columns(cells, CELL_COLUMNS, "map cells")
    require_columns(truth_cells, TRUTH_CELL_COLUMNS, "truth cells")
    layout = WindowLayout(windows)
    q = layout.dense(truth_cells, "liquidated_notional")
    q_share, q_total = _normalised(layout, q)
    judged = np.flatnonzero(q_total > 0)
    win = layout.windows
    scale = 100 * win["score_bin_size"].to_numpy() / win["start_price"].to_numpy()
    models = sorted(cells["model"].astype(str).unique())
    parts = []
    by_model = dict(tuple(cells.groupby(cells["model"].astype(str), sort=True)))
    for name in models:
        p = layout.dense(by_model[name], "value")
        overlap, emd_bins, has_mass = overlap_and_emd(layout, p, q_share)
        emd = np.where(has_mass, emd_bins * scale, np.nan)
        part = win.loc[judged, WINDOW_KEYS].reset_index(drop=True)
        parts.append(
            part.assign(model=name, overlap=overlap[judged], emd_pct=emd[judged], weight=q_total[judged])
        )
    columns = [*WINDOW_KEYS, "model", "overlap", "emd_pct", "weight"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def bootstrap_counts(n_days: int, *, draws: int, seed: int) -> np.ndarray:
    """draws x n_days: how often each day is taken in each resample of n_days whole days (seeded)."""
    if draws < 1:
        raise ValueError(f"draws must be at least 1; got {draws}")
    if n_days == 0:
        return np.zeros((draws, 0))
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_days, np.full(n_days, 1.0 / n_days), size=draws).astype("float64")


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    """The central ``level`` interval of bootstrap samples (NaN draws, e.g. no weight, left out)."""
    tail = 100 * (1 - level) / 2
    finite = samples[np.isfinite(samples)]
    if len(finite) == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def skill(value: np.ndarray, uniform: np.ndarray, oracle: np.ndarray | float) -> np.ndarray:
    """(value - uniform) / (oracle - uniform); NaN where the oracle does no better than uniform."""
    denominator = np.asarray(oracle, dtype="float64") - uniform
    with np.errstate(all="ignore"):
        out = (np.asarray(value, dtype="float64") - uniform) / denominator
    return np.where(denominator > 0, out, np.nan)


# The per-day sums a placement score is made of (placement_day_sums): per symbol, horizon, side
# (long, short), map and UTC day of t. Every average and every day-block resample is a ratio of
# sums of these, so a score of any union of days, the pooled headline included, is computed from
# them without the scoring windows' rows.
DAY_SUM_KEYS = ["symbol", "horizon_hours", "side", "model", "day"]
DAY_SUM_VALUES = ["weighted_overlap", "weight", "weighted_emd", "emd_weight"]


def placement_day_sums(per_window: pd.DataFrame) -> pd.DataFrame:
    """placement_by_window rows summed per DAY_SUM_KEYS: Σ weight × overlap, Σ weight, and the same
    two over the windows where emd_pct is defined (Σ weight × emd_pct, Σ weight). Sorted by the keys."""
    columns = [*DAY_SUM_KEYS, *DAY_SUM_VALUES]
    if per_window.empty:
        return pd.DataFrame(columns=columns)
    weight = per_window["weight"].to_numpy(dtype="float64")
    emd = per_window["emd_pct"].to_numpy(dtype="float64")
    defined = np.isfinite(emd)
    frame = pd.DataFrame(
        {
            "symbol": per_window["symbol"].astype(str).array,
            "horizon_hours": per_window["horizon_hours"].astype("int64").to_numpy(),
            "side": per_window["side"].astype(str).array,
            "model": per_window["model"].astype(str).array,
            "day": to_timestamp(per_window["window_start"]).dt.floor("D").to_numpy(),
            "weighted_overlap": weight * per_window["overlap"].to_numpy(dtype="float64"),
            "weight": weight,
            "weighted_emd": np.where(defined, weight * np.where(defined, emd, 0.0), 0.0),
            "emd_weight": np.where(defined, weight, 0.0),
        }
    )
    return frame.groupby(DAY_SUM_KEYS, sort=True, as_index=False)[DAY_SUM_VALUES].sum()[columns]


def summarise_placement(
    per_window: pd.DataFrame,
    periods: Mapping[str, tuple[pd.Timestamp | str, pd.Timestamp | str]],
    *,
    draws: int = 200,
    seed: int = 12,
    level: float = 0.9,
) -> pd.DataFrame:
    """overlap, skill and emd_pct per symbol, model, side (long, short, all), period and horizon.

    A window belongs to a period when [t, t + horizon) lies inside it. overlap and emd_pct are means
    over windows weighted by the true liquidated notional (emd over the windows where the map had
    mass). skill uses the uniform and oracle maps of the same windows (the oracle overlap is taken
    as 1 when there is no oracle map). Intervals: the ``level`` central interval over ``draws``
    day-block bootstrap resamples (the days of the period drawn with replacement, the same draws for
    every map and side of a symbol, period and horizon, from ``seed``); only overlap and skill have
    one. Output columns SCORE_COLUMNS minus kind. The rows are summed per day first
    (placement_day_sums) and scored from those sums (summarise_day_sums).
    """
    parts = []
    if not per_window.empty:
        window_start = to_timestamp(per_window["window_start"])
        window_end = window_start + pd.to_timedelta(per_window["horizon_hours"].astype("int64"), unit="h")
        for label, (start, end) in periods.items():
            inside = ((window_start >= pd.Timestamp(start)) & (window_end <= pd.Timestamp(end))).to_numpy()
            if inside.any():
                parts.append(placement_day_sums(per_window[inside]).assign(period=str(label)))
    sums = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*DAY_SUM_KEYS, "period"])
    return summarise_day_sums(sums, draws=draws, seed=seed, level=level)


def summarise_day_sums(
    sums: pd.DataFrame, *, draws: int = 200, seed: int = 12, level: float = 0.9
) -> pd.DataFrame:
    """summarise_placement from day sums (placement_day_sums' columns plus ``period``, one row per
    key and period; the days of a period are those with any row of its symbol and horizon)."""
    rows: list[tuple] = []
    columns = [c for c in SCORE_COLUMNS if c != "kind"]
    if sums.empty:
        return pd.DataFrame(rows, columns=columns)
    sums = sums.assign(day=to_timestamp(sums["day"]), horizon_hours=sums["horizon_hours"].astype("int64"))
    for label, in_period in sums.groupby("period", sort=False):
        models = sorted(in_period["model"].astype(str).unique())
        for (symbol, horizon), group in in_period.groupby(["symbol", "horizon_hours"], sort=True):
            days = np.sort(group["day"].unique())
            counts = bootstrap_counts(len(days), draws=draws, seed=seed)
            for side in [*SIDES, ALL_SIDES]:
                if side == ALL_SIDES:
                    chosen = group.groupby(["model", "day"], sort=True, as_index=False)[DAY_SUM_VALUES].sum()
                else:
                    chosen = group[group["side"] == side]
                codes = np.searchsorted(days, chosen["day"].to_numpy())
                key = (str(symbol), side, str(label), int(horizon))
                rows.extend(_summary_rows(chosen, codes, len(days), counts, models, level, key))
    return pd.DataFrame(rows, columns=columns)


def _summary_rows(
    chosen: pd.DataFrame,
    day_code: np.ndarray,
    n_days: int,
    counts: np.ndarray,
    models: list[str],
    level: float,
    key: tuple[str, str, str, int],
) -> list[tuple]:
    symbol, side, label, horizon = key
    table = {}
    names = chosen["model"].astype(str).to_numpy()
    for name in models:
        mine = names == name
        days = day_code[mine]
        numerator = np.bincount(
            days, weights=chosen["weighted_overlap"].to_numpy(dtype="float64")[mine], minlength=n_days
        )
        denominator = np.bincount(
            days, weights=chosen["weight"].to_numpy(dtype="float64")[mine], minlength=n_days
        )
        resampled = counts @ denominator
        value = numerator.sum() / denominator.sum() if denominator.sum() > 0 else np.nan
        with np.errstate(all="ignore"):
            samples = np.where(resampled > 0, (counts @ numerator) / resampled, np.nan)
        emd_weight = float(chosen["emd_weight"].to_numpy(dtype="float64")[mine].sum())
        emd_sum = float(chosen["weighted_emd"].to_numpy(dtype="float64")[mine].sum())
        emd_value = emd_sum / emd_weight if emd_weight > 0 else np.nan
        table[name] = (value, samples, float(denominator.sum()), emd_value, emd_weight)
    uniform = table.get(UNIFORM)
    oracle = table.get(ORACLE)
    rows = []
    for name, (value, samples, n, emd_value, emd_n) in table.items():
        low, high = _interval(samples, level)
        rows.append((symbol, name, side, label, horizon, "overlap", value, low, high, n))
        if uniform is not None:
            if oracle is not None:
                point = skill(value, uniform[0], oracle[0])
                draws = skill(samples, uniform[1], oracle[1])
            else:
                point = skill(value, uniform[0], 1.0)
                draws = skill(samples, uniform[1], 1.0)
            s_low, s_high = _interval(draws, level)
            rows.append((symbol, name, side, label, horizon, "skill", float(point), s_low, s_high, n))
        rows.append((symbol, name, side, label, horizon, "emd_pct", emd_value, np.nan, np.nan, emd_n))
    return rows


def hourly_table(
    history: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Predicted and true liquidated notional per symbol, model, side (and "all") and hour.

    Hours run from floor(start) to the last hour starting before end (or over the data's hours when not
    given); hours without liquidations are 0 on either side.
    """
    require_columns(history, HISTORY_COLUMNS, "liquidation history")
    canonical = prepare_truth(truth)
    predicted = pd.DataFrame(
        {
            "symbol": history["symbol"].astype(str).array,
            "model": history["model"].astype(str).array,
            "side": history["side"].astype(str).array,
            "hour": to_timestamp(history["bucket_start"]).dt.floor(HOUR).to_numpy(),
            "predicted": history["liquidated_notional"].astype("float64").to_numpy(),
        }
    )
    actual = canonical.assign(hour=canonical["time"].dt.floor(HOUR))
    hours_seen = pd.concat([predicted["hour"], actual["hour"]])
    first = pd.Timestamp(start).floor(HOUR) if start is not None else hours_seen.min()
    last = (pd.Timestamp(end) - pd.Timedelta(1, "ns")).floor(HOUR) if end is not None else hours_seen.max()
    models, symbols = _models_and_symbols(predicted)
    if pd.isna(first) or pd.isna(last) or first > last:
        hours = pd.DatetimeIndex([], dtype="datetime64[ns]")
    else:
        hours = pd.date_range(first, last, freq=HOUR)
    index = pd.MultiIndex.from_product(
        [symbols, models, SIDES, hours], names=["symbol", "model", "side", "hour"]
    )
    pred = predicted.groupby(["symbol", "model", "side", "hour"])["predicted"].sum()
    true = actual.groupby(["symbol", "side", "hour"])["notional"].sum().rename("true")
    table = pred.reindex(index, fill_value=0.0).reset_index()
    table = table.join(true, on=["symbol", "side", "hour"])
    table["true"] = table["true"].fillna(0.0)
    pooled = table.groupby(["symbol", "model", "hour"], as_index=False)[["predicted", "true"]].sum()
    return pd.concat([table, pooled.assign(side=ALL_SIDES)], ignore_index=True)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2:
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
    denominator = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    return float((dx * dy).sum() / denominator) if denominator > 0 else float("nan")


def hourly_correlation(
    history: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Pearson correlation of predicted and true liquidated notional per hour; n = number of hours.

    NaN when fewer than 2 hours or either series is constant (a correlation is then undefined).
    """
    table = hourly_table(history, truth, start=start, end=end)
    rows = [
        (*key, _pearson(g["predicted"].to_numpy(), g["true"].to_numpy()), float(len(g)))
        for key, g in table.groupby(["symbol", "model", "side"], sort=True)
    ]
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def calibration(
    history: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Predicted / true liquidated notional over the hours; n = true notional (NaN when it is 0)."""
    totals = (
        hourly_table(history, truth, start=start, end=end)
        .groupby(["symbol", "model", "side"])[["predicted", "true"]]
        .sum()
    )
    out = totals.reset_index()
    out["value"] = out["predicted"] / out["true"].where(out["true"] > 0)
    out["n"] = out["true"]
    return out[METRIC_COLUMNS]


# The hourly series' moments per period, symbol, model and side (history_moments): the number of
# hours, the sums of predicted and true notional, and the centred second moments. calibration and
# hourly_correlation are functions of these, and the moments of disjoint periods pool exactly
# (pool_moments), so a pooled span's correlation needs no hourly series.
MOMENT_KEYS = ["period", "symbol", "model", "side"]
MOMENT_VALUES = ["hours", "predicted", "true", "m2_predicted", "m2_true", "co_moment"]


def _moments(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    grouped = table.groupby(keys, sort=True)
    sums = grouped[["predicted", "true"]].sum()
    centred = table.assign(
        dx=table["predicted"] - grouped["predicted"].transform("mean"),
        dy=table["true"] - grouped["true"].transform("mean"),
    )
    centred = centred.assign(xy=centred["dx"] * centred["dy"], xx=centred["dx"] ** 2, yy=centred["dy"] ** 2)
    moments = centred.groupby(keys, sort=True)[["xy", "xx", "yy"]].sum()
    return sums.index.to_frame(index=False).assign(
        hours=grouped.size().to_numpy().astype("float64"),
        predicted=sums["predicted"].to_numpy(),
        true=sums["true"].to_numpy(),
        m2_predicted=moments["xx"].to_numpy(),
        m2_true=moments["yy"].to_numpy(),
        co_moment=moments["xy"].to_numpy(),
    )


def _in_periods(table: pd.DataFrame, group: list[tuple[str, pd.Timestamp, pd.Timestamp]]) -> pd.DataFrame:
    """The rows of an hourly table whose hour starts inside one of the group's disjoint periods, labelled."""
    starts = np.array([s for _, s, _ in group], dtype="datetime64[ns]")
    ends = np.array([e for _, _, e in group], dtype="datetime64[ns]")
    hours = table["hour"].to_numpy(dtype="datetime64[ns]")
    slot = np.searchsorted(starts, hours, side="right") - 1
    valid = (slot >= 0) & (hours < ends[np.maximum(slot, 0)])
    return table[valid].assign(period=np.array([g[0] for g in group])[slot[valid]])


def history_moments(
    history: pd.DataFrame,
    truth: pd.DataFrame,
    periods: Mapping[str, tuple[pd.Timestamp | str, pd.Timestamp | str]],
) -> pd.DataFrame:
    """The moments (MOMENT_VALUES) of every period's hourly predicted and true series (hourly_table).

    One row per period, symbol, model and side (long, short, all) of the models predicting in the
    period, and one with model null per symbol (predicted or liquidated in the period) and side:
    the truth alone, what a model without predictions there is judged on (pool_moments).
    """
    columns = [*MOMENT_KEYS, *MOMENT_VALUES]
    if not periods:
        return pd.DataFrame(columns=columns)
    canonical = prepare_truth(truth)
    history_time = to_timestamp(history["bucket_start"])
    parts = []
    # Disjoint periods share one hourly table; a period overlapping another gets its own.
    groups: list[list[tuple[str, pd.Timestamp, pd.Timestamp]]] = []
    for label, (start, end) in sorted(periods.items(), key=lambda kv: pd.Timestamp(kv[1][0])):
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        for group in groups:
            if all(end <= s or start >= e for _, s, e in group):
                group.append((str(label), start, end))
                break
        else:
            groups.append([(str(label), start, end)])
    for group in groups:
        first, last = min(s for _, s, _ in group), max(e for _, _, e in group)
        inside = (history_time >= first).to_numpy() & (history_time < last).to_numpy()
        in_truth = canonical[(canonical["time"] >= first) & (canonical["time"] < last)]
        table = hourly_table(history[inside], in_truth, start=first, end=last)
        if not table.empty:
            parts.append(_moments(_in_periods(table, group), MOMENT_KEYS))
        symbols = sorted(set(history.loc[inside, "symbol"].astype(str)) | set(in_truth["symbol"].astype(str)))
        hours = pd.date_range(first.floor(HOUR), (last - pd.Timedelta(1, "ns")).floor(HOUR), freq=HOUR)
        if symbols and len(hours):
            index = pd.MultiIndex.from_product([symbols, SIDES, hours], names=["symbol", "side", "hour"])
            true = in_truth.assign(hour=in_truth["time"].dt.floor(HOUR)).groupby(["symbol", "side", "hour"])
            alone = true["notional"].sum().reindex(index, fill_value=0.0).rename("true").reset_index()
            alone = alone.assign(predicted=0.0)
            both = alone.groupby(["symbol", "hour"], as_index=False)[["predicted", "true"]].sum()
            alone = pd.concat([alone, both.assign(side=ALL_SIDES)], ignore_index=True)
            keys = ["period", "symbol", "side"]
            parts.append(_moments(_in_periods(alone, group), keys).assign(model=None))
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def pool_moments(moments: pd.DataFrame, label: str, hours: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The moments of the union of disjoint periods (history_moments rows), as one period ``label``.

    Every model and symbol predicting in any period is pooled over every period's hours, as
    history_moments over the union would: where a model has no row in a period it counts 0 per hour
    there, against that period's truth (its model-null row; none: no liquidation either).
    ``hours``: every period's number of hours, in the order they are combined (a period with no
    row at all is then still counted, as hours of zeros); by default the periods of ``moments``
    in the order they first appear, with the hours their rows give.
    """
    columns = [*MOMENT_KEYS, *MOMENT_VALUES]
    model_rows = moments[moments["model"].notna()]
    if model_rows.empty:
        return pd.DataFrame(columns=columns)
    if hours is None:
        periods = list(dict.fromkeys(moments["period"].astype(str)))
        hours = moments.assign(period=moments["period"].astype(str)).groupby("period")["hours"].max()
    else:
        periods = [str(p) for p in hours]
        hours = pd.Series({str(p): float(h) for p, h in hours.items()})
    symbols = sorted(model_rows["symbol"].astype(str).unique())
    models = sorted(model_rows["model"].astype(str).unique())
    index = pd.MultiIndex.from_product(
        [periods, symbols, models, [*SIDES, ALL_SIDES]], names=["period", "symbol", "model", "side"]
    )
    keyed = model_rows.assign(period=model_rows["period"].astype(str)).set_index(MOMENT_KEYS)
    table = keyed[MOMENT_VALUES].reindex(index).reset_index()
    truth_rows = moments[moments["model"].isna()]
    alone = truth_rows.assign(period=truth_rows["period"].astype(str)).set_index(["period", "symbol", "side"])
    missing = table["hours"].isna().to_numpy()
    fill = alone[["true", "m2_true"]].reindex(pd.MultiIndex.from_frame(table[["period", "symbol", "side"]]))
    for column in ("true", "m2_true"):
        table.loc[missing, column] = fill[column].to_numpy()[missing]
    table.loc[missing, ["predicted", "m2_predicted", "co_moment"]] = 0.0
    table.loc[missing, "hours"] = hours.reindex(table.loc[missing, "period"]).to_numpy()
    table[["true", "m2_true"]] = table[["true", "m2_true"]].fillna(0.0)
    keys = ["symbol", "model", "side"]
    grouped = table.groupby(keys, sort=True)
    total = grouped[["hours", "predicted", "true"]].transform("sum")
    # Between-period part of the second moments: n_p (mean_p - mean)^2 and the cross term.
    dx = table["predicted"] / table["hours"] - total["predicted"] / total["hours"]
    dy = table["true"] / table["hours"] - total["true"] / total["hours"]
    table = table.assign(
        m2_predicted=table["m2_predicted"] + table["hours"] * dx * dx,
        m2_true=table["m2_true"] + table["hours"] * dy * dy,
        co_moment=table["co_moment"] + table["hours"] * dx * dy,
    )
    pooled = table.groupby(keys, sort=True)[MOMENT_VALUES].sum().reset_index()
    return pooled.assign(period=str(label))[columns]


def moment_metrics(moments: pd.DataFrame) -> pd.DataFrame:
    """calibration and hourly_correlation from the moments (the model rows of history_moments)."""
    columns = ["symbol", "model", "side", "period", "metric", "value", "n", "horizon_hours", "low", "high"]
    rows = moments[moments["model"].notna()]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    denominator = np.sqrt(rows["m2_predicted"].to_numpy() * rows["m2_true"].to_numpy())
    true = rows["true"].to_numpy(dtype="float64")
    with np.errstate(all="ignore"):
        correlation = np.where(
            (denominator > 0) & (rows["hours"].to_numpy() >= 2),
            rows["co_moment"].to_numpy() / denominator,
            np.nan,
        )
        ratio = np.where(true > 0, rows["predicted"].to_numpy() / np.where(true > 0, true, np.nan), np.nan)
    index = rows[["symbol", "model", "side", "period"]].reset_index(drop=True)
    out = pd.concat(
        [
            index.assign(metric="calibration", value=ratio, n=true),
            index.assign(
                metric="hourly_correlation", value=correlation, n=rows["hours"].to_numpy(dtype="float64")
            ),
        ],
        ignore_index=True,
    )
    return out.assign(horizon_hours=np.nan, low=np.nan, high=np.nan)[columns]


def history_metrics(
    history: pd.DataFrame,
    truth: pd.DataFrame,
    periods: Mapping[str, tuple[pd.Timestamp | str, pd.Timestamp | str]],
) -> pd.DataFrame:
    """calibration and hourly_correlation of every period at once (disjoint or not), vectorised.

    The same values as ``calibration`` and ``hourly_correlation`` over each period's hours (one
    hourly table per group of overlapping periods instead of two per period, which matters with
    hundreds of walk-forward windows), from the moments (history_moments). Output: symbol, model,
    side, period, metric, value, n, horizon_hours / low / high null.
    """
    return moment_metrics(history_moments(history, truth, periods))


def score_models(
    windows: pd.DataFrame,
    cells: pd.DataFrame,
    truth_cells: pd.DataFrame,
    history: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    periods: Mapping[str, tuple[pd.Timestamp | str, pd.Timestamp | str]],
    proximity_scale_pct: float = 0.5,
    draws: int = 200,
    seed: int = 12,
    level: float = 0.9,
) -> pd.DataFrame:
    """Every metric per symbol, map, side and period, as a long frame (SCORE_COLUMNS).

    ``cells``: the maps to judge (the models, the ensemble and, on simulated data, the oracle as
    model 'oracle'); the uniform and proximity maps are added here from ``windows``. ``history``:
    the models' predicted liquidations (HISTORY_COLUMNS), judged by calibration and
    hourly_correlation (horizon_hours null); ``truth``: the true liquidations (truth.prepare_truth).
    kind = 'reference' for uniform, proximity and oracle, else 'model'.
    """
    maps = pd.concat([cells[CELL_COLUMNS], reference_cells(windows, proximity_scale_pct=proximity_scale_pct)])
    per_window = placement_by_window(windows, maps, truth_cells)
    return score_periods(per_window, history, truth, periods=periods, draws=draws, seed=seed, level=level)


def score_periods(
    per_window: pd.DataFrame,
    history: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    periods: Mapping[str, tuple[pd.Timestamp | str, pd.Timestamp | str]],
    draws: int = 200,
    seed: int = 12,
    level: float = 0.9,
) -> pd.DataFrame:
    """score_models from placement rows already computed (placement_by_window, every map's).

    The walk-forward scores (fct_model_scores) keep each window's placement rows and score any
    union of them this way; calibration and hourly_correlation are computed from ``history`` and
    ``truth`` over each period.
    """
    require_columns(history, HISTORY_COLUMNS, "liquidation history")
    placement = summarise_placement(per_window, periods, draws=draws, seed=seed, level=level)
    return _score_frame([placement, history_metrics(history, truth, periods)])


def score_sums(
    day_sums: pd.DataFrame,
    moments: pd.DataFrame,
    *,
    draws: int = 200,
    seed: int = 12,
    level: float = 0.9,
) -> pd.DataFrame:
    """score_periods from what the placement rows and the hourly series sum to: ``day_sums``
    (placement_day_sums plus ``period``) and ``moments`` (history_moments, or pool_moments for a
    union of periods). The same figures as score_periods over the rows those sums come from."""
    placement = summarise_day_sums(day_sums, draws=draws, seed=seed, level=level)
    return _score_frame([placement, moment_metrics(moments)])


def _score_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    out = (
        pd.concat([p for p in parts if not p.empty], ignore_index=True)
        if any(not p.empty for p in parts)
        else pd.DataFrame(columns=SCORE_COLUMNS)
    )
    out["kind"] = np.where(out["model"].isin(REFERENCES), "reference", "model")
    out["horizon_hours"] = out["horizon_hours"].astype("Int64")
    for column in ("value", "low", "high", "n"):
        out[column] = out[column].astype("float64")
    order = {m: i for i, m in enumerate(METRIC_ORDER)}
    out = out.assign(_metric=out["metric"].map(order)).sort_values(
        ["symbol", "period", "horizon_hours", "side", "kind", "model", "_metric"], kind="stable"
    )
    return out[SCORE_COLUMNS].reset_index(drop=True)
