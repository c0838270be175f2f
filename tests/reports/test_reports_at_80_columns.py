"""Every report a user reads after a command (validate, check, score, the ingest and download
summaries) rendered in an 80-column console: no line is wider, and no cell value is cut."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "api"))

from pipeline_dataset import Dataset, shared_dataset

from liquidationheatmap.report_tables import print_table

WIDTH = 80


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return shared_dataset(tmp_path_factory)


@pytest.fixture
def cells(monkeypatch) -> list[str]:
    """The plain text of every cell any table is given while the test runs."""
    seen: list[str] = []
    add_row = Table.add_row

    def spy(table, *renderables, **kwargs):
        seen.extend(r.plain if isinstance(r, Text) else Text.from_markup(str(r)).plain for r in renderables)
        return add_row(table, *renderables, **kwargs)

    monkeypatch.setattr(Table, "add_row", spy)
    return seen


def console() -> Console:
    return Console(
        width=WIDTH, record=True, force_terminal=False, color_system=None, file=open("/dev/null", "w")
    )


def assert_nothing_cut(out: Console, cells: list[str], prose_lines_wrap: bool = False) -> str:
    """No "…", every cell whole, no line wider than the console (except, with prose_lines_wrap,
    sentences printed with soft_wrap: one line each, which the terminal wraps, never cuts)."""
    text = out.export_text()
    assert cells, "the report printed no table"
    assert "…" not in text, text
    wide = [line for line in text.splitlines() if len(line) > WIDTH]
    if prose_lines_wrap:
        wide = [
            line
            for line in wide
            if not line.startswith(("lake ", "lake:", "warehouse:", "warning:", "error:"))
        ]
    assert not wide, wide
    squeezed = "".join(text.split())  # a value that wraps onto the next line still counts as whole
    # A cell of several lines (a value over its interval) counts line by line.
    parts = [part for cell in cells for part in cell.splitlines()]
    missing = [part for part in parts if "".join(part.split()) not in squeezed]
    assert not missing, f"cut or missing: {missing}\n{text}"
    return text


@pytest.mark.slow
def test_validate_report_at_80_columns_cuts_nothing(dataset, cells):
    from liquidationheatmap.commands.validate import print_report
    from liquidationheatmap.quality_report import load_report

    out = console()
    print_report(load_report(dataset.warehouse), out, all_tests=True)
    text = assert_nothing_cut(out, cells)
    assert "aggTrades · BTCUSDT" in text


@pytest.mark.slow
def test_check_report_at_80_columns_cuts_nothing(dataset, cells, tmp_path):
    from liquidationheatmap.commands.check import print_report
    from liquidationheatmap.preflight import run_preflight

    out = console()
    print_report(run_preflight(dataset.raw / "data", tmp_path / "w.duckdb", tmp_path / "lake"), out)
    assert_nothing_cut(out, cells, prose_lines_wrap=True)


@pytest.mark.slow
def test_score_report_at_80_columns_cuts_nothing(dataset, cells):
    from liquidationheatmap.commands.score import print_report
    from liquidationheatmap.scores import load_scores

    out = console()
    print_report(load_scores(dataset.warehouse), out)
    assert_nothing_cut(out, cells)


@pytest.mark.slow
def test_ingest_summary_at_80_columns_cuts_nothing(dataset, cells, tmp_path):
    from liquidationheatmap.ingest import ingest_archive
    from liquidationheatmap.ingest.summary import print_summary

    report = ingest_archive(dataset.raw / "data", tmp_path / "lake", show_progress=False, workers=1)
    out = console()
    print_summary(report, out)
    assert_nothing_cut(out, cells)


def test_download_summary_at_80_columns_cuts_nothing(cells):
    from liquidationheatmap.commands.download import _summary
    from liquidationheatmap.download import (
        DOWNLOADED,
        MISSING,
        PRESENT,
        DownloadReport,
        FileResult,
        plan_downloads,
    )

    plan = plan_downloads(["BTCUSDT", "1000SHIBUSDT"], ["aggTrades", "metrics", "fundingRate", "klines"],
                          date(2024, 1, 20), date(2024, 3, 5))  # fmt: skip
    statuses = (DOWNLOADED, PRESENT, MISSING)
    results = [FileResult(f, statuses[i % 3], size_bytes=123_456_789 * i) for i, f in enumerate(plan)]
    out = console()
    print_table(out, _summary(DownloadReport(results, date(2024, 1, 20), date(2024, 3, 5))), keys=2)
    assert_nothing_cut(out, cells)


def test_a_table_that_fits_stays_a_table_and_a_wide_one_becomes_a_block_per_row(cells):
    narrow = Table("dataset", "rows", title="narrow", box=box.SIMPLE_HEAD)
    narrow.add_row("aggTrades", "1,160,123")
    wide = Table(*(f"column {i}" for i in range(10)), title="wide")
    wide.add_row("BTCUSDT", *(f"2026-10-0{i} 00:00:00" for i in range(1, 9)), "x" * 120)

    out = console()
    print_table(out, narrow)
    print_table(out, wide)
    text = assert_nothing_cut(out, cells)
    lines = text.splitlines()
    assert any(line.split() == ["dataset", "rows"] for line in lines)  # a header row
    assert "BTCUSDT" in lines and any(
        line.split() == ["column", "1", "2026-10-01", "00:00:00"] for line in lines
    )
