"""The score tables `liquidationheatmap score` prints: each metric's best model marked, gaps shown."""

from __future__ import annotations

from pathlib import Path

from liquidationheatmap.scores import METRICS, PeriodScores, ScoreReport, markdown, table_rows


def _period() -> PeriodScores:
    values = {
        ("a", "zone_hit_rate"): (0.5, 10.0),
        ("b", "zone_hit_rate"): (0.25, 10.0),
        ("a", "median_distance_pct"): (2.0, 10.0),
        ("b", "median_distance_pct"): (1.0, 10.0),
        ("a", "calibration"): (0.5, 10.0),
        ("b", "calibration"): (1.5, 10.0),
    }
    return PeriodScores("BTCUSDT", "all", "test", "2025-01-01", "2025-01-02", ["a", "b"], values, 1000.0)


def test_each_metric_marks_its_best_model_and_shows_a_dash_without_a_value():
    metrics = [metric for metric, _ in METRICS]
    rows = {row[0]: dict(zip(metrics, row[1:], strict=True)) for row in table_rows(_period(), "<{}>".format)}
    assert rows["a"]["zone_hit_rate"] == "<0.500>" and rows["b"]["zone_hit_rate"] == "0.250"
    assert rows["b"]["median_distance_pct"] == "<1.000>" and rows["a"]["median_distance_pct"] == "2.000"
    # Calibration nearest 1 on a log scale: 0.5 and 1.5 are not equally good.
    assert rows["b"]["calibration"] == "<1.500>" and rows["a"]["calibration"] == "0.500"
    assert rows["a"]["hourly_correlation"] == "–" == rows["b"]["hourly_correlation"]


def test_markdown_is_one_table_per_period_with_the_best_in_bold():
    text = markdown(ScoreReport(Path("w.duckdb"), [_period()], []))
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| model |"))
    assert lines[header + 1] == "|---|" + "---:|" * len(METRICS)
    assert lines[header + 2].startswith("| a | **0.500** |") and lines[header + 3].startswith("| b | 0.250 |")
