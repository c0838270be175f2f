"""How far can a model that does not know each position's leverage get on the placement metric?

A diagnostic of the path-conditioned yardstick (docs/model_scoring.md), never a model: it reads the
simulator's truth/positions (as the oracle does) from a built warehouse's working database and
scores, on the same 1 h windows as `fct_model_scores`, maps that know more than any model can:

- `oracle`: the true open positions at t by their true liquidation price (the scoring's oracle);
- `known entries, leverage from the mix`: every open taker position's entry price, quantity,
  opening and closing time known exactly, but its leverage not: it is spread over the leverages
  2..125 with the period's true taker leverage mix (by notional), keeping only the leverages whose
  liquidation price the price path since the opening has not crossed (a position still open
  cannot be at a leverage that would have been liquidated), renormalised; liquidation price
  entry x (1 - s (1/L - 0.4 %));
- `oracle, leverage snapped to the seed's tiers`: the true positions with their leverage moved to
  the nearest of 5/10/25/50/100 (the fixed models' grid).

- `<model> mixed with flat (a = ...)`: each model variant's map on the traversed bins mixed with
  the flat map, (1 - a) p + a / n, a chosen on the train period (grid of 0.1) and kept for the
  test period: how far the variants' maps are more peaked than the truth (a model, not a ceiling:
  it reads no truth/positions, only the train period's truth to pick a).

Printed beside the model variants' and the uniform map's overlap and skill from `fct_model_scores`
for the train and test periods. Skill of a map = (overlap - uniform) / (oracle - uniform).

The known-entries and snapped maps are also scored smoothed by distance the way the build smooths
every model map (`python_models.smoothing.smooth_by_distance` with the warehouse's
`dim_map_smoothing` settings, around the price at t; rows marked "smoothed"), so they compare with
the smoothed models of `fct_model_scores`. The oracle itself is never smoothed.

    uv run python scripts/placement_ceiling.py <warehouse.duckdb> [<warehouse.duckdb> ...]

Use it on simulated builds only (it needs truth/positions).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from liquidationheatmap.publish import working_database
from python_models.smoothing import smooth_by_distance

LEVERAGES = np.arange(2, 126, dtype="float64")
SEED_TIERS = np.array([5.0, 10.0, 25.0, 50.0, 100.0])
MAINTENANCE = 0.004
# Windows whose open positions are expanded over the leverages at once (bounds the memory).
CHUNK_WINDOWS = 12


def _sparse_tables(values: np.ndarray, op) -> list[np.ndarray]:
    tables = [values.copy()]
    fill = np.inf if op is np.minimum else -np.inf
    k = 1
    while (1 << k) <= len(values):
        previous, shift = tables[-1], 1 << (k - 1)
        tables.append(op(previous, np.concatenate([previous[shift:], np.full(shift, fill)])))
        k += 1
    return tables


def _range(tables: list[np.ndarray], first: np.ndarray, last: np.ndarray, op) -> np.ndarray:
    """op over values[first..last] (inclusive) per row, first <= last."""
    k = np.floor(np.log2(last - first + 1)).astype(int)
    out = np.empty(len(first))
    for level in np.unique(k):
        rows = k == level
        table = tables[level]
        out[rows] = op(table[first[rows]], table[last[rows] - (1 << level) + 1])
    return out


def _binned(positions: pd.DataFrame, price: np.ndarray, value: np.ndarray, rows: int) -> pd.Series:
    """Value per (side, window_start, scoring bin of price); rows = values per position."""
    frame = pd.DataFrame(
        {
            "side": np.repeat(positions["side"].to_numpy(), rows),
            "window_start": np.repeat(positions["window_start"].to_numpy(), rows),
            "bin": np.floor(price / np.repeat(positions["score_bin_size"].to_numpy(), rows)).astype("int64"),
            "v": value,
        }
    )
    return frame.groupby(["side", "window_start", "bin"])["v"].sum()


def _overlap(
    windows: pd.DataFrame, values: pd.Series, truth: pd.Series, smoothing: dict | None = None
) -> float:
    """Truth-weighted mean overlap of a map (values indexed by side, window_start, bin), smoothed by
    distance from the price at t first when ``smoothing`` ({rate, min_sigma, max_sigma}) is given."""
    total = weight = 0.0
    for row in windows.itertuples():
        bins = np.arange(row.low_bin, row.high_bin + 1)
        q = truth.loc[(row.side, row.window_start)].reindex(bins).fillna(0.0).to_numpy()
        try:
            cells = values.loc[(row.side, row.window_start)]
        except (KeyError, pd.errors.IndexingError):  # no mass in this window (or an empty map)
            cells = pd.Series(dtype="float64")
        if smoothing is not None and len(cells):
            m = smooth_by_distance(
                cells.index.to_numpy(dtype="int64"),
                cells.to_numpy(dtype="float64"),
                int(np.floor(row.start_price / row.score_bin_size)),
                smoothing["rate"],
                int(row.low_bin),
                int(row.high_bin),
                min_sigma=smoothing["min_sigma"],
                max_sigma=smoothing["max_sigma"],
            )
        else:
            m = cells.reindex(bins).fillna(0.0).to_numpy()
        p = m / m.sum() if m.sum() > 0 else np.full(len(bins), 1.0 / len(bins))
        total += row.tq * np.minimum(p, q / q.sum()).sum()
        weight += row.tq
    return total / weight if weight else float("nan")


def _maps(positions: pd.DataFrame, law: np.ndarray, index_of: dict, lows: list, highs: list) -> dict:
    """The oracle, known-entries and snapped maps of these open positions (one chunk of windows)."""
    sign = np.where(positions["side"] == "long", 1.0, -1.0)

    oracle = _binned(
        positions,
        positions["liquidation_price"].to_numpy(),
        (positions["quantity"] * positions["liquidation_price"]).to_numpy(),
        1,
    )
    tiers = SEED_TIERS[np.abs(np.log(positions["leverage"].to_numpy()[:, None] / SEED_TIERS)).argmin(axis=1)]
    snapped_price = positions["entry"].to_numpy() * (1 - sign * (1 / tiers - MAINTENANCE))
    snapped = _binned(positions, snapped_price, positions["quantity"].to_numpy() * snapped_price, 1)
    opened = positions["opened_bucket"].map(index_of).fillna(-1).astype(int).to_numpy()
    before_t = (positions["window_start"] - pd.Timedelta(minutes=5)).map(index_of).to_numpy().astype(int)
    first = np.clip(opened + 1, 0, None)
    seen = first <= before_t
    last = np.maximum(before_t, first)
    path_low = np.where(seen, _range(lows, first, last, np.minimum), np.inf)
    path_high = np.where(seen, _range(highs, first, last, np.maximum), -np.inf)
    price = positions["entry"].to_numpy()[:, None] * (
        1 - sign[:, None] * (1 / LEVERAGES[None, :] - MAINTENANCE)
    )
    alive = np.where(sign[:, None] > 0, price < path_low[:, None], price > path_high[:, None])
    share = law[None, :] * alive
    share /= np.maximum(share.sum(axis=1, keepdims=True), 1e-300)
    known = _binned(
        positions,
        price.ravel(),
        (positions["quantity"].to_numpy()[:, None] * share * price).ravel(),
        len(LEVERAGES),
    )
    return {"oracle": oracle, "known": known, "snapped": snapped}


def _flat_mix(con, spans: dict, models: list[str]) -> dict[str, tuple[float, dict[str, float]]]:
    """Per model: (a fitted on train, {period: overlap of (1 - a) p + a u}) on the 1 h windows."""
    per_period = {}
    for period, (start, end) in spans.items():
        frame = con.sql(
            f"""with w as (select * from int_scoring__windows where horizon_hours = 1
                           and window_start >= '{start}' and window_end <= '{end}'),
            t as (select symbol, window_start, side, sum(liquidated_notional) as tq
                  from int_scoring__window_truth_cells where horizon_hours = 1 group by all having tq > 0),
            judged as (select w.*, t.tq from w inner join t using (symbol, window_start, side)),
            bins as (select judged.*, unnest(range(low_bin, high_bin + 1)) as score_bin from judged),
            models as (select unnest({models!r}) as model)
            select bins.window_start, bins.side, bins.tq, bins.score_bin, models.model,
                   coalesce(m.live_notional, 0) as mv, coalesce(tc.liquidated_notional, 0) as tv
            from bins cross join models
            left join int_scoring__window_map_cells as m
                on m.symbol = bins.symbol and m.window_start = bins.window_start and m.side = bins.side
                and m.horizon_hours = 1 and m.score_bin = bins.score_bin and m.model = models.model
            left join int_scoring__window_truth_cells as tc
                on tc.symbol = bins.symbol and tc.window_start = bins.window_start and tc.side = bins.side
                and tc.horizon_hours = 1 and tc.score_bin = bins.score_bin"""
        ).df()
        keys = ["model", "window_start", "side"]
        group = frame.groupby(keys)
        frame["n"] = group["score_bin"].transform("count")
        mass = group["mv"].transform("sum")
        frame["p"] = np.where(mass > 0, frame["mv"] / mass.where(mass > 0, 1.0), 1.0 / frame["n"])
        frame["q"] = frame["tv"] / group["tv"].transform("sum")
        scores = {}
        for a in np.round(np.arange(0.0, 1.0001, 0.1), 1):
            frame["x"] = np.minimum((1 - a) * frame["p"] + a / frame["n"], frame["q"])
            per = frame.groupby(keys).agg(overlap=("x", "sum"), tq=("tq", "first")).reset_index()
            per["wo"] = per["overlap"] * per["tq"]
            sums = per.groupby("model")[["wo", "tq"]].sum()
            scores[float(a)] = (sums["wo"] / sums["tq"]).to_dict()
        per_period[period] = scores
    out = {}
    for model in models:
        train = per_period.get("train", {})
        if not train:
            continue
        best = max(train, key=lambda a: train[a].get(model, float("-inf")))
        out[model] = (
            best,
            {period: scores[best].get(model, float("nan")) for period, scores in per_period.items()},
        )
    return out


def _smoothing(con) -> dict | None:
    """The build's distance smoothing of the model maps (dim_map_smoothing), None when off."""
    row = con.sql("select rate, min_bins, max_bins from dim_map_smoothing").fetchone()
    if row is None or not row[0]:
        return None
    rate, min_bins, max_bins = row
    return {"rate": rate, "min_sigma": min_bins, "max_sigma": np.inf if max_bins is None else max_bins}


def ceiling(warehouse: Path) -> list[dict]:
    con = duckdb.connect(str(working_database(warehouse)), read_only=True)
    timeline = con.sql(
        "select bucket_index, bucket_start, coalesce(reach_low, low) as low, "
        "coalesce(reach_high, high) as high from int_buckets__timeline order by bucket_index"
    ).df()
    index_of = dict(zip(timeline["bucket_start"], timeline["bucket_index"], strict=True))
    smoothing = _smoothing(con)
    lows = _sparse_tables(timeline["low"].to_numpy(), np.minimum)
    highs = _sparse_tables(timeline["high"].to_numpy(), np.maximum)
    scores = con.sql(
        "select period, model, value from fct_model_scores where metric = 'overlap' and side = 'all' "
        "and horizon_hours = 1 and window_id = 1"
    ).df()
    out = []
    spans = {}
    for period in ("train", "test"):
        span = con.sql(
            "select period_start, period_end from int_scoring__periods "
            f"where period = '{period}' and window_id = 1"
        ).fetchone()
        if span is None:
            continue
        start, end = span
        spans[period] = span
        con.sql(
            f"""create or replace temp table judged as
            with w as (select * from int_scoring__windows where horizon_hours = 1
                       and window_start >= '{start}' and window_end <= '{end}'),
            t as (select symbol, window_start, side, sum(liquidated_notional) as tq
                  from int_scoring__window_truth_cells where horizon_hours = 1 group by all having tq > 0)
            select w.*, t.tq from w inner join t using (symbol, window_start, side)"""
        )
        windows = con.sql(
            "select side, window_start, low_bin, high_bin, start_price, score_bin_size, tq from judged"
        ).df()
        truth = (
            con.sql(
                "select t.side, t.window_start, t.score_bin, t.liquidated_notional from "
                "int_scoring__window_truth_cells as t "
                "inner join judged using (symbol, window_start, side, horizon_hours)"
            )
            .df()
            .groupby(["side", "window_start", "score_bin"])["liquidated_notional"]
            .sum()
        )
        mix = con.sql(
            "select leverage, sum(quantity * entry_price) as v from stg_truth__positions "
            "where trader = 'taker' "
            f"and opened_at >= '{start}' and opened_at < '{end}' group by leverage"
        ).df()
        law = np.zeros(len(LEVERAGES))
        for row in mix.itertuples():
            if 2 <= row.leverage <= 125:
                law[int(row.leverage) - 2] += row.v
        law /= law.sum()
        starts = sorted(windows["window_start"].unique())
        parts: dict[str, list[pd.Series]] = {"oracle": [], "known": [], "snapped": []}
        for first in range(0, len(starts), CHUNK_WINDOWS):
            chunk = starts[first : first + CHUNK_WINDOWS]
            positions = con.sql(
                f"""select judged.side, judged.window_start, judged.score_bin_size,
                       round(p.entry_price / 10) * 10 as entry,
                       time_bucket(interval 5 minute, p.opened_at) as opened_bucket,
                       p.leverage, p.liquidation_price, sum(p.quantity) as quantity
                from judged inner join stg_truth__positions as p
                    on p.symbol = judged.symbol and p.side = judged.side and p.trader = 'taker'
                    and p.opened_at <= judged.window_start
                    and (p.closed_at is null or p.closed_at > judged.window_start)
                where p.liquidation_price > 0
                    and judged.window_start between '{chunk[0]}' and '{chunk[-1]}'
                group by all"""
            ).df()
            for name, series in _maps(positions, law, index_of, lows, highs).items():
                parts[name].append(series)
        oracle, known, snapped = (
            pd.concat(parts[name]).sort_index() for name in ("oracle", "known", "snapped")
        )
        uniform = _overlap(windows, pd.Series(dtype="float64"), truth)
        values = {
            "oracle": _overlap(windows, oracle, truth),
            "known entries, leverage from the mix": _overlap(windows, known, truth),
            "oracle, leverage snapped to the seed's tiers": _overlap(windows, snapped, truth),
            "uniform": uniform,
        }
        if smoothing is not None:
            values["known entries, leverage from the mix, smoothed"] = _overlap(
                windows, known, truth, smoothing
            )
            values["oracle, leverage snapped to the seed's tiers, smoothed"] = _overlap(
                windows, snapped, truth, smoothing
            )
        for model, value in scores[scores["period"] == period][["model", "value"]].itertuples(index=False):
            if model not in ("oracle", "uniform", "proximity"):
                values[f"{model} (fct_model_scores)"] = value
        top = values["oracle"]
        for name, value in values.items():
            out.append(
                {
                    "warehouse": str(warehouse),
                    "period": period,
                    "map": name,
                    "overlap": round(value, 3),
                    "skill": round((value - uniform) / (top - uniform), 2) if top > uniform else float("nan"),
                }
            )
    models = sorted(
        row[0] for row in con.sql("select distinct model from int_scoring__window_map_cells").fetchall()
    )
    uniform = {row["period"]: row for row in out if row["map"] == "uniform"}
    oracle = {row["period"]: row for row in out if row["map"] == "oracle"}
    for model, (a, values) in _flat_mix(con, spans, models).items():
        for period, value in values.items():
            u, top = uniform[period]["overlap"], oracle[period]["overlap"]
            out.append(
                {
                    "warehouse": str(warehouse),
                    "period": period,
                    "map": f"{model} mixed with flat (a = {a:.1f}, fitted on train)",
                    "overlap": round(value, 3),
                    "skill": round((value - u) / (top - u), 2) if top > u else float("nan"),
                }
            )
    con.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("warehouses", nargs="+", type=Path, help="built warehouses of simulated markets")
    args = parser.parse_args()
    rows = []
    for warehouse in args.warehouses:
        rows.extend(ceiling(warehouse))
    frame = pd.DataFrame(rows)
    for warehouse, group in frame.groupby("warehouse", sort=False):
        print(f"## {warehouse}\n")
        table = group.pivot_table(index="map", columns="period", values=["overlap", "skill"], sort=False)
        print(table.to_string())
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
