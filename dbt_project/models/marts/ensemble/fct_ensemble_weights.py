"""The weights the ensemble is built with, per evaluation window and model variant, and their source.

Walk-forward (python_models.walk_forward): window k's weights are fitted on its TRAIN span only and
are in force from its end (fitted_to) until the next window's train span ends; window 0 holds the
weights in force before the first fit (the seed, or the var). weight_source:
- `var`: the `ensemble_weights` var ({model: weight}) given to the build (every window);
- `fitted`: python_models.ensemble.fit_weights on the window's train span: the scoring windows
  [t, t + horizon) that lie inside it (int_scoring__windows), the variants' maps at t
  (int_scoring__window_map_cells, smoothed by distance as int_scoring__placement scores them:
  python_models.smoothing.smooth_window_cells) and the true liquidations of those windows
  (int_scoring__window_truth_cells), maximising the path-conditioned overlap at the shortest
  horizon: the grid argmax is bagged over 200 day-block bootstrap resamples of the train days (the
  mean of the resamples' argmaxes), and the bagged mix is kept only when it is at least as good as
  the best single variant on the whole train span and in at least half of the resamples, otherwise
  that variant gets weight 1 (the fallback; on one train day the plain argmax). Nothing after the
  train span is read, so the window's test scores are out of sample;
- `seed`: the `ensemble_weights` seed, when it has a row for every variant;
- `equal`: equal weights, when the seed does not know every variant (a new variant).
`ensemble_weights_source` = auto fits when the train span holds judged true liquidations, else
uses the seed; `fit` always fits (equal weights when nothing is judged); `seed` never fits.

Incremental by window (delete+insert on window_id): a build fits the windows that are new, those
whose train span reaches into data ingested since the last build, or all of them when the settings
or the windows changed.
"""

import datetime
import json

import pandas as pd

from python_models.ensemble import fit_weights, grid_step, normalise_weights
from python_models.smoothing import smooth_window_cells, smoothing_settings
from python_models.walk_forward import PRIOR_WINDOW, plan_windows, settings_key

COLUMNS = [
    "window_id",
    "model",
    "weight",
    "weight_source",
    "fitted_from",
    "fitted_to",
    "fit_truth_notional",
    "fit_step",
    "_settings",
    "_loaded_at",
]
SOURCES = ("auto", "fit", "seed")
CELLS = "symbol, window_start, horizon_hours, side, model, score_bin, live_notional as value"
TRUTH = "symbol, window_start, horizon_hours, side, score_bin, liquidated_notional"
WINDOWS = "symbol, window_start, horizon_hours, side, start_price, score_bin_size, low_bin, high_bin"


def _inside(start, end) -> str:
    # window_end = window_start + horizon (the cell tables carry no window_end). The bare bound
    # window_start < end (implied) lets DuckDB skip the row groups after the span: without it a
    # window read every row from its start to the end of the table, all of history in a full build.
    return (
        f"window_start >= '{start}' and window_start < '{end}'"
        f" and window_start + to_hours(cast(horizon_hours as integer)) <= '{end}'"
    )


def _within(frame: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` that belong to one of ``windows``."""
    keys = ["symbol", "window_start", "horizon_hours", "side"]
    return frame.merge(windows[keys].drop_duplicates(), on=keys, how="inner")


def _seeded(seed: pd.DataFrame, models: list[str]) -> tuple[dict, str]:
    if set(models) <= set(seed["model"]):
        chosen = seed[seed["model"].isin(models)]
        return normalise_weights(dict(zip(chosen["model"], chosen["weight"], strict=True)), models), "seed"
    return normalise_weights({name: 1.0 for name in models}, models), "equal"


def _fitted(refs, models, source, step, smoothing, start, end):
    """(weights, origin, truth notional, step) of the window trained on [start, end)."""
    window_rows, map_cells, truth_cells, seed = refs
    windows = window_rows.filter(_inside(start, end)).project(WINDOWS).df()
    # Truth of windows outside the train span is dropped before anything uses it.
    truth = _within(truth_cells.filter(_inside(start, end)).project(TRUTH).df(), windows)
    if source == "seed" or (source == "auto" and truth.empty):
        return (*_seeded(seed, models), None, float("nan"))
    cells = _within(map_cells.filter(_inside(start, end)).project(CELLS).df(), windows)
    if cells.empty:
        weights = {name: 1.0 for name in models}
        return normalise_weights(weights, models), "fitted", float(truth["liquidated_notional"].sum()), step
    if smoothing["rate"] > 0:
        # fit_weights reads the shortest horizon only: smooth just those maps.
        shortest = cells[cells["horizon_hours"] == windows["horizon_hours"].min()]
        cells = smooth_window_cells(windows, shortest, **smoothing)
    fitted = fit_weights(windows, cells, truth, step=step)
    # A variant with no cell in the train windows gets weight 0.
    weights = {name: float(fitted.get(name, 0.0)) for name in models}
    if sum(weights.values()) <= 0:
        weights = {name: 1.0 for name in models}
    used_step = grid_step(len(fitted), step)
    return normalise_weights(weights, models), "fitted", float(truth["liquidated_notional"].sum()), used_step


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="window_id",
        on_schema_change="fail",
    )
    source = json.loads(dbt.config.meta_get("ensemble_weights_source"))
    override = json.loads(dbt.config.meta_get("ensemble_weights"))
    step = float(json.loads(dbt.config.meta_get("ensemble_fit_step")))
    smoothing = smoothing_settings(json.loads(dbt.config.meta_get("map_smoothing")))
    if source not in SOURCES:
        raise ValueError(f"var ensemble_weights_source must be one of {SOURCES}; got {source!r}")

    # Every dbt.ref on its own line: dbt finds a Python model's dependencies by reading these calls.
    heatmap = dbt.ref("int_scoring__live_notional_per_bucket")
    levels = dbt.ref("fct_liquidation_levels")
    seed = dbt.ref("ensemble_weights").df()
    periods = dbt.ref("int_scoring__periods")
    window_rows = dbt.ref("int_scoring__windows")
    map_cells = dbt.ref("int_scoring__window_map_cells")
    truth_cells = dbt.ref("int_scoring__window_truth_cells")
    manifest = dbt.ref("stg_ingest__manifest")
    per_bucket = dbt.ref("int_trades__per_bucket")
    loaded_at = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    models = sorted(
        {row[0] for row in levels.project("model").distinct().fetchall()}
        | {row[0] for row in heatmap.project("model").distinct().fetchall()}
    )
    if not models:
        return _typed(pd.DataFrame(columns=COLUMNS))
    settings = settings_key(
        {
            "source": source,
            "override": override,
            "step": step,
            "models": models,
            "seed": sorted(map(tuple, seed[["model", "weight"]].itertuples(index=False))),
            # Off (rate 0), the settings key is today's.
            **({"smoothing": sorted(smoothing.items())} if smoothing["rate"] > 0 else {}),
        }
    )
    windows = (
        periods.filter("period = 'train'")
        .project("window_id, period_start as fitted_from, period_end as fitted_to")
        .order("window_id")
        .df()
    )
    if source == "fit" and windows.empty and not override:
        raise ValueError(
            "ensemble_weights_source = fit needs a train span (int_scoring__periods is empty: the built "
            "range is shorter than one score_window_train_days)"
        )
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
    spans = {int(w.window_id): (w.fitted_from, w.fitted_to) for w in windows.itertuples()}
    rows = []
    for window_id in ([PRIOR_WINDOW] if plan.fresh else []) + plan.todo:
        # The window's train span (null for the prior), whatever the weights came from.
        start, end = spans.get(window_id, (None, None))
        truth_notional = None
        used_step = float("nan")
        if override:
            weights, origin = (
                normalise_weights({str(k): float(v) for k, v in override.items()}, models),
                "var",
            )
        elif window_id == PRIOR_WINDOW:
            weights, origin = _seeded(seed, models)
        else:
            refs = (window_rows, map_cells, truth_cells, seed)
            weights, origin, truth_notional, used_step = _fitted(
                refs, models, source, step, smoothing, start, end
            )
        for name in models:
            rows.append(
                (window_id, name, float(weights[name]), origin, start, end, truth_notional, used_step)
            )
    out = pd.DataFrame(rows, columns=COLUMNS[:-2])
    out["_settings"] = settings
    out["_loaded_at"] = loaded_at
    return _typed(out)


def _typed(out: pd.DataFrame) -> pd.DataFrame:
    out = out[COLUMNS].copy()
    for column in ("fitted_from", "fitted_to", "_loaded_at"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
    return out.astype(
        {
            "window_id": "int32",
            "model": "str",
            "weight": "float64",
            "weight_source": "str",
            "fit_truth_notional": "float64",
            "fit_step": "float64",
            "_settings": "str",
        }
    )
