"""Read the model scores (fct_model_scores) and the ensemble weights from a built warehouse and lay
them out as models x metrics per period, for `liquidationheatmap score` and docs/model_accuracy.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

SCORES_TABLE = "fct_model_scores"
WEIGHTS_TABLE = "fct_ensemble_weights"
PERIODS_TABLE = "int_scoring__periods"
METRICS: tuple[tuple[str, str], ...] = (
    ("zone_hit_rate", "zone hit rate"),
    ("median_distance_pct", "median distance %"),
    ("hourly_correlation", "hourly correlation"),
    ("calibration", "calibration"),
)
MODEL_ORDER = ("binance_standard", "funding_adjusted", "large_trades", "learned_leverage", "ensemble")
PERIOD_ORDER = ("train", "test")


class ScoresNotBuilt(RuntimeError):
    """The warehouse or its fct_model_scores table is missing: nothing to print."""


@dataclass(frozen=True)
class PeriodScores:
    symbol: str
    side: str
    period: str
    start: object
    end: object
    models: list[str]
    # (model, metric) -> (value or None, n)
    values: dict[tuple[str, str], tuple[float | None, float]]
    truth_notional: float

    def value(self, model: str, metric: str) -> float | None:
        return self.values.get((model, metric), (None, 0.0))[0]


@dataclass(frozen=True)
class Weight:
    model: str
    weight: float
    source: str
    fitted_from: object
    fitted_to: object


@dataclass(frozen=True)
class ScoreReport:
    warehouse: Path
    periods: list[PeriodScores]
    weights: list[Weight]


def _order(name: str, order: tuple[str, ...]) -> tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)


def _clean(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else float(value)


def load_scores(warehouse: Path, side: str = "all", symbol: str | None = None) -> ScoreReport:
    """The scores of one side (long, short or all) per symbol and period, read-only."""
    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise ScoresNotBuilt(
            f"no warehouse at {warehouse}: run `liquidationheatmap build` "
            "(or `liquidationheatmap demo`) first"
        )
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = {
            row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()
        }
        if SCORES_TABLE not in tables:
            raise ScoresNotBuilt(
                f"the warehouse {warehouse} has no table {SCORES_TABLE}: it was built before the scoring "
                "models existed; run `liquidationheatmap build` again"
            )
        filters, params = ["side = ?"], [side]
        if symbol is not None:
            filters.append("symbol = ?")
            params.append(symbol)
        rows = con.execute(
            f"""
            select symbol, period, period_start, period_end, model, metric, value, n
            from {SCORES_TABLE}
            where {" and ".join(filters)}
            """,
            params,
        ).fetchall()
        weights = []
        if WEIGHTS_TABLE in tables:
            weights = [
                Weight(*row)
                for row in con.execute(
                    f"select model, weight, weight_source, fitted_from, fitted_to from {WEIGHTS_TABLE}"
                ).fetchall()
            ]
    finally:
        con.close()
    grouped: dict[tuple[str, str], dict] = {}
    for sym, period, start, end, model, metric, value, n in rows:
        entry = grouped.setdefault((sym, period), {"start": start, "end": end, "values": {}, "truth": 0.0})
        entry["values"][(model, metric)] = (_clean(value), float(n or 0.0))
        if metric == "calibration" and model == MODEL_ORDER[0]:
            entry["truth"] = float(n or 0.0)
    periods = []
    for (sym, period), entry in sorted(
        grouped.items(), key=lambda kv: (kv[0][0], _order(kv[0][1], PERIOD_ORDER))
    ):
        models = sorted({model for model, _ in entry["values"]}, key=lambda m: _order(m, MODEL_ORDER))
        periods.append(
            PeriodScores(
                sym, side, period, entry["start"], entry["end"], models, entry["values"], entry["truth"]
            )
        )
    weights.sort(key=lambda w: _order(w.model, MODEL_ORDER))
    return ScoreReport(warehouse, periods, weights)


def best_models(period: PeriodScores, metric: str) -> set[str]:
    """Models with the best value of `metric` (highest hit rate and correlation, lowest distance,
    calibration nearest 1); equal values within 1e-9 all count as best."""
    values = {m: period.value(m, metric) for m in period.models}
    values = {m: v for m, v in values.items() if v is not None}
    if not values:
        return set()
    if metric == "median_distance_pct":
        key = {m: -v for m, v in values.items()}
    elif metric == "calibration":
        key = {m: -abs(math.log(v)) if v > 0 else -math.inf for m, v in values.items()}
    else:
        key = values
    top = max(key.values())
    return {m for m, v in key.items() if v >= top - 1e-9}


def format_value(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def table_rows(period: PeriodScores, mark: Callable[[str], str]) -> list[list[str]]:
    """One row per model: its name, then each metric's value as text, the best of a metric marked."""
    best = {metric: best_models(period, metric) for metric, _ in METRICS}
    rows = []
    for model in period.models:
        cells = []
        for metric, _ in METRICS:
            text = format_value(period.value(model, metric))
            cells.append(mark(text) if model in best[metric] else text)
        rows.append([model, *cells])
    return rows


def markdown(report: ScoreReport) -> str:
    """The tables as Markdown (best value per metric in bold), then the ensemble weights."""
    lines: list[str] = []
    for period in report.periods:
        lines.append(
            f"**{period.symbol} · {period.period}** [{period.start} – {period.end}), side {period.side}, "
            f"true liquidated notional {period.truth_notional:,.0f} USDT"
        )
        lines.append("")
        lines.append("| model | " + " | ".join(label for _, label in METRICS) + " |")
        lines.append("|---|" + "---:|" * len(METRICS))
        for row in table_rows(period, lambda text: f"**{text}**"):
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    if report.weights:
        lines.append(
            "Ensemble weights: " + ", ".join(f"{w.model} {w.weight:.2f}" for w in report.weights) + "."
        )
    return "\n".join(lines)
