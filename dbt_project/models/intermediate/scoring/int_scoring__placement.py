"""The path-conditioned placement of every map on every scoring window of each walk-forward test span.

For each complete evaluation window (int_scoring__periods), on its TEST span: every scoring window
[t, t + horizon) x side inside it (int_scoring__windows) that saw true liquidations, and per map its
overlap and emd_pct (python_models.scoring.placement_by_window) with the window's true liquidated
notional as weight. Maps: every variant (int_scoring__window_map_cells), the ensemble (the variants
weighted with the weights of this evaluation window, fct_ensemble_weights: fitted on its train span
only, so out of sample here), the oracle (int_scoring__window_oracle_cells; simulated data only) and
the uniform and proximity references. fct_model_scores averages these rows with the bootstrap.
Every variant's map (so the ensemble's, a weighted sum of them) is first smoothed by distance from
the price at t (python_models.smoothing.smooth_window_cells, vars map_smoothing_*), as the API
serves it; the reference maps are not.

Incremental by evaluation window (delete+insert on window_id): a build computes the windows newly
complete, those whose test span reaches into data ingested since its last load, and those whose
settings or ensemble weights changed. One row with model null marks a window computed without any
judged scoring window (no truth), so it is not recomputed on every build.
"""

import datetime
import json

import numpy as np
import pandas as pd

from python_models.ensemble import ENSEMBLE_MODEL, combine
from python_models.scoring import ORACLE, placement_by_window, reference_cells
from python_models.smoothing import smooth_window_cells, smoothing_settings
from python_models.walk_forward import complete_test_windows, plan_windows, settings_key

CELL_KEYS = ["symbol", "window_start", "horizon_hours", "side", "score_bin"]
WINDOWS = "symbol, window_start, horizon_hours, side, start_price, score_bin_size, low_bin, high_bin"
COLUMNS = [
    "window_id",
    "period_start",
    "period_end",
    "symbol",
    "window_start",
    "horizon_hours",
    "side",
    "model",
    "overlap",
    "emd_pct",
    "weight",
    "_settings",
    "_loaded_at",
]


def _inside(start, end) -> str:
    # window_end = window_start + horizon (the cell tables carry no window_end). The bare bound
    # window_start < end (implied) lets DuckDB skip the row groups after the span: without it a
    # window read every row from its start to the end of the table, all of history in a full build.
    return (
        f"window_start >= '{start}' and window_start < '{end}'"
        f" and window_start + to_hours(cast(horizon_hours as integer)) <= '{end}'"
    )


def _placement(refs, weights: dict, proximity_scale_pct: float, smoothing: dict, start, end) -> pd.DataFrame:
    window_rows, map_cells, oracle_cells, truth_cells = refs
    inside = _inside(start, end)
    windows = window_rows.filter(inside).project(WINDOWS).df()
    cells = map_cells.filter(inside).project(f"{', '.join(CELL_KEYS)}, model, live_notional as value").df()
    oracle = oracle_cells.filter(inside).project(f"{', '.join(CELL_KEYS)}, open_notional as value").df()
    truth = truth_cells.filter(inside).project(f"{', '.join(CELL_KEYS)}, liquidated_notional").df()
    cells = smooth_window_cells(windows, cells, **smoothing)
    frames = {name: cells[cells["model"] == name] for name in weights}
    parts = [cells]
    if weights:
        parts.append(combine(frames, weights, keys=CELL_KEYS, value="value", model=ENSEMBLE_MODEL))
    parts += [oracle.assign(model=ORACLE), reference_cells(windows, proximity_scale_pct=proximity_scale_pct)]
    maps = (
        pd.concat([p for p in parts if not p.empty], ignore_index=True)
        if any(not p.empty for p in parts)
        else cells
    )
    return placement_by_window(windows, maps, truth)


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="window_id",
        on_schema_change="fail",
    )
    proximity_scale_pct = float(json.loads(dbt.config.meta_get("score_proximity_scale_pct")))
    common = {
        "proximity_scale_pct": proximity_scale_pct,
        "horizons": json.loads(dbt.config.meta_get("score_horizons_hours")),
        "bin_multiple": json.loads(dbt.config.meta_get("score_bin_multiple")),
    }
    smoothing = smoothing_settings(json.loads(dbt.config.meta_get("map_smoothing")))
    if smoothing["rate"] > 0:
        # Off (rate 0), the settings key is today's, so no window is recomputed for it.
        common["smoothing"] = sorted(smoothing.items())
    # Every dbt.ref on its own line: dbt finds a Python model's dependencies by reading these calls.
    periods = dbt.ref("int_scoring__periods")
    weight_rows = dbt.ref("fct_ensemble_weights")
    window_rows = dbt.ref("int_scoring__windows")
    map_cells = dbt.ref("int_scoring__window_map_cells")
    oracle_cells = dbt.ref("int_scoring__window_oracle_cells")
    truth_cells = dbt.ref("int_scoring__window_truth_cells")
    manifest = dbt.ref("stg_ingest__manifest")
    per_bucket = dbt.ref("int_trades__per_bucket")
    loaded_at = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    windows = complete_test_windows(periods)
    weights: dict[int, dict[str, float]] = {}
    for window_id, name, weight in weight_rows.project("window_id, model, weight").fetchall():
        weights.setdefault(int(window_id), {})[str(name)] = float(weight)
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
        span_start="period_start",
        span_end="period_end",
        manifest=manifest,
        per_bucket=per_bucket,
    )
    refs = (window_rows, map_cells, oracle_cells, truth_cells)
    spans = {int(w.window_id): (w.period_start, w.period_end) for w in windows.itertuples()}
    parts = []
    for window_id in plan.todo:
        start, end = spans[window_id]
        rows = _placement(refs, weights.get(window_id, {}), proximity_scale_pct, smoothing, start, end)
        if rows.empty:
            rows = pd.DataFrame({"model": [None], "overlap": [np.nan], "emd_pct": [np.nan], "weight": [0.0]})
        rows = rows.assign(
            window_id=window_id, period_start=start, period_end=end, _settings=settings[window_id]
        )
        parts.append(rows.reindex(columns=COLUMNS[:-1]))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS[:-1])
    out["_loaded_at"] = loaded_at
    for column in ("period_start", "period_end", "window_start", "_loaded_at"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
    return out[COLUMNS].astype(
        {
            "window_id": "int32",
            "symbol": "string",
            "horizon_hours": "Int32",
            "side": "string",
            "model": "string",
            "overlap": "float64",
            "emd_pct": "float64",
            "weight": "float64",
            "_settings": "str",
        }
    )
