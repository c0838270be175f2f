"""Read the model scores (fct_model_scores) and the ensemble weights from a built warehouse and lay
them out as maps x metrics per symbol, period and horizon, for `liquidationheatmap score`, the
compare page's table and docs/model_accuracy.md.

Rows: every model variant and the ensemble, then the reference maps (uniform, proximity, oracle).
Columns: overlap and skill with their bootstrap interval, emd %, calibration, hourly correlation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

SCORES_TABLE = "fct_model_scores"
WEIGHTS_TABLE = "fct_ensemble_weights"
METRICS: tuple[tuple[str, str], ...] = (
    ("overlap", "overlap"),
    ("skill", "skill"),
    ("emd_pct", "emd %"),
    ("calibration", "calib."),
    ("hourly_correlation", "corr."),
)
# Metrics with an interval (low, high) shown beside the value.
WITH_INTERVAL = {"overlap", "skill"}
# Metrics of the predicted history: per period, the same in every horizon's table.
PER_PERIOD = {"calibration", "hourly_correlation"}
REFERENCE_ORDER = ("oracle", "uniform", "proximity")
MODEL_FIRST = ("binance_standard", "funding_adjusted", "large_trades", "learned_leverage")
PERIOD_ORDER = ("train", "test")
REQUIRED_COLUMNS = {"horizon_hours", "low", "high", "kind", "window_id"}


class ScoresNotBuilt(RuntimeError):
    """The warehouse or its fct_model_scores table is missing (or from an older build)."""


@dataclass(frozen=True)
class Score:
    value: float | None
    low: float | None
    high: float | None
    n: float


@dataclass(frozen=True)
class PeriodScores:
    symbol: str
    side: str
    period: str
    start: object
    end: object
    horizon_hours: int
    models: list[str]
    references: list[str]
    # (model, metric) -> Score
    values: dict[tuple[str, str], Score]
    truth_notional: float

    def score(self, model: str, metric: str) -> Score:
        return self.values.get((model, metric), Score(None, None, None, 0.0))

    def value(self, model: str, metric: str) -> float | None:
        return self.score(model, metric).value


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


def _model_order(name: str) -> tuple[int, int, str]:
    if name in MODEL_FIRST:
        return (0, MODEL_FIRST.index(name), name)
    if name == "ensemble":
        return (2, 0, name)
    return (1, 0, name)


def _order(name: str, order: tuple[str, ...]) -> tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)


def _clean(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else float(value)


def load_scores(
    warehouse: Path,
    side: str = "all",
    symbol: str | None = None,
    horizons: list[int] | None = None,
    window_id: int = 1,
) -> ScoreReport:
    """The scores of one side (long, short or all) per symbol, period and horizon, read-only."""
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
        columns = {
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns where table_name = ?", [SCORES_TABLE]
            ).fetchall()
        }
        if not columns >= REQUIRED_COLUMNS:
            raise ScoresNotBuilt(
                f"{SCORES_TABLE} in {warehouse} holds the old top-20 % scores: run "
                "`liquidationheatmap build` again for the path-conditioned ones"
            )
        filters, params = ["side = ?", "window_id = ?"], [side, window_id]
        if symbol is not None:
            filters.append("symbol = ?")
            params.append(symbol)
        rows = con.execute(
            f"""
            select symbol, period, period_start, period_end, horizon_hours, model, kind, metric,
                value, low, high, n
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
    return ScoreReport(
        warehouse, _tables(rows, side, horizons), sorted(weights, key=lambda w: _model_order(w.model))
    )


def _tables(rows: list[tuple], side: str, horizons: list[int] | None) -> list[PeriodScores]:
    per_period: dict[tuple[str, str], dict] = {}
    placement: dict[tuple[str, str, int], dict] = {}
    kinds: dict[str, str] = {}
    for sym, period, start, end, horizon, model, kind, metric, value, low, high, n in rows:
        kinds[model] = kind
        score = Score(_clean(value), _clean(low), _clean(high), float(n or 0.0))
        if horizon is None:
            per_period.setdefault((sym, period), {})[(model, metric)] = score
        elif horizons is None or int(horizon) in horizons:
            entry = placement.setdefault(
                (sym, period, int(horizon)), {"start": start, "end": end, "values": {}}
            )
            entry["values"][(model, metric)] = score
    out = []
    for (sym, period, horizon), entry in sorted(
        placement.items(), key=lambda kv: (kv[0][0], _order(kv[0][1], PERIOD_ORDER), kv[0][2])
    ):
        values = {**per_period.get((sym, period), {}), **entry["values"]}
        names = {model for model, _ in values}
        models = sorted((m for m in names if kinds.get(m) != "reference"), key=_model_order)
        references = sorted(
            (m for m in names if kinds.get(m) == "reference"), key=lambda m: _order(m, REFERENCE_ORDER)
        )
        truth = next(
            (values[(m, "overlap")].n for m in [*references, *models] if (m, "overlap") in values), 0.0
        )
        out.append(
            PeriodScores(
                sym, side, period, entry["start"], entry["end"], horizon, models, references, values, truth
            )
        )
    return out


def best_models(period: PeriodScores, metric: str) -> set[str]:
    """Models (never reference maps) with the best value of `metric`: highest overlap, skill and
    correlation, lowest emd, calibration nearest 1 on a log scale; equal values within 1e-9 all count."""
    values = {m: period.value(m, metric) for m in period.models}
    values = {m: v for m, v in values.items() if v is not None}
    if not values:
        return set()
    if metric == "emd_pct":
        key = {m: -v for m, v in values.items()}
    elif metric == "calibration":
        key = {m: -abs(math.log(v)) if v > 0 else -math.inf for m, v in values.items()}
    else:
        key = values
    top = max(key.values())
    return {m for m, v in key.items() if v >= top - 1e-9}


def format_value(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def format_score(score: Score, metric: str, separator: str = " ") -> str:
    """The value, and for overlap and skill its interval after ``separator`` (a newline in a terminal)."""
    text = format_value(score.value)
    interval = score.low is not None and score.high is not None
    if metric in WITH_INTERVAL and score.value is not None and interval:
        text += f"{separator}[{score.low:.2f},{score.high:.2f}]"
    return text


def table_rows(period: PeriodScores, mark: Callable[[str], str], separator: str = " ") -> list[list[str]]:
    """One row per model then per reference map: its name, then each metric as text, the best
    model of a metric marked (reference maps are yardsticks, never marked)."""
    best = {metric: best_models(period, metric) for metric, _ in METRICS}
    rows = []
    for model in [*period.models, *period.references]:
        cells = []
        for metric, _ in METRICS:
            text = format_score(period.score(model, metric), metric, separator)
            cells.append(mark(text) if model in best[metric] else text)
        name = f"{model} (ref.)" if model in period.references else model
        rows.append([name, *cells])
    return rows


def title(period: PeriodScores) -> str:
    return (
        f"{period.symbol} · {period.period} [{period.start} – {period.end}) · {period.horizon_hours} h "
        f"· side {period.side}"
    )


def markdown(report: ScoreReport) -> str:
    """The tables as Markdown (best model per metric in bold), then the ensemble weights."""
    lines: list[str] = []
    for period in report.periods:
        lines.append(
            f"**{title(period)}**, judged true liquidated notional {period.truth_notional:,.0f} USDT"
        )
        lines.append("")
        lines.append("| map | " + " | ".join(label for _, label in METRICS) + " |")
        lines.append("|---|" + "---:|" * len(METRICS))
        for row in table_rows(period, lambda text: f"**{text}**"):
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    if report.weights:
        lines.append(
            "Ensemble weights: " + ", ".join(f"{w.model} {w.weight:.2f}" for w in report.weights) + "."
        )
    return "\n".join(lines)
