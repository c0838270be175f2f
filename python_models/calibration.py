"""How much: a notional scale per symbol, model and walk-forward window, learned from recorded liquidations.

The models place positions from open-interest rises and say where they would be liquidated; how
much notional that is depends on what they cannot see (how many of the opened positions are
leveraged takers at all, how much closes before it is reached). So "how much" is calibrated
separately from "where": for window k, on its TRAIN span only,

    raw_k   = true liquidated notional / the model's predicted liquidated notional (unscaled)
    w_k     = n_eff / (n_eff + n0)                    n_eff = (Σ x)² / Σ x² of the true notionals x
    scale_k = exp(w_k × ln raw_k)                     (shrunk toward 1 in log space)

n0 = var ``calibration_prior_count`` (how many effective liquidations weigh as much as the prior
"the model's total is right", scale 1). n_eff is Kish's effective number of the true liquidations,
not their count: liquidated notional is dominated by its largest liquidations (sizes are
heavy-tailed), so a span with 500 liquidations of which two carry most of the notional says about
as much about the total as a few. No truth, no prediction or either total 0: scale 1. The
ensemble gets its own scale, true ÷ Σ_m w_k,m × predicted_m on the same span with window k's
weights (the weights were fitted on the unscaled maps they mix: scaling the members would change
the mix and its placement; a scale on the whole keeps both). Window k's scale is in force from the
end of its train span until the next window's train span ends (``in_force_scale_spans``), window
0 (scale 1) before the first fit; a scale multiplies every notional of a (symbol, model) at one
time by one number, so no placement score (normalised) changes. Definitions: docs/model_scoring.md
("How much: the notional scale").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from python_models.ensemble import ENSEMBLE_MODEL
from python_models.walk_forward import bound_literal, in_force_spans

SCALE_COLUMNS = [
    "symbol",
    "model",
    "predicted_notional",
    "true_notional",
    "true_count",
    "effective_count",
    "raw_scale",
    "shrink_weight",
    "notional_scale",
]


def effective_count(notionals: Iterable[float]) -> float:
    """Kish's effective number (Σ x)² / Σ x² of positive amounts (0 for none)."""
    x = np.asarray([float(v) for v in notionals], dtype=np.float64)
    x = x[x > 0]
    if not len(x):
        return 0.0
    return float(x.sum() ** 2 / np.square(x).sum())


def shrunk_scale(
    true_notional: float, predicted_notional: float, n_effective: float, prior_count: float
) -> tuple[float, float, float]:
    """(raw scale, shrink weight, scale): raw = true / predicted, scale = raw ** (n / (n + n0)).

    raw is NaN and the scale 1 when either total is not positive (nothing to learn from: no truth,
    or a model that predicted nothing, which no factor can scale). prior_count 0 means no shrink.
    """
    if prior_count < 0:
        raise ValueError(f"var calibration_prior_count must be >= 0; got {prior_count}")
    true_notional, predicted_notional = float(true_notional), float(predicted_notional)
    if not (true_notional > 0 and predicted_notional > 0 and n_effective > 0):
        return float("nan"), 0.0, 1.0
    raw = true_notional / predicted_notional
    weight = float(n_effective) / (float(n_effective) + float(prior_count))
    return raw, weight, float(math.exp(weight * math.log(raw)))


def fit_scales(
    predicted: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    symbols: Iterable[str],
    models: Iterable[str],
    prior_count: float,
    ensemble_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One window's scales: a row per symbol x model (and the ensemble's when weights are given).

    ``predicted``: the models' predicted liquidated notional in the train span (symbol, model,
    predicted_notional; any number of rows per pair, summed); ``truth``: the true liquidations of
    the span (symbol, notional; python_models.truth.prepare_truth). Columns SCALE_COLUMNS.
    """
    for frame, name, columns in (
        (predicted, "predicted", {"symbol", "model", "predicted_notional"}),
        (truth, "truth", {"symbol", "notional"}),
    ):
        missing = columns - set(frame.columns)
        if missing:
            raise ValueError(f"{name} lacks columns {sorted(missing)}")
    models = list(models)
    sums = predicted.groupby(["symbol", "model"])["predicted_notional"].sum().to_dict()
    rows = []
    for symbol in sorted(set(symbols)):
        true = truth.loc[truth["symbol"] == symbol, "notional"].astype(float)
        true = true[true > 0]
        total, count, n_eff = float(true.sum()), len(true), effective_count(true)
        per_model = {m: float(sums.get((symbol, m), 0.0)) for m in models}
        if ensemble_weights is not None:
            per_model[ENSEMBLE_MODEL] = float(
                sum(float(ensemble_weights.get(m, 0.0)) * per_model[m] for m in models)
            )
        for model, value in per_model.items():
            raw, weight, scale = shrunk_scale(total, value, n_eff, prior_count)
            rows.append((symbol, model, value, total, count, n_eff, raw, weight, scale))
    return pd.DataFrame(rows, columns=SCALE_COLUMNS)


def in_force_scale_spans(rows: Iterable[tuple]) -> list[tuple[str, str, float, object, object]]:
    """(symbol, model, scale, in_force_from, in_force_to) from rows (window_id, symbol, model, scale,
    fitted_to): a window's scale is in force from its fitted_to (window 0: from always) until the
    next window's fitted_to of the same symbol and model (the last: for ever); None = ±infinity."""
    series: dict[tuple[str, str], list[tuple]] = {}
    for window_id, symbol, model, scale, fitted_to in rows:
        series.setdefault((str(symbol), str(model)), []).append((window_id, model, scale, fitted_to))
    return [
        (symbol, model, scale, start, until)
        for (symbol, model), windows in sorted(series.items())
        for _, scale, start, until in in_force_spans(windows)
    ]


def in_force_scales_sql(rows: Iterable[tuple], within: tuple[object, object] | None = None) -> str:
    """A SQL relation (symbol, model, notional_scale, in_force_from, in_force_to) of
    in_force_scale_spans(rows); a (symbol, model, time) it does not cover has scale 1 (join it
    left and coalesce). With `within` (start, end), only the spans in force somewhere in
    [start, end): what a join of rows of that range needs (one span a window otherwise, so the
    relation, and a range join with it, grows a window a day)."""

    def quoted(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def overlaps(start, end) -> bool:
        if within is None:
            return True
        low, high = pd.Timestamp(within[0]), pd.Timestamp(within[1])
        return (end is None or pd.Timestamp(end) > low) and (start is None or pd.Timestamp(start) < high)

    values = [
        f"({quoted(symbol)}, {quoted(model)}, {scale!r}::double, "
        f"{bound_literal(start, '-infinity')}, {bound_literal(end, 'infinity')})"
        for symbol, model, scale, start, end in in_force_scale_spans(rows)
        if overlaps(start, end)
    ]
    if not values:
        return (
            "select cast(null as varchar) as symbol, cast(null as varchar) as model, "
            "1.0::double as notional_scale, cast(null as timestamp) as in_force_from, "
            "cast(null as timestamp) as in_force_to where 1 = 0"
        )
    return (
        "select * from (values "
        + ", ".join(values)
        + ") as s(symbol, model, notional_scale, in_force_from, in_force_to)"
    )
