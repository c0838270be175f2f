"""The learned_leverage model's leverage weights and lifetimes per symbol, fitted on the TRAIN period.

Reads only the train period (int_scoring__periods): the true liquidations recorded in it
(stg_truth__liquidations, never truth/positions), the base model's levels reached in it and the
timeline's open interest and traded notional in it (the turnover half-life). Test-period truth cannot
change a row here (tests/dbt_python pins it). No train period or no truth: the prior (the base
model's seed weights, the turnover half-life). Method: python_models/leverage.py and the
`learned_leverage` docs block.

One row per symbol x leverage x lifetime piece (pieces of every lifetime component the fit gave the
tier weight): the weight the piece carries relative to the base model's level (`level_factor`) and
after how many buckets it closes by itself (`lifetime_buckets`, null = lives until reached).
"""

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

MODEL = "learned_leverage"
COLUMNS = [
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
]


def model(dbt, session):
    dbt.config(materialized="table")
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

    prior = {
        int(lev): float(w)
        for lev, w in seed.filter(f"model = '{base}'").project("leverage, weight").fetchall()
    }
    if not prior:
        raise ValueError(f"var learned_leverage_base_model = {base!r} has no rows in seed leverage_weights")
    train = periods.filter("period = 'train'").project("period_start, period_end").fetchall()
    start, end = train[0] if train else (None, None)
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
                    )
                )
    out = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("fitted_from", "fitted_to"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
    return out.astype(
        {
            "lifetime_buckets": "Int64",
            "half_life_hours": "float64",
            "turnover_half_life_hours": "float64",
            "leverage": "int32",
            "piece": "int32",
            "truth_count": "int64",
        }
    )
