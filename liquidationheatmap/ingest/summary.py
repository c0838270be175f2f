"""The end-of-run summary: a table per dataset and symbol, then every rejected file with its reason."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.table import Table

from liquidationheatmap.ingest.runner import IngestReport
from liquidationheatmap.report_tables import print_table


def _time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def print_summary(report: IngestReport, console: Console) -> None:
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for record in report.records:
        groups[(record.dataset or "?", record.symbol or "?")].append(record)
    table = Table(title=f"ingest run {report.run_id} -> {report.lake}", title_justify="left")
    for name, justify in (
        ("dataset", "left"),
        ("symbol", "left"),
        ("loaded", "right"),
        ("unchanged", "right"),
        ("rejected", "right"),
        ("rows loaded", "right"),
        ("bad lines", "right"),
        ("first event", "left"),
        ("last event", "left"),
    ):
        table.add_column(name, justify=justify)
    for (dataset, symbol), records in sorted(groups.items()):
        firsts = [r.first_event_time for r in records if r.first_event_time and r.status != "rejected"]
        lasts = [r.last_event_time for r in records if r.last_event_time and r.status != "rejected"]
        table.add_row(
            dataset,
            symbol,
            str(sum(r.status == "loaded" for r in records)),
            str(sum(r.status == "unchanged" for r in records)),
            str(sum(r.status == "rejected" for r in records)),
            f"{sum(r.rows_loaded for r in records):,}",
            f"{sum(r.rows_rejected for r in records):,}",
            _time(min(firsts) if firsts else None),
            _time(max(lasts) if lasts else None),
        )
    rate = report.rows_loaded / report.seconds if report.seconds else 0.0
    table.caption = (
        f"{report.loaded} loaded, {report.unchanged} unchanged, {report.rejected} rejected; "
        f"{report.rows_loaded:,} rows in {report.seconds:.1f}s ({rate:,.0f} rows/s); "
        f"manifest: {report.manifest_path or 'none (no files found)'}"
    )
    print_table(console, table, keys=2)
    skipped = [r for r in report.records if r.status == "loaded" and r.rows_rejected]
    if skipped:
        console.print(f"[yellow]{len(skipped)} file(s) loaded without their bad lines (--skip-bad-rows):")
        for record in skipped:
            console.print(f"  {record.reason}", markup=False, highlight=False)
    if report.rejected:
        console.print(f"[red]{report.rejected} file(s) rejected:")
        for record in report.rejected_records:
            console.print(f"  {record.reason}", markup=False, highlight=False)
