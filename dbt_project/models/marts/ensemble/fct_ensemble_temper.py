"""How much the ensemble is tempered with a flat map, per evaluation window: the flat share and reach.

The tempered ensemble (`ensemble_tempered`, scored in int_scoring__placement) at time t is

    (1 - a) x E_t + a x F_t,

E_t = the ensemble's map at t (the variants with the weights of fct_ensemble_weights), F_t = E_t's
live notional on the bins within reach of the price at t spread evenly over those bins
(python_models.ensemble.flat_cells; longs: from the price down by the reach, shorts up). The reach
(reach_pct, % of price, per symbol and side) is the var ensemble_temper_reach_quantile quantile of
how far price went within 1 h in the window's TRAIN span (1.0: the largest excursion); a =
flat_share is fitted on the same train span (fit_temper: the bagged fit of the ensemble weights on
E and F at 1 h, held at the better of a = 0 and a = 1 unless a mix beats both robustly). So every
input of the tempered map at t is known at t: the map at t, the price at t and parameters fitted
before t; it is a map that could be served, unlike a flat map on the bins the future path
traversed (docs/model_accuracy.md). Window 0 (in force before the first fit): a = 0, no reach.

One row per window x symbol x side. Incremental by window (delete+insert on window_id,
python_models.walk_forward.plan_windows): a build fits the windows that are new, those whose train
span reaches into data ingested since its last load, and those whose ensemble weights or settings
changed.
"""

import datetime
import json

import pandas as pd

from python_models.ensemble import (
    ENSEMBLE_MODEL,
    combine,
    fit_temper,
    flat_cells,
    reach_bins,
    reach_mass,
    reach_pct,
)
from python_models.walk_forward import PRIOR_WINDOW, plan_windows, settings_key

COLUMNS = [
    "window_id",
    "symbol",
    "side",
    "flat_share",
    "reach_pct",
    "fitted_from",
    "fitted_to",
    "fit_truth_notional",
    "_settings",
    "_loaded_at",
]
KEYS = ["symbol", "window_start", "horizon_hours", "side", "score_bin"]
WINDOWS = "symbol, window_start, horizon_hours, side, start_price, score_bin_size, low_bin, high_bin"


def _inside(start, end) -> str:
    # window_end = window_start + horizon (the cell tables carry no window_end).
    return f"window_start >= '{start}' and window_start + to_hours(cast(horizon_hours as integer)) <= '{end}'"


def ensemble_and_flat(session, refs, weights: dict, windows: pd.DataFrame, reach: dict, options: dict):
    """(the ensemble's cells, its flat cells) on ``windows`` (all inside one span), for ``reach``."""
    map_cells, live, symbols = refs
    if windows.empty or not weights:
        empty = pd.DataFrame(columns=[*KEYS[:4], "model", "score_bin", "value"])
        return empty, empty
    first, last = windows["window_start"].min(), windows["window_start"].max()
    horizons = ", ".join(str(int(h)) for h in sorted(windows["horizon_hours"].unique()))
    cells = (
        map_cells.filter(f"window_start between '{first}' and '{last}' and horizon_hours in ({horizons})")
        .project(f"{', '.join(KEYS)}, model, live_notional as value")
        .df()
    )
    keys = ["symbol", "window_start", "horizon_hours", "side"]
    cells = cells.merge(windows[keys], on=keys, how="inner")
    ensemble = combine(
        {name: cells[cells["model"] == name] for name in weights},
        weights,
        keys=KEYS,
        value="value",
        model=ENSEMBLE_MODEL,
    )
    bins = reach_bins(windows, reach)
    mass = reach_mass(session, live, symbols, bins, **options)
    mass = mass[mass["model"].isin(list(weights))]
    mass = (
        mass.assign(value=mass["value"] * mass["model"].map(weights))
        .groupby(["symbol", "window_start", "side"], as_index=False)["value"]
        .sum()
    )
    return ensemble, flat_cells(windows, bins, mass)


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="window_id",
        on_schema_change="fail",
    )
    quantile = float(json.loads(dbt.config.meta_get("ensemble_temper_reach_quantile")))
    step = float(json.loads(dbt.config.meta_get("ensemble_fit_step")))
    bucket_minutes = int(json.loads(dbt.config.meta_get("bucket_minutes")))
    bin_multiple = int(json.loads(dbt.config.meta_get("score_bin_multiple")))
    # Every dbt.ref on its own line: dbt finds a Python model's dependencies by reading these calls.
    periods = dbt.ref("int_scoring__periods")
    weight_rows = dbt.ref("fct_ensemble_weights")
    window_rows = dbt.ref("int_scoring__windows")
    map_cells = dbt.ref("int_scoring__window_map_cells")
    truth_cells = dbt.ref("int_scoring__window_truth_cells")
    live = dbt.ref("int_scoring__live_notional_per_bucket")
    symbols = dbt.ref("int_symbols__settings")
    manifest = dbt.ref("stg_ingest__manifest")
    per_bucket = dbt.ref("int_trades__per_bucket")
    loaded_at = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    if not 0 < quantile <= 1:
        raise ValueError(f"var ensemble_temper_reach_quantile must be in (0, 1]; got {quantile}")
    windows = (
        periods.filter("period = 'train'")
        .project("window_id, period_start as fitted_from, period_end as fitted_to")
        .order("window_id")
        .df()
    )
    weights: dict[int, dict[str, float]] = {}
    for window_id, name, weight in weight_rows.project("window_id, model, weight").fetchall():
        weights.setdefault(int(window_id), {})[str(name)] = float(weight)
    common = {"quantile": quantile, "step": step, "bucket_minutes": bucket_minutes, "bins": bin_multiple}
    settings = {
        int(w): settings_key({**common, "weights": sorted(weights.get(int(w), {}).items())})
        for w in windows["window_id"]
    }
    plan = plan_windows(
        session,
        dbt.this,
        windows,
        is_incremental=dbt.is_incremental,
        settings=settings,
        span_start="fitted_from",
        span_end="fitted_to",
        manifest=manifest,
        per_bucket=per_bucket,
        exclude=("positions",),
        window_zero="prior",
    )
    sides = [(s, side) for (s,) in sorted(symbols.project("symbol").fetchall()) for side in ("long", "short")]
    rows = []
    if plan.fresh:
        rows += [
            (PRIOR_WINDOW, s, side, 0.0, None, None, None, None, settings_key(common)) for s, side in sides
        ]
    spans = {int(w.window_id): (w.fitted_from, w.fitted_to) for w in windows.itertuples()}
    refs = (map_cells, live, symbols)
    options = {"bucket_minutes": bucket_minutes, "bin_multiple": bin_multiple}
    for window_id in plan.todo:
        start, end = spans[window_id]
        # The train span's 1 h windows (the fit's horizon) and their truth only.
        train = window_rows.filter(_inside(start, end)).project(WINDOWS).df()
        train = train[train["horizon_hours"] == train["horizon_hours"].min()] if len(train) else train
        truth = (
            truth_cells.filter(_inside(start, end))
            .project(f"{', '.join(KEYS)}, liquidated_notional")
            .df()
            .merge(train[["symbol", "window_start", "horizon_hours", "side"]], how="inner")
        )
        reach = reach_pct(train, quantile=quantile) if len(train) else {}
        ensemble, flat = ensemble_and_flat(session, refs, weights.get(window_id, {}), train, reach, options)
        share = fit_temper(train, ensemble, flat, truth, step=step) if len(train) else 0.0
        judged = float(truth["liquidated_notional"].sum())
        for s, side in sides:
            rows.append(
                (window_id, s, side, share, reach.get((s, side)), start, end, judged, settings[window_id])
            )
    out = pd.DataFrame(rows, columns=COLUMNS[:-1])
    out["_loaded_at"] = loaded_at
    for column in ("fitted_from", "fitted_to", "_loaded_at"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
    return out[COLUMNS].astype(
        {
            "window_id": "int32",
            "symbol": "str",
            "side": "str",
            "flat_share": "float64",
            "reach_pct": "float64",
            "fit_truth_notional": "float64",
            "_settings": "str",
        }
    )
