"""`liquidationheatmap validate`: the data-quality report of the last build."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from liquidationheatmap.quality_report import QualityReport, load_report
from liquidationheatmap.report_tables import print_table, report_console
from liquidationheatmap.settings import get_settings

HELP = "data-quality report from the last build's dbt tests: rows, ranges, duplicates, gaps"

DESCRIPTION = """\
Print the data-quality report of the last `liquidationheatmap build`: per dataset and symbol the
rows as ingested and after deduplication (duplicates removed), invalid values, first and last
time and the value range (prices, open interest, funding, depth); per dataset the days present,
missing days (as ranges) and missing intraday rows; then every dbt test that warned or failed
(sanity checks such as live notional within open interest, liquidation prices on the losing side
of entry, no level reached before price got there) with its number of failing rows.

Reads the build's dbt results (kept beside the warehouse as dbt_build_results.json) and the
marts fct_data_quality and fct_data_coverage, read-only. Exit status 1 when a test or model
failed; warnings are listed and exit 0.

Example:
  liquidationheatmap build && liquidationheatmap validate
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", type=Path, default=None, help="warehouse file (default DUCKDB_PATH)")
    parser.add_argument("--all-tests", action="store_true", help="also list the tests that passed")


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_report(report: QualityReport, console: Console, all_tests: bool = False) -> None:
    profile = Table(title="datasets", box=box.SIMPLE_HEAD)
    for name in (
        "dataset",
        "symbol",
        "rows",
        "after dedup",
        "duplicates",
        "invalid",
        "first",
        "last",
        "range",
    ):
        profile.add_column(name)
    for row in report.profile:
        profile.add_row(
            row["dataset"],
            row["symbol"],
            _fmt(row["raw_rows"]),
            _fmt(row["clean_rows"]),
            _fmt(row["duplicates_removed"]),
            _fmt(row["invalid_rows"]),
            _fmt(row["first_at"]),
            _fmt(row["last_at"]),
            f"{row['value_name']} {_fmt(row['min_value'])} .. {_fmt(row['max_value'])}",
        )
    print_table(console, profile, keys=2)
    coverage = Table(title="coverage", box=box.SIMPLE_HEAD)
    for name in (
        "dataset",
        "symbol",
        "first day",
        "last day",
        "days",
        "missing",
        "missing days",
        "intraday gaps",
    ):
        coverage.add_column(name)
    for row in report.coverage:
        coverage.add_row(
            row["dataset"],
            row["symbol"],
            _fmt(row["first_day"]),
            _fmt(row["last_day"]),
            _fmt(row["days_present"]),
            _fmt(row["days_missing"]),
            row["missing_days_list"] or "-",
            _fmt(row["intraday_rows_missing"]),
        )
    print_table(console, coverage, keys=2)
    tests = Table(title="dbt tests", box=box.SIMPLE_HEAD)
    for name in ("status", "test", "failing rows"):
        tests.add_column(name)
    shown = [v for v in report.verdicts if all_tests or v.status not in ("pass", "success")]
    order = {"error": 0, "fail": 1, "warn": 2}
    for verdict in sorted(shown, key=lambda v: (order.get(v.status, 3), v.name)):
        style = {"error": "red", "fail": "red", "warn": "yellow"}.get(verdict.status, "green")
        tests.add_row(f"[{style}]{verdict.status}[/{style}]", verdict.name, _fmt(verdict.failures))
    passed = sum(v.status == "pass" for v in report.verdicts)
    print_table(console, tests, keys=2)
    console.print(
        f"{len(report.verdicts)} tests: {passed} passed, {len(report.warnings)} warnings, "
        f"{len(report.errors)} errors"
        + (f"; models failed: {len(report.models_failed)}" if report.models_failed else ""),
        highlight=False,
    )


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    console = report_console()
    try:
        report = load_report(args.warehouse or settings.duckdb_path)
    except FileNotFoundError as error:
        console.print(f"[red]validate: {error}", highlight=False)
        return 2
    print_report(report, console, args.all_tests)
    return report.exit_code
