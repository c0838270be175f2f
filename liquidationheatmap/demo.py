"""The demo: the whole job on the embedded default dataset (a simulated week of BTCUSDT).

Stages: simulate (once; a marker file records the finished simulation and its parameters), ingest
(idempotent: a second run reports every file unchanged), build (dbt, trades incremental by day),
docs (the lineage page), then serve unless told not to.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from rich.console import Console

from liquidationheatmap.dbt_runner import build_warehouse, generate_docs
from liquidationheatmap.ingest import ingest_archive
from liquidationheatmap.logs import step_logger
from liquidationheatmap.simulate import simulate_market

MARKER = ".demo-simulation.json"


@dataclass(frozen=True)
class DemoDataset:
    """What the demo simulates: by default a week of BTCUSDT, sized so the demo takes under a minute."""

    symbols: tuple[str, ...] = ("BTCUSDT",)
    start_date: date = date(2026, 10, 1)
    days: int = 7
    trades_per_day: int = 150_000
    seed: int = 42

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "symbols": list(self.symbols), "start_date": self.start_date.isoformat()}


DEFAULT_DATASET = DemoDataset()


@dataclass(frozen=True)
class DemoPaths:
    raw: Path
    lake: Path
    warehouse: Path
    lineage_page: Path


class DemoError(RuntimeError):
    """A stage of the demo failed; the message says which and why."""


def simulate_if_missing(raw: Path, console: Console, dataset: DemoDataset = DEFAULT_DATASET) -> bool:
    """Simulate the dataset unless a finished simulation with the same parameters is there."""
    marker = raw / MARKER
    wanted = dataset.as_json()
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        console.print(f"[green]simulate[/]: reusing the simulated dataset in {raw}", highlight=False)
        return False
    console.print(
        f"[bold]simulate[/]: {dataset.days} days of {', '.join(dataset.symbols)} from "
        f"{dataset.start_date}, ~{dataset.trades_per_day:,} trades a day, seed {dataset.seed} -> {raw}",
        highlight=False,
    )
    raw.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    simulate_market(
        raw,
        symbols=list(dataset.symbols),
        start_date=dataset.start_date,
        days=dataset.days,
        trades_per_day=dataset.trades_per_day,
        seed=dataset.seed,
    )
    temporary = marker.with_name(marker.name + ".tmp")
    temporary.write_text(json.dumps(wanted))
    os.replace(temporary, marker)
    return True


def run_demo(
    paths: DemoPaths, console: Console | None = None, dataset: DemoDataset = DEFAULT_DATASET
) -> float:
    """simulate -> ingest -> build -> docs; returns the seconds taken. Raises DemoError on failure."""
    console = console or Console()
    log = step_logger(__name__, "demo", ",".join(dataset.symbols))
    started = time.perf_counter()

    def stage(name: str, began: float) -> None:
        seconds = time.perf_counter() - began
        log.info("stage %s done in %.1f s", name, seconds)
        console.print(f"[green]{name} done[/] in {seconds:.1f} s", highlight=False)

    began = time.perf_counter()
    simulate_if_missing(paths.raw, console, dataset)
    stage("simulate", began)

    began = time.perf_counter()
    console.print(f"[bold]ingest[/]: {paths.raw} -> {paths.lake}", highlight=False)
    report = ingest_archive(paths.raw, paths.lake, console=console)
    if report.exit_code != 0:
        raise DemoError(f"ingest rejected {report.rejected} file(s): see the table above")
    console.print(
        f"ingest: {report.loaded} loaded, {report.unchanged} unchanged, {report.rows_loaded:,} rows",
        highlight=False,
    )
    stage("ingest", began)

    began = time.perf_counter()
    console.print(f"[bold]build[/]: dbt build -> {paths.warehouse}", highlight=False)
    outcome = build_warehouse(paths.lake, paths.warehouse, console=console)
    if not outcome.success:
        failed = ", ".join(node.name for node in outcome.failures) or outcome.error or "see dbt's log"
        raise DemoError(f"dbt build failed ({failed}); the previous warehouse is unchanged")
    stage("build", began)

    began = time.perf_counter()
    console.print("[bold]docs[/]: dbt docs generate --static", highlight=False)
    docs_outcome, page = generate_docs(paths.lake, paths.warehouse, console=None)
    if not docs_outcome.success or not page.exists():
        raise DemoError(f"dbt docs generate failed: {docs_outcome.error or 'see dbt_project/logs'}")
    paths.lineage_page.parent.mkdir(parents=True, exist_ok=True)
    temporary = paths.lineage_page.with_name(paths.lineage_page.name + ".tmp")
    shutil.copyfile(page, temporary)
    os.replace(temporary, paths.lineage_page)
    stage("docs", began)
    return time.perf_counter() - started
