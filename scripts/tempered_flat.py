"""Would tempering the maps with a flat map help on held-out days? A diagnostic on a built warehouse.

For every complete walk-forward window of the warehouse (int_scoring__periods), on its TRAIN span
only: the reach (python_models.ensemble.reach_pct: the largest 1 h excursion (--quantile 1.0) of the
train span, per side) and the flat share a (fit_temper: the bagged fit of the ensemble's weights,
on the map and its flat map). Then on its TEST span: the map tempered with that a and that reach,
(1 - a) x map + a x flat, where flat spreads the map's live notional within reach of the price at
t evenly over the reach bins (flat_cells). Every input of the tempered map at t is known at t (the
map at t, the price at t, a reach and a share fitted before t), so it could be served.

Prints, per map (the ensemble as built and every variant) and horizon, the pooled test skill
untempered and tempered, with the fitted a per window:

    uv run python scripts/tempered_flat.py <warehouse.duckdb> [--quantile 0.9]

Reads the working database (liquidationheatmap.publish.working_database) read-only; reads
truth/positions only through the oracle cells, as the scoring does (for the skill's denominator).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liquidationheatmap.publish import working_database
from python_models.ensemble import (
    ENSEMBLE_MODEL,
    TEMPERED_SUFFIX,
    combine,
    fit_temper,
    flat_cells,
    reach_bins,
    reach_mass,
    reach_pct,
)
from python_models.scoring import ORACLE, placement_by_window, reference_cells, summarise_placement

KEYS = ["symbol", "window_start", "horizon_hours", "side", "score_bin"]
FUTURE = "ensemble_flat_on_traversed_bins"
WINDOWS = "symbol, window_start, horizon_hours, side, start_price, score_bin_size, low_bin, high_bin"


def _inside(start, end) -> str:
    return f"window_start >= '{start}' and window_start + to_hours(cast(horizon_hours as integer)) <= '{end}'"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--quantile", type=float, default=1.0, help="reach quantile of the train excursions")
    args = parser.parse_args()
    con = duckdb.connect(str(working_database(args.warehouse)), read_only=True)
    bucket_minutes = 5
    periods = con.sql("select * from int_scoring__periods where is_complete order by window_id").df()
    weights = {}
    for w, m, x in con.sql("select window_id, model, weight from fct_ensemble_weights").fetchall():
        weights.setdefault(int(w), {})[m] = x
    rows, fitted = [], []
    for window_id, group in periods.groupby("window_id"):
        spans = {p.period: (p.period_start, p.period_end) for p in group.itertuples()}
        shares = {}
        reach = None
        for period in ("train", "test"):
            start, end = spans[period]
            inside = _inside(start, end)
            windows = con.sql(f"select {WINDOWS} from int_scoring__windows where {inside}").df()
            cells = con.sql(
                f"select {', '.join(KEYS)}, model, live_notional as value "
                f"from int_scoring__window_map_cells where {inside}"
            ).df()
            truth = con.sql(
                f"select {', '.join(KEYS)}, liquidated_notional"
                f" from int_scoring__window_truth_cells where {inside}"
            ).df()
            w = weights[int(window_id)]
            maps = {name: cells[cells["model"] == name] for name in w}
            ensemble = combine(maps, w, keys=KEYS, value="value", model=ENSEMBLE_MODEL)
            if period == "train":
                reach = reach_pct(windows, quantile=args.quantile)
            bins = reach_bins(windows, reach)
            mass = reach_mass(
                con,
                con.table("int_scoring__live_notional_per_bucket"),
                con.table("int_symbols__settings"),
                bins,
                bucket_minutes=bucket_minutes,
            )
            mine = mass[mass["model"].isin(list(w))]
            mass_ens = (
                mine.assign(value=mine["value"] * mine["model"].map(w))
                .groupby(["symbol", "window_start", "side"], as_index=False)["value"]
                .sum()
            )
            candidates = {name: cells[cells["model"] == name] for name in w} | {ENSEMBLE_MODEL: ensemble}
            masses = {name: mass[mass["model"] == name] for name in w} | {ENSEMBLE_MODEL: mass_ens}
            out = []
            for name, map_cells in candidates.items():
                flat = flat_cells(windows, bins, masses[name])
                if period == "train":
                    one_h = windows[windows["horizon_hours"] == windows["horizon_hours"].min()]
                    shares[name] = fit_temper(one_h, map_cells, flat, truth)
                a = shares[name]
                tempered = combine(
                    {"m": map_cells, "f": flat},
                    {"m": 1 - a, "f": a} if 0 < a < 1 else ({"m": 1, "f": 0} if a == 0 else {"m": 0, "f": 1}),
                    keys=KEYS,
                    value="value",
                    model=name + TEMPERED_SUFFIX,
                )
                out += [map_cells.assign(model=name), tempered]
            # For comparison, not servable: the ensemble normalised on the traversed bins (which
            # only the future path gives) mixed with the flat map on them, a fitted on train.
            normalised = ensemble.assign(
                value=ensemble["value"] / ensemble.groupby(KEYS[:4])["value"].transform("sum")
            )
            uniform = reference_cells(windows, proximity_scale_pct=0.5)
            uniform = uniform[uniform["model"] == "uniform"]
            uniform = uniform.assign(value=1 / uniform.groupby(KEYS[:4])["value"].transform("count"))
            if period == "train":
                one_h = windows[windows["horizon_hours"] == windows["horizon_hours"].min()]
                shares[FUTURE] = fit_temper(one_h, normalised, uniform, truth)
            a = shares[FUTURE]
            out.append(
                combine(
                    {"m": normalised, "f": uniform},
                    {"m": 1 - a, "f": a} if a < 1 else {"m": 0, "f": 1},
                    keys=KEYS,
                    value="value",
                    model=FUTURE,
                )
            )
            if period == "test":
                oracle = con.sql(
                    f"select {', '.join(KEYS)}, open_notional as value"
                    f" from int_scoring__window_oracle_cells where {inside}"
                ).df()
                maps_all = pd.concat(
                    [*out, oracle.assign(model=ORACLE), reference_cells(windows, proximity_scale_pct=0.5)],
                    ignore_index=True,
                )
                rows.append(placement_by_window(windows, maps_all, truth))
        fitted.append((int(window_id), {k: round(v, 2) for k, v in shares.items()}, reach))
    per_window = pd.concat(rows, ignore_index=True)
    start = periods[periods["period"] == "test"]["period_start"].min()
    end = periods[periods["period"] == "test"]["period_end"].max()
    summary = summarise_placement(per_window, {"test": (start, end)})
    table = summary[(summary["side"] == "all") & (summary["metric"] == "skill")]
    for window_id, shares, reach in fitted:
        print(f"window {window_id}: a = {shares}; reach % = { {k: round(v, 3) for k, v in reach.items()} }")
    for horizon in sorted(table["horizon_hours"].unique()):
        t = table[table["horizon_hours"] == horizon].set_index("model")["value"]
        names = [n for n in t.index if not n.endswith(TEMPERED_SUFFIX) and n + TEMPERED_SUFFIX in t.index]
        line = ", ".join(f"{n} {t[n]:.3f} -> {t[n + TEMPERED_SUFFIX]:.3f}" for n in names)
        print(f"test skill {horizon} h pooled (model -> tempered): {line}")
        print(f"  (not servable: the ensemble mixed flat on the traversed bins {t[FUTURE]:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
