"""The score tables `liquidationheatmap score` prints: each metric's best model marked, references
beside the models but never marked, intervals after overlap and skill, gaps shown."""

from __future__ import annotations

from pathlib import Path

from liquidationheatmap.scores import METRICS, PeriodScores, Score, ScoreReport, markdown, table_rows, title


def _period(**window) -> PeriodScores:
    values = {
        ("a", "overlap"): Score(0.5, 0.4, 0.6, 10.0),
        ("b", "overlap"): Score(0.25, 0.2, 0.3, 10.0),
        ("oracle", "overlap"): Score(0.9, 0.85, 0.95, 10.0),
        ("a", "emd_pct"): Score(2.0, None, None, 10.0),
        ("b", "emd_pct"): Score(1.0, None, None, 10.0),
        ("oracle", "emd_pct"): Score(0.1, None, None, 10.0),
        ("a", "calibration"): Score(0.5, None, None, 10.0),
        ("b", "calibration"): Score(1.5, None, None, 10.0),
    }
    return PeriodScores(
        "BTCUSDT",
        "all",
        "test",
        "2025-01-01",
        "2025-01-02",
        1,
        ["a", "b"],
        ["oracle"],
        values,
        10.0,
        **window,
    )


def test_each_metric_marks_its_best_model_never_a_reference_and_shows_a_dash_without_a_value():
    metrics = [metric for metric, _ in METRICS]
    rows = {row[0]: dict(zip(metrics, row[1:], strict=True)) for row in table_rows(_period(), "<{}>".format)}
    assert rows["a"]["overlap"] == "<0.500 [0.40,0.60]>" and rows["b"]["overlap"] == "0.250 [0.20,0.30]"
    assert rows["oracle (ref.)"]["overlap"] == "0.900 [0.85,0.95]"  # better, but a yardstick
    assert rows["b"]["emd_pct"] == "<1.000>" and rows["a"]["emd_pct"] == "2.000"
    # Calibration nearest 1 on a log scale: 0.5 and 1.5 are not equally good.
    assert rows["b"]["calibration"] == "<1.500>" and rows["a"]["calibration"] == "0.500"
    assert rows["a"]["hourly_correlation"] == "–" == rows["oracle (ref.)"]["calibration"]


def test_markdown_is_one_table_per_period_and_horizon_with_the_best_in_bold():
    text = markdown(ScoreReport(Path("w.duckdb"), [_period(window_count=4)], []))
    lines = text.splitlines()
    assert lines[0].startswith(
        "**BTCUSDT · 4 test windows pooled [2025-01-01 – 2025-01-02) · 1 h · side all**"
    )
    header = next(i for i, line in enumerate(lines) if line.startswith("| map |"))
    assert lines[header + 1] == "|---|" + "---:|" * len(METRICS)
    assert lines[header + 2].startswith("| a | **0.500 [0.40,0.60]** |")
    assert lines[header + 3].startswith("| b | 0.250 [0.20,0.30] |")
    assert lines[header + 4].startswith("| oracle (ref.) | 0.900 [0.85,0.95] |")


def test_a_table_names_its_window_or_how_many_windows_it_pools():
    assert title(_period(window_id=3)) == "BTCUSDT · window 3 test [2025-01-01 – 2025-01-02) · 1 h · side all"
    assert title(_period(window_count=1)).startswith("BTCUSDT · 1 test window pooled [")
    assert title(_period(window_count=2)).startswith("BTCUSDT · 2 test windows pooled [")
