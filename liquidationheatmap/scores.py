"""Read the model scores (fct_model_scores) and the ensemble weights from a built warehouse and lay
them out as maps x metrics per symbol, evaluation window and horizon, for `liquidationheatmap
score`, the compare page's table and docs/model_accuracy.md.

Scores are walk-forward (docs/model_scoring.md): each evaluation window is fitted on its train span
and scored on the test span after it; window 0 is the headline, every complete window's test span
pooled. Rows: every model variant and the ensemble, then the reference maps (uniform, proximity,
oracle). Columns: overlap and skill with their bootstrap interval, emd %, calibration, hourly
correlation. The history of windows: each window's skill per model at one horizon.
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
REQUIRED_COLUMNS = {"horizon_hours", "low", "high", "kind", "window_id", "_settings"}
# window_id 0 of fct_model_scores: every complete window's test span pooled (the headline).
POOLED = 0


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
    window_id: int = POOLED
    # How many windows' test spans the table pools (1 for a single window).
    window_count: int = 1

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
class WindowSkill:
    """One evaluation window of the history: its test span and each map's skill at one horizon."""

    symbol: str
    window_id: int
    start: object
    end: object
    horizon_hours: int
    # model -> skill (references included: uniform 0, oracle 1 by definition)
    skill: dict[str, Score]
    truth_notional: float


@dataclass(frozen=True)
class ScoreReport:
    warehouse: Path
    periods: list[PeriodScores]
    # The weights of the latest evaluation window (those in force now).
    weights: list[Weight]
    history: list[WindowSkill] = ()
    latest_window: int | None = None


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
    window_ids: list[int | str] | None = None,
) -> ScoreReport:
    """The scores of one side (long, short or all) per symbol, window and horizon, read-only.

    ``window_ids``: the evaluation windows whose tables to lay out, in order; "latest" stands for
    the latest complete one; default [POOLED] (the headline). The history (every window's skill
    at the shortest horizon asked for) and the latest window's ensemble weights come along.
    """
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
                f"{SCORES_TABLE} in {warehouse} holds scores of an older build (not walk-forward): run "
                "`liquidationheatmap build --full-refresh` again"
            )
        filters, params = ["side = ?"], [side]
        if symbol is not None:
            filters.append("symbol = ?")
            params.append(symbol)
        rows = con.execute(
            f"""
            select window_id, symbol, period, period_start, period_end, horizon_hours, model, kind,
                metric, value, low, high, n
            from {SCORES_TABLE}
            where {" and ".join(filters)}
            order by window_id
            """,
            params,
        ).fetchall()
        weights = []
        if WEIGHTS_TABLE in tables:
            weights = [
                Weight(*row)
                for row in con.execute(
                    f"select model, weight, weight_source, fitted_from, fitted_to from {WEIGHTS_TABLE} "
                    f"where window_id = (select max(window_id) from {WEIGHTS_TABLE})"
                ).fetchall()
            ]
    finally:
        con.close()
    windows = sorted({int(row[0]) for row in rows} - {POOLED})
    latest = windows[-1] if windows else None
    wanted = []
    for window in [POOLED] if window_ids is None else window_ids:
        chosen = latest if window == "latest" else int(window)
        if chosen is not None and chosen not in wanted:
            wanted.append(chosen)
    by_window: dict[int, list[tuple]] = {}
    for row in rows:
        by_window.setdefault(int(row[0]), []).append(row[1:])
    periods = []
    for window in wanted:
        count = len(windows) if window == POOLED else 1
        periods += _tables(by_window.get(window, []), side, horizons, window, count)
    return ScoreReport(
        warehouse,
        periods,
        sorted(weights, key=lambda w: _model_order(w.model)),
        _history(by_window, windows, horizons),
        latest,
    )


def _history(
    by_window: dict[int, list[tuple]], windows: list[int], horizons: list[int] | None
) -> list[WindowSkill]:
    """Each window's skill per map at the shortest horizon asked for (or built)."""
    built = sorted({int(r[4]) for w in windows for r in by_window[w] if r[4] is not None})
    chosen = [h for h in built if horizons is None or h in horizons]
    if not chosen:
        return []
    horizon = chosen[0]
    out = []
    for window in windows:
        per_symbol: dict[str, dict] = {}
        for sym, _period, start, end, h, model, _kind, metric, value, low, high, n in by_window[window]:
            if h is None or int(h) != horizon:
                continue
            entry = per_symbol.setdefault(sym, {"start": start, "end": end, "skill": {}, "truth": 0.0})
            if metric == "skill":
                entry["skill"][model] = Score(_clean(value), _clean(low), _clean(high), float(n or 0.0))
            if metric == "overlap" and model == "uniform":
                entry["truth"] = float(n or 0.0)
        for sym, entry in sorted(per_symbol.items()):
            out.append(
                WindowSkill(
                    sym, window, entry["start"], entry["end"], horizon, entry["skill"], entry["truth"]
                )
            )
    return out


def _tables(
    rows: list[tuple], side: str, horizons: list[int] | None, window_id: int = POOLED, window_count: int = 1
) -> list[PeriodScores]:
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
    for (sym, period, horizon), entry in sorted(placement.items()):
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
                sym,
                side,
                period,
                entry["start"],
                entry["end"],
                horizon,
                models,
                references,
                values,
                truth,
                window_id,
                window_count,
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


def window_label(period: PeriodScores) -> str:
    if period.window_id == POOLED:
        windows = "window" if period.window_count == 1 else "windows"
        return f"{period.window_count} test {windows} pooled"
    return f"window {period.window_id} test"


def title(period: PeriodScores) -> str:
    return (
        f"{period.symbol} · {window_label(period)} [{period.start} – {period.end}) · "
        f"{period.horizon_hours} h · side {period.side}"
    )


def weights_origin(weight: Weight) -> str:
    """Where the ensemble's weights in force came from, in words."""
    return {
        "fitted": f"fitted on the train span [{weight.fitted_from} – {weight.fitted_to})",
        "seed": "from the seed ensemble_weights (no truth to fit on)",
        "equal": "equal weights (the seed does not know every variant)",
        "var": "from the ensemble_weights var",
    }.get(weight.source, weight.source)


def history_models(report: ScoreReport) -> list[str]:
    """The maps of the history table: the models, then the oracle (uniform's skill is 0 by definition)."""
    names = {m for row in report.history for m in row.skill}
    models = sorted((m for m in names if m not in REFERENCE_ORDER), key=_model_order)
    return models


def history_rows(report: ScoreReport, mark: Callable[[str], str]) -> list[list[str]]:
    """One row per window of the history: window, test span start, each model's skill (best marked)."""
    models = history_models(report)
    rows = []
    for entry in report.history:
        values = {
            m: entry.skill[m].value for m in models if m in entry.skill and entry.skill[m].value is not None
        }
        top = max(values.values(), default=None)
        cells = []
        for model in models:
            score = entry.skill.get(model)
            text = format_value(None if score is None else score.value)
            cells.append(
                mark(text)
                if top is not None and values.get(model) is not None and values[model] >= top - 1e-9
                else text
            )
        start = str(entry.start)[:16]
        rows.append([entry.symbol, str(entry.window_id), start, *cells])
    return rows


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
    if report.history:
        models = history_models(report)
        horizon = report.history[0].horizon_hours
        lines.append(f"**History of windows**: each window's skill on its test span, {horizon} h")
        lines.append("")
        lines.append("| symbol | window | test from | " + " | ".join(models) + " |")
        lines.append("|---|---:|---|" + "---:|" * len(models))
        for row in history_rows(report, lambda text: f"**{text}**"):
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    if report.weights:
        lines.append(
            f"Ensemble weights in force now ({weights_origin(report.weights[0])}): "
            + ", ".join(f"{w.model} {w.weight:.2f}" for w in report.weights)
            + "."
        )
    return "\n".join(lines)
