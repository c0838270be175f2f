"""The learned_leverage model's leverage weights and lifetimes per symbol and evaluation window.

Walk-forward (python_models.walk_forward): window k is fitted on its TRAIN span only
(int_scoring__periods): the true liquidations recorded in it (stg_truth__liquidations, never
truth/positions), the base model's levels reached in it and the timeline's open interest and traded
notional in it (the turnover half-life). Its parameters are in force from the end of that span
(effective_from) for the positions opened until the next window's span ends (int_levels__variants).
Window 0 is the prior in force before the first fit: the base model's seed weights, no decay. Truth
after a window's train span cannot change a row of that window (tests/dbt_python pins it). No
truth: the prior blended as fit_leverage does (the seed weights, the turnover half-life). Method:
python_models/leverage.py and the `learned_leverage` docs block.

One row per window x symbol x leverage x lifetime piece (pieces of every lifetime component the
fit gave the tier weight): the weight the piece carries relative to the base model's level
(`level_factor`) and after how many buckets it closes by itself (`lifetime_buckets`, null = lives
until reached).

Incremental by window (delete+insert on window_id): a build fits the windows that are new, those
whose train span reaches into data ingested since the last build (from the day before its first
event), or all when the settings or the windows changed (python_models.walk_forward).
"""

import datetime
import json
import math

import pandas as pd

from python_models.leverage import (
    basis_from_levels,
    check_multipliers,
    fit_leverage,
    lifetime_pieces,
    turnover_half_life_hours,
)
from python_models.walk_forward import PRIOR_WINDOW, plan_windows, settings_key

MODEL = "learned_leverage"
COLUMNS = [
    "window_id",
    "symbol",
    "model",
    "base_model",
    "leverage",
    "piece",
    "lifetime_multiplier",
    "lifetime_buckets",
    "level_factor",
    "weight",
    "prior_weight",
    "fitted_weight",
    "half_life_hours",
    "turnover_half_life_hours",
    "truth_count",
    "blend",
    "identifiable",
    "fitted_from",
    "fitted_to",
    "effective_from",
    "_settings",
    "_loaded_at",
]


def _fit_window(context, window_id, start, end):
    """Rows of one window: fitted on [start, end), or the prior (window 0, start None)."""
    levels, truth_rows, timeline, symbols, prior, base = context["refs"]
    prior_strength, opening_share, pieces, bucket_minutes, multipliers = context["settings"]
    rows = []
    for (symbol,) in sorted(symbols.project("symbol").fetchall()):
        quoted = "'" + symbol.replace("'", "''") + "'"
        half_life = math.inf
        truth = pd.DataFrame(columns=["side", "hour", "notional"])
        reached = pd.DataFrame()
        if start is not None:

            def window(column, quoted=quoted):
                return f"symbol = {quoted} and {column} >= '{start}' and {column} < '{end}'"

            oi, traded, buckets = (
                timeline.filter(window("bucket_start"))
                .aggregate("avg(open_interest * close), sum(notional), count(*)")
                .fetchone()
            )
            if buckets:
                hours = buckets * bucket_minutes / 60
                half_life = turnover_half_life_hours(oi or 0.0, (traded or 0.0) / hours, opening_share)
            truth = (
                truth_rows.filter(window("liquidated_at"))
                .project(
                    "position_side as side, date_trunc('hour', liquidated_at) as hour,"
                    " fill_notional as notional"
                )
                .df()
            )
            reached = (
                levels.filter(window("reached_at") + f" and model = '{base}' and is_reached")
                .project("symbol, side, leverage, opened_at, reached_at, liquidated_notional")
                .df()
            )
        basis = basis_from_levels(reached, prior, {symbol: half_life}, pieces, bucket_minutes, multipliers)
        fitted = fit_leverage(basis, truth, prior, half_life, prior_strength, multipliers)
        for tier in fitted.itertuples():
            # Each lifetime component of the tier (its share of the weight at half-life
            # turnover half-life x multiplier), cut into the pieces the fit scored it with.
            parts = [
                (multiplier, weight, share, lifetime)
                for multiplier, weight in tier.components
                for share, lifetime in lifetime_pieces(half_life * multiplier, pieces, bucket_minutes)
            ]
            for number, (multiplier, weight, share, lifetime) in enumerate(parts, 1):
                rows.append(
                    (
                        window_id,
                        symbol,
                        MODEL,
                        base,
                        int(tier.leverage),
                        number,
                        float(multiplier),
                        lifetime,
                        weight * share / prior[tier.leverage],
                        tier.weight,
                        tier.prior_weight,
                        tier.fitted_weight,
                        tier.half_life_hours if math.isfinite(tier.half_life_hours) else None,
                        half_life if math.isfinite(half_life) else None,
                        int(tier.truth_count),
                        float(tier.blend),
                        bool(tier.identifiable),
                        start,
                        end,
                        end,
                    )
                )
    return rows


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="window_id",
        on_schema_change="fail",
    )
    base = str(json.loads(dbt.config.meta_get("learned_leverage_base_model")))
    prior_strength = float(json.loads(dbt.config.meta_get("learned_leverage_prior_strength")))
    opening_share = float(json.loads(dbt.config.meta_get("turnover_opening_share")))
    pieces = int(json.loads(dbt.config.meta_get("learned_lifetime_pieces")))
    multipliers = check_multipliers(json.loads(dbt.config.meta_get("learned_lifetime_multipliers")))
    bucket_minutes = int(json.loads(dbt.config.meta_get("bucket_minutes")))
    # Every dbt.ref on its own line: dbt finds a Python model's dependencies by reading these calls.
    periods = dbt.ref("int_scoring__periods")
    levels = dbt.ref("int_levels__with_lifecycle")
    seed = dbt.ref("leverage_weights")
    truth_rows = dbt.ref("stg_truth__liquidations")
    timeline = dbt.ref("int_buckets__timeline")
    symbols = dbt.ref("int_symbols__settings")
    manifest = dbt.ref("stg_ingest__manifest")
    per_bucket = dbt.ref("int_trades__per_bucket")
    loaded_at = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    prior = {
        int(lev): float(w)
        for lev, w in seed.filter(f"model = '{base}'").project("leverage, weight").fetchall()
    }
    if not prior:
        raise ValueError(f"var learned_leverage_base_model = {base!r} has no rows in seed leverage_weights")
    settings = settings_key(
        {
            "base": base,
            "prior_strength": prior_strength,
            "opening_share": opening_share,
            "pieces": pieces,
            "multipliers": [str(m) for m in multipliers],
            "bucket_minutes": bucket_minutes,
            "prior": sorted(prior.items()),
        }
    )
    windows = (
        periods.filter("period = 'train'")
        .project("window_id, period_start as fitted_from, period_end as fitted_to")
        .order("window_id")
        .df()
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
    context = {
        "refs": (levels, truth_rows, timeline, symbols, prior, base),
        "settings": (prior_strength, opening_share, pieces, bucket_minutes, multipliers),
    }
    rows = []
    if plan.fresh:
        rows += _fit_window(context, PRIOR_WINDOW, None, None)
    spans = {int(w.window_id): (w.fitted_from, w.fitted_to) for w in windows.itertuples()}
    for window_id in plan.todo:
        rows += _fit_window(context, window_id, *spans[window_id])
    out = pd.DataFrame(rows, columns=COLUMNS[:-2])
    out["_settings"] = settings
    out["_loaded_at"] = loaded_at
    for column in ("fitted_from", "fitted_to", "effective_from", "_loaded_at"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
    return out.astype(
        {
            "window_id": "int32",
            "lifetime_buckets": "Int64",
            "half_life_hours": "float64",
            "turnover_half_life_hours": "float64",
            "leverage": "int32",
            "piece": "int32",
            "truth_count": "int64",
            "symbol": "str",
            "model": "str",
            "base_model": "str",
            "lifetime_multiplier": "float64",
            "level_factor": "float64",
            "weight": "float64",
            "prior_weight": "float64",
            "fitted_weight": "float64",
            "blend": "float64",
            "identifiable": "bool",
            "_settings": "str",
        }
    )
