"""Scoring every model against true liquidations, per symbol, model, side and period.

Metrics (exact definitions in docs/model_scoring.md):
- zone_hit_rate: share of judged true liquidated notional that fell in a bin the model ranked in its
  top 20 % of live density one bucket before;
- median_distance_pct: notional-weighted median distance from a true liquidation's price to the
  nearest of those top bins, in % of the price (0 inside a top bin): how far the misses miss;
- hourly_correlation: Pearson correlation of predicted and true liquidated notional per hour;
- calibration: predicted / true liquidated notional over the period.
Every metric is given per side (long, short) and for both sides pooled (side = "all").
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from python_models.density import (
    HEATMAP_COLUMNS,
    bin_sizes,
    heatmap_with_truth,
    resolve_bucket,
    top_density_mask,
)
from python_models.truth import prepare_truth, require_columns, to_timestamp

SIDES = ["long", "short"]
ALL_SIDES = "all"
HISTORY_COLUMNS = ["symbol", "model", "bucket_start", "side", "liquidated_notional"]
METRIC_COLUMNS = ["symbol", "model", "side", "value", "n"]
SCORE_COLUMNS = ["symbol", "model", "side", "period", "metric", "value", "n"]
HOUR = pd.Timedelta("1h")
METRICS = ["calibration", "hourly_correlation", "median_distance_pct", "zone_hit_rate"]


def split_train_test(
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    *,
    train_fraction: float,
    align: str | pd.Timedelta = "1h",
) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    """Split [start, end) into train = [start, split) and test = [split, end), half-open, no overlap.

    split = start + train_fraction × (end - start), floored to a multiple of ``align`` (default one
    hour, so no hour of the hourly correlation straddles the two periods).
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be strictly between 0 and 1; got {train_fraction}")
    if not start < end:
        raise ValueError(f"start {start} must be before end {end}")
    split = (start + train_fraction * (end - start)).floor(pd.Timedelta(align))
    if not start < split < end:
        raise ValueError(
            f"[{start}, {end}) is too short to split at {train_fraction:.0%} on {align} boundaries; "
            "pass a longer range or a finer align"
        )
    return {"train": (start, split), "test": (split, end)}


def _models_and_symbols(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    return sorted(frame["model"].astype(str).unique()), sorted(frame["symbol"].astype(str).unique())


def _grid(symbols: list[str], models: list[str], sides: list[str]) -> pd.DataFrame:
    index = pd.MultiIndex.from_product([symbols, models, sides], names=["symbol", "model", "side"])
    return index.to_frame(index=False)


def _ratio_metric(grid: pd.DataFrame, numerator: pd.Series, denominator: pd.Series) -> pd.DataFrame:
    """value = numerator / denominator per (symbol, model, side) plus pooled sides; n = denominator."""
    out = grid.join(numerator.rename("num"), on=["symbol", "model", "side"])
    out = out.join(denominator.rename("den"), on=["symbol", "side"])
    out[["num", "den"]] = out[["num", "den"]].fillna(0.0)
    pooled = out.groupby(["symbol", "model"], as_index=False)[["num", "den"]].sum().assign(side=ALL_SIDES)
    out = pd.concat([out, pooled], ignore_index=True)
    out["value"] = out["num"] / out["den"].where(out["den"] > 0)
    out["n"] = out["den"]
    return out[METRIC_COLUMNS]


def _ranked_rows(
    heatmap: pd.DataFrame,
    truth: pd.DataFrame,
    price_bin_size: float | Mapping[str, float],
    bucket: str | pd.Timedelta | None,
    top_share: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, scored = heatmap_with_truth(heatmap, truth, price_bin_size=price_bin_size, bucket=bucket)
    groups = rows.groupby(["symbol", "model", "bucket_start", "side"], sort=False).ngroup().to_numpy()
    rows["top"] = top_density_mask(
        groups, rows["live_notional"].to_numpy(), rows["bin"].to_numpy(), top_share
    )
    return rows, scored


def zone_hit_rate(
    heatmap: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    price_bin_size: float | Mapping[str, float],
    bucket: str | pd.Timedelta | None = None,
    top_share: float = 0.2,
) -> pd.DataFrame:
    """Share of judged true liquidated notional in the model's top-density bins one bucket before.

    ``heatmap``: symbol, model, bucket_start, price_bin, side, live_notional at bucket resolution (one
    timeframe). ``truth``: symbol, time, side, price, quantity (truth.prepare_truth). Output columns
    symbol, model, side (long|short|all), value (NaN without judged truth), n (judged true notional).
    """
    rows, scored = _ranked_rows(heatmap, truth, price_bin_size, bucket, top_share)
    return _zone_hit_rate_of(rows, scored)


def _zone_hit_rate_of(rows: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    models, symbols = _models_and_symbols(rows)
    hits = rows[rows["top"]].groupby(["symbol", "model", "side"])["truth_notional"].sum()
    judged = scored.groupby(["symbol", "side"])["notional"].sum()
    return _ratio_metric(_grid(symbols, models, SIDES), hits, judged)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Smallest value at which the cumulative weight (values ascending) reaches half the total."""
    values = np.asarray(values, dtype="float64")
    weights = np.asarray(weights, dtype="float64")
    if len(values) == 0 or weights.sum() <= 0:
        return float("nan")
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2, side="left")])


def distance_to_top_bins(
    heatmap: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    price_bin_size: float | Mapping[str, float],
    bucket: str | pd.Timedelta | None = None,
    top_share: float = 0.2,
) -> pd.DataFrame:
    """Notional-weighted median distance (in % of the liquidation price) to the nearest top bin.

    For each judged true liquidation and model: the distance from its price to the nearest price of any
    bin in the model's top-density set (same side, one bucket before), 0 when it lies in such a bin.
    Liquidations with no top bin at all for that model are left out; n is the notional that was kept.
    """
    rows, scored = _ranked_rows(heatmap, truth, price_bin_size, bucket, top_share)
    return _distance_to_top_bins_of(rows, scored, price_bin_size)


def _distance_to_top_bins_of(
    rows: pd.DataFrame, scored: pd.DataFrame, price_bin_size: float | Mapping[str, float]
) -> pd.DataFrame:
    models, symbols = _models_and_symbols(rows)
    by = ["symbol", "model", "side", "bucket_start"]
    top = rows.loc[rows["top"], [*by, "bin"]].rename(columns={"bin": "top_bin"})
    top["bin"] = top["top_bin"]
    top = top.sort_values("bin", kind="stable")
    liquidations = scored.rename(columns={"prior_bucket": "bucket_start"})[
        ["symbol", "side", "bucket_start", "bin", "price", "notional"]
    ]
    liquidations = liquidations.merge(pd.DataFrame({"model": models}), how="cross").sort_values("bin")
    if top.empty or liquidations.empty:
        measured = liquidations.assign(distance_pct=np.nan).iloc[0:0]
    else:
        below = pd.merge_asof(liquidations, top, on="bin", by=by, direction="backward")
        above = pd.merge_asof(liquidations, top, on="bin", by=by, direction="forward")
        # merge_asof keeps the left frame's row order, so below and above line up row for row.
        size = bin_sizes(below["symbol"], price_bin_size)
        price = below["price"].to_numpy()
        gap_below = np.clip(price - (below["top_bin"].to_numpy(dtype="float64") + 1) * size, 0, None)
        gap_above = np.clip(above["top_bin"].to_numpy(dtype="float64") * size - price, 0, None)
        measured = below.assign(distance_pct=100 * np.fmin(gap_below, gap_above) / price)
        measured = measured[np.isfinite(measured["distance_pct"])]
    both = pd.concat([measured, measured.assign(side=ALL_SIDES)], ignore_index=True)
    medians = {
        key: (
            weighted_median(g["distance_pct"].to_numpy(), g["notional"].to_numpy()),
            float(g["notional"].sum()),
        )
        for key, g in both.groupby(["symbol", "model", "side"])
    }
    out = _grid(symbols, models, [*SIDES, ALL_SIDES])
    found = [medians.get(key, (float("nan"), 0.0)) for key in out.itertuples(index=False, name=None)]
    values = [v for v, _ in found]
    weights = [w for _, w in found]
    return out.assign(value=values, n=weights)[METRIC_COLUMNS]


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


def score_models(
    heatmap: pd.DataFrame,
    history: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    periods: Mapping[str, tuple[pd.Timestamp | str, pd.Timestamp | str]],
    price_bin_size: float | Mapping[str, float],
    bucket: str | pd.Timedelta | None = None,
    top_share: float = 0.2,
) -> pd.DataFrame:
    """Every metric per symbol, model, side and period, as a long frame.

    ``periods``: label -> [start, end) (e.g. from split_train_test). Truth counts in the period its
    time falls in; history rows by bucket_start; the heatmap is taken from one bucket before the period
    on (a prediction already made when the period starts is fair to use). Output columns: symbol,
    model, side, period, metric, value, n.
    """
    require_columns(heatmap, HEATMAP_COLUMNS, "heatmap")
    require_columns(history, HISTORY_COLUMNS, "liquidation history")
    length = resolve_bucket(heatmap["bucket_start"], bucket)
    canonical = prepare_truth(truth)
    heat_time = to_timestamp(heatmap["bucket_start"])
    history_time = to_timestamp(history["bucket_start"])
    parts = []
    for label, (start, end) in periods.items():
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        in_truth = canonical[(canonical["time"] >= start) & (canonical["time"] < end)]
        in_heatmap = heatmap[(heat_time >= start - length).to_numpy() & (heat_time < end).to_numpy()]
        in_history = history[(history_time >= start).to_numpy() & (history_time < end).to_numpy()]
        # Both density metrics rank the same rows: line the heatmap up with the truth once per period.
        rows, scored = _ranked_rows(in_heatmap, in_truth, price_bin_size, length, top_share)
        metrics = {
            "zone_hit_rate": _zone_hit_rate_of(rows, scored),
            "median_distance_pct": _distance_to_top_bins_of(rows, scored, price_bin_size),
            "hourly_correlation": hourly_correlation(in_history, in_truth, start=start, end=end),
            "calibration": calibration(in_history, in_truth, start=start, end=end),
        }
        for name, frame in metrics.items():
            parts.append(frame.assign(period=str(label), metric=name))
    # Every (symbol, model, side, period, metric) gets a row, NaN with n = 0 where a period has no data.
    models = sorted(set(heatmap["model"].astype(str).unique()) | set(history["model"].astype(str).unique()))
    symbols = sorted(
        set(heatmap["symbol"].astype(str).unique()) | set(history["symbol"].astype(str).unique())
    )
    index = pd.MultiIndex.from_product(
        [symbols, models, [*SIDES, ALL_SIDES], [str(p) for p in periods], METRICS], names=SCORE_COLUMNS[:5]
    )
    keys = SCORE_COLUMNS[:5]
    found = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SCORE_COLUMNS)
    out = index.to_frame(index=False).merge(found[SCORE_COLUMNS], on=keys, how="left")
    out["n"] = out["n"].fillna(0.0)
    out["value"] = out["value"].astype("float64")
    return out.sort_values(keys, kind="stable").reset_index(drop=True)
