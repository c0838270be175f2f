"""Run dbt in-process (dbtRunner) on the project's dbt_project/, with per-model progress.

The lake and warehouse reach dbt as absolute paths through environment variables read by
`profiles.yml` and the sources (`LAKE_PATH`, `DBT_DUCKDB_PATH`), together with DuckDB's memory
limit and threads. `build_warehouse` never writes the live warehouse: dbt builds a working copy
`<warehouse>.building` (copied from the live one so incremental models stay incremental), and on
success the copy atomically replaces the warehouse; on failure the copy is removed and the last
good warehouse stays. Readers (the API) open the warehouse read-only per request, so they keep
serving the previous file while dbt works.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from liquidationheatmap.settings import PROJECT_ROOT

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
PROFILES_DIR = PROJECT_ROOT
TARGET_DIR = DBT_PROJECT_DIR / "target"
DEFAULT_MEMORY_LIMIT = "4GB"
REQUIRED_DATASETS = ("aggTrades", "metrics")
TEST_SCOPE_ENV = "LIQUIDATIONHEATMAP_TEST_SCOPE"
# dbt writes a debug line per event to dbt_project/logs/dbt.log by default, which costs about 1.3 s
# of a 161-node build (scripts/bench_build.py); the file keeps warnings and errors unless asked for
# the whole debug log (`build --dbt-debug-log`).
DBT_FILE_LOG_LEVEL = "warn"
OPTIONAL_DATASETS = ("fundingRate", "bookDepth", "liveGaps")  # liveGaps: the live recorder (docs/live.md)
# The simulator's ground truth (`<truth>/<dataset>/<SYMBOL>/*.csv`), read in place by the truth sources.
TRUTH_DATASETS = ("liquidations", "positions")


class NoDataError(RuntimeError):
    """The lake holds no aggTrades or metrics Parquet file: nothing to build from."""


class DbtFailure(RuntimeError):
    """dbt ran and reported errors (failed models or tests)."""


@dataclass
class NodeOutcome:
    unique_id: str
    name: str
    resource_type: str
    status: str
    seconds: float
    message: str = ""


@dataclass
class DbtOutcome:
    success: bool
    nodes: list[NodeOutcome] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    @property
    def failures(self) -> list[NodeOutcome]:
        return [n for n in self.nodes if n.status in ("error", "fail", "runtime error")]

    @property
    def warnings(self) -> list[NodeOutcome]:
        return [n for n in self.nodes if n.status == "warn"]


def lake_files(lake: Path, dataset: str) -> list[Path]:
    """The Parquet files of one dataset in the lake (layout `<dataset>/symbol=*/date=*/*.parquet`)."""
    return sorted((lake / dataset).glob("*/*/*.parquet"))


def lake_datasets(lake: Path) -> list[str]:
    """Datasets with at least one file in the lake, plus `_manifest` when the ingest log exists."""
    present = [d for d in (*REQUIRED_DATASETS, *OPTIONAL_DATASETS) if lake_files(lake, d)]
    if any((lake / "_manifest").glob("manifest-*.parquet")):
        present.append("_manifest")
    return present


def check_lake(lake: Path) -> list[str]:
    """Datasets present; raises NoDataError naming what is missing when the lake cannot be built."""
    present = lake_datasets(lake)
    missing = [d for d in REQUIRED_DATASETS if d not in present]
    if missing:
        raise NoDataError(
            f"no data ingested: the lake {lake} has no {' or '.join(missing)} Parquet files "
            f"(expected {lake}/<dataset>/symbol=<SYMBOL>/date=<YYYY-MM-DD>/*.parquet); "
            "run `liquidationheatmap ingest` (or `liquidationheatmap demo`) first"
        )
    return present


def default_truth_path() -> Path:
    """Where the truth sources look by default: BINANCE_DATA_PATH/truth (the simulator writes it there)."""
    from liquidationheatmap.settings import get_settings

    return get_settings().binance_data_path / "truth"


def truth_datasets(truth: Path) -> list[str]:
    """Truth datasets with at least one CSV under `truth` (none when the folder does not exist)."""
    return [d for d in TRUTH_DATASETS if any((Path(truth) / d).glob("*/*.csv"))]


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def dbt_environment(
    lake: Path, warehouse: Path, memory_limit: str | None = None, threads: int | None = None
) -> dict[str, str]:
    """Environment variables profiles.yml and the sources read (absolute paths)."""
    env = {
        "LAKE_PATH": str(Path(lake).resolve()),
        "DBT_DUCKDB_PATH": str(Path(warehouse).resolve()),
        "DBT_DUCKDB_MEMORY_LIMIT": memory_limit
        or os.environ.get("DBT_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if threads:
        env["DBT_DUCKDB_THREADS"] = str(threads)
        env["DBT_THREADS"] = str(threads)
    return env


def _release_duckdb() -> None:
    """Close dbt-duckdb's process-wide DuckDB handle so the file is complete and unlocked."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    env = getattr(DuckDBConnectionManager, "_ENV", None)
    if env is not None:
        try:
            env.close()
        finally:
            DuckDBConnectionManager.close_all_connections()


class _Progress:
    """dbt event callback: one line per finished node, numbered like dbt's own log."""

    def __init__(self, console: Console | None, on_node: Callable[[NodeOutcome], None] | None) -> None:
        self.console = console
        self.on_node = on_node
        self.nodes: list[NodeOutcome] = []
        self.total = 0

    def __call__(self, event) -> None:
        name = event.info.name
        if name == "LogStartLine":
            self.total = max(self.total, int(getattr(event.data, "total", 0) or 0))
            return
        if name != "NodeFinished":
            return
        info = event.data.node_info
        result = event.data.run_result
        outcome = NodeOutcome(
            unique_id=info.unique_id,
            name=info.node_name,
            resource_type=info.resource_type,
            status=str(result.status or info.node_status),
            seconds=float(result.execution_time or 0.0),
            message=str(result.message or ""),
        )
        self.nodes.append(outcome)
        if self.on_node:
            self.on_node(outcome)
        if self.console is not None:
            style = {"success": "green", "pass": "green", "warn": "yellow"}.get(outcome.status, "red")
            if outcome.status in ("skipped", "no-op"):
                style = "dim"
            counter = f"{len(self.nodes)}/{self.total}" if self.total else str(len(self.nodes))
            detail = f" {outcome.message}" if outcome.status not in ("success", "pass") else ""
            self.console.print(
                f"[{counter}] [{style}]{outcome.status.upper():7}[/{style}] "
                f"{outcome.resource_type:10} {outcome.name} ({outcome.seconds:.1f}s){detail}",
                highlight=False,
                markup=True,
                soft_wrap=True,
            )


def run_dbt(
    args: Sequence[str],
    *,
    lake: Path,
    warehouse: Path,
    dbt_vars: dict | None = None,
    console: Console | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    on_node: Callable[[NodeOutcome], None] | None = None,
    target_dir: Path | None = None,
    debug_log: bool = False,
) -> DbtOutcome:
    """Run one dbt command (`["build"]`, `["docs", "generate", "--static"]`, ...) in-process.

    `target_dir` (default dbt_project/target) holds dbt's artifacts; builds of different
    warehouses use their own so that they can run side by side. dbt_project/logs/dbt.log gets
    warnings and errors, or dbt's whole debug log with `debug_log`.
    """
    from dbt.cli.main import dbtRunner

    progress = _Progress(console, on_node)
    cli_args = [
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--quiet",
        "--log-level-file",
        "debug" if debug_log else DBT_FILE_LOG_LEVEL,
        "--target-path",
        str(target_dir or TARGET_DIR),
    ]
    if dbt_vars:
        cli_args += ["--vars", json.dumps(dbt_vars)]
    started = time.perf_counter()
    with _environment(dbt_environment(lake, warehouse, memory_limit, threads)):
        try:
            result = dbtRunner(callbacks=[progress]).invoke(cli_args)
        finally:
            _release_duckdb()
    error = None
    if result.exception is not None:
        error = f"{type(result.exception).__name__}: {result.exception}"
    outcome = DbtOutcome(bool(result.success), progress.nodes, time.perf_counter() - started, error)
    if not outcome.success and error is None and not outcome.failures:
        outcome.error = (
            "dbt reported failure (see dbt_project/logs/dbt.log; `build --dbt-debug-log` writes dbt's "
            "whole debug log there)"
        )
    return outcome


def target_dir_for(warehouse: Path) -> Path:
    """dbt's artifact folder for builds of one warehouse (beside it)."""
    return Path(warehouse).with_name("dbt_target")


def working_copy_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".building")


def _remove_database(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)


def build_warehouse(
    lake: Path,
    warehouse: Path,
    *,
    full_refresh: bool = False,
    select: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    console: Console | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    extra_vars: dict | None = None,
    truth: Path | None = None,
    debug_log: bool = False,
) -> DbtOutcome:
    """`dbt build` into a working copy of the warehouse, then swap it in atomically on success.

    `truth` (default BINANCE_DATA_PATH/truth) holds true liquidations to score the models against;
    the build works without it (the scores are then empty).
    """
    lake, warehouse = Path(lake).resolve(), Path(warehouse).resolve()
    truth = Path(truth if truth is not None else default_truth_path()).resolve()
    present = check_lake(lake)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    working = working_copy_path(warehouse)
    _remove_database(working)  # left over from an interrupted build
    incremental = warehouse.exists() and not full_refresh
    if incremental:
        shutil.copy2(warehouse, working)
        wal = warehouse.with_name(warehouse.name + ".wal")
        if wal.exists():
            shutil.copy2(wal, working.with_name(working.name + ".wal"))
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", *select]
    if exclude:
        args += ["--exclude", *exclude]
    dbt_vars = {"lake_datasets": present, "truth_datasets": truth_datasets(truth), **(extra_vars or {})}
    try:
        # An incremental build scopes the tests of the big incremental tables to the rows it
        # loaded (dbt_project/macros/test_scope.sql); a full build tests every row.
        scope = {TEST_SCOPE_ENV: "latest_load" if incremental else "all"}
        environment = {"TRUTH_PATH": str(truth), "LIQUIDATIONHEATMAP_ROOT": str(PROJECT_ROOT), **scope}
        with _environment(environment):
            outcome = run_dbt(
                args,
                lake=lake,
                warehouse=working,
                dbt_vars=dbt_vars,
                console=console,
                memory_limit=memory_limit,
                threads=threads,
                target_dir=target_dir_for(warehouse),
                debug_log=debug_log,
            )
    except BaseException:
        _remove_database(working)
        raise
    _keep_results(warehouse)
    if not outcome.success:
        _remove_database(working)
        return outcome
    _checkpoint(working)
    os.replace(working, warehouse)
    warehouse.with_name(warehouse.name + ".wal").unlink(missing_ok=True)
    return outcome


def build_results_path(warehouse: Path) -> Path:
    """Where the last build's dbt run_results.json is kept (beside the warehouse)."""
    return Path(warehouse).with_name("dbt_build_results.json")


def _keep_results(warehouse: Path) -> None:
    source = target_dir_for(warehouse) / "run_results.json"
    if source.exists():
        destination = build_results_path(warehouse)
        temporary = destination.with_name(destination.name + ".tmp")
        shutil.copyfile(source, temporary)
        os.replace(temporary, destination)


def _checkpoint(path: Path) -> None:
    """Fold any write-ahead log into the file, so the single file is the whole database."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute("checkpoint")
    finally:
        con.close()


def generate_docs(lake: Path, warehouse: Path, console: Console | None = None) -> tuple[DbtOutcome, Path]:
    """`dbt docs generate --static` against the warehouse; returns the self-contained page."""
    lake, warehouse = Path(lake).resolve(), Path(warehouse).resolve()
    present = lake_datasets(lake)
    if not warehouse.exists():
        raise FileNotFoundError(
            f"no warehouse at {warehouse}: run `liquidationheatmap build` first (the lineage site "
            "reads column types from the built warehouse)"
        )
    # docs generate opens the database; work on a copy so readers of the live file are untouched.
    working = warehouse.with_name(warehouse.name + ".docs")
    _remove_database(working)
    shutil.copy2(warehouse, working)
    try:
        outcome = run_dbt(
            ["docs", "generate", "--static"],
            lake=lake,
            warehouse=working,
            dbt_vars={"lake_datasets": present or list(REQUIRED_DATASETS)},
            console=console,
            target_dir=target_dir_for(warehouse),
        )
    finally:
        _remove_database(working)
    return outcome, target_dir_for(warehouse) / "static_index.html"
