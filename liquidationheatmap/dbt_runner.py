"""Run dbt in-process (dbtRunner) on the project's dbt_project/, with per-model progress.

The lake and warehouse reach dbt as absolute paths through environment variables read by
`profiles.yml` and the sources (`LAKE_PATH`, `DBT_DUCKDB_PATH`), together with DuckDB's memory
limit and threads. `build_warehouse` holds the warehouse's build lock (build_lock.py: one build
or `docs` at a time), runs dbt in place in the working database `<stem>.working.duckdb` beside the
warehouse, and on success publishes the served marts that changed (publish.py: Parquet files for the
big ones and a new, small warehouse file, verified, swapped in with os.replace; nothing when nothing
changed). The warehouse itself is never written: readers (the API,
`validate`, `score`) keep the last good file until the new one replaces it whole, and a failed,
killed or disk-full build leaves it as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from liquidationheatmap.build_lock import BuildLocked, Holder, build_lock, publish_lock
from liquidationheatmap.build_selection import (
    current_inputs,
    forget,
    plan,
    rebase,
    record_complete,
    record_dirty,
    state_folder,
)
from liquidationheatmap.datasets import TRUTH_DATASETS, lake_files
from liquidationheatmap.publish import (
    TEMPORARY_SUFFIX,
    DiskFullError,
    Publication,
    PublishError,
    collect_garbage,
    crash_point,
    disk_full_message,
    free_bytes,
    is_disk_full,
    publish_serving,
    publishing_path,
    relocate,
    remove_database,
    served_relations,
    serving_folder,
    swap_in,
    wal_of,
    working_database,
)
from liquidationheatmap.settings import PROJECT_ROOT

__all__ = ["BuildLocked", "DiskFullError", "build_warehouse", "generate_docs", "working_database"]

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
OPTIONAL_DATASETS = (
    "fundingRate",
    "bookDepth",
    "markPriceKlines",
    "liveGaps",
)  # liveGaps: the live recorder (docs/live.md)
# The dbt target of Apache Spark (profiles.yml; the `spark` dependency group and Java 17).
SPARK_TARGET = "spark"


class NoDataError(RuntimeError):
    """The lake holds no aggTrades or metrics Parquet file: nothing to build from."""


class SparkUnavailable(RuntimeError):
    """The spark target was asked for, but pyspark (the `spark` group) or Java is missing."""


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
    publication: Publication | None = None  # what a successful build published
    reason: str = ""  # why the build ran what it ran (build_selection.plan)

    @property
    def failures(self) -> list[NodeOutcome]:
        return [n for n in self.nodes if n.status in ("error", "fail", "runtime error")]

    @property
    def warnings(self) -> list[NodeOutcome]:
        return [n for n in self.nodes if n.status == "warn"]


def lake_datasets(lake: Path) -> list[str]:
    """Datasets with at least one file in the lake, plus `_manifest` when the ingest log exists."""
    # One file is enough to know (a full sorted listing of a year's lake is 0.15 s on every build).
    present = [
        d for d in (*REQUIRED_DATASETS, *OPTIONAL_DATASETS) if next((lake / d).glob("*/*/*.parquet"), None)
    ]
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


def truth_datasets(lake: Path) -> list[str]:
    """Truth datasets (the simulator's positions and liquidations) with at least one file in the lake."""
    return [d for d in TRUTH_DATASETS if lake_files(lake, d)]


def ingest_truth(truth: Path, lake: Path) -> None:
    """Load a truth folder (`<truth>/<dataset>/<SYMBOL>/*.csv`) into the lake, as `ingest` does for
    the simulator's `truth/` beside its archive; files already loaded (same sha256) are skipped."""
    from liquidationheatmap.ingest import ingest_archive

    truth = Path(truth)
    if any((truth / dataset).glob("*/*.csv") for dataset in TRUTH_DATASETS):
        ingest_archive(truth, lake, datasets=list(TRUTH_DATASETS), show_progress=False)


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


def _forget_the_parse_of_another_project(target_dir: Path) -> None:
    """Drop dbt's saved parse in `target_dir` when it was made from a project in another folder.

    dbt's partial parsing keeps each node's absolute paths (a seed's CSV file) and does not notice
    that the project moved (a clone renamed, a warehouse built from another checkout): the next run
    of a seed then reads the old folder's file, or fails when it is gone. The project folder of
    the saved parse is kept beside it."""
    marker = target_dir / "project_dir.txt"
    here = str(DBT_PROJECT_DIR.resolve())
    try:
        saved = marker.read_text(encoding="utf-8")
    except FileNotFoundError:
        saved = None
    if saved != here:
        (target_dir / "partial_parse.msgpack").unlink(missing_ok=True)
        target_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text(here, encoding="utf-8")


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
    target: str | None = None,
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
    if target:
        cli_args += ["--target", target]
    if dbt_vars:
        cli_args += ["--vars", json.dumps(dbt_vars)]
    started = time.perf_counter()
    _forget_the_parse_of_another_project(Path(target_dir or TARGET_DIR))
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


# The ingest manifest as one file, for the build's dbt (the source `ingest.manifest` reads it).
LAKE_MANIFEST_ENV = "LAKE_MANIFEST"
MANIFEST_SNAPSHOT = "lake_manifest.parquet"


def snapshot_lake_manifest(lake: Path, folder: Path) -> Path | None:
    """The lake's ingest manifest (`_manifest/manifest-*.parquet`, a file per ingest run) copied into
    one Parquet file in `folder`, which stg_ingest__manifest reads instead; None when the lake has
    no manifest.

    The models, macros and scoped tests query the manifest a hundred times a build, and each query
    of the lake's files opened every one of them: a year of daily ingest runs is 365 files, 0.021 s a
    query against 0.0007 s on the copy (scripts/bench_manifest_reads.py). The snapshot is taken
    once, before dbt starts, as the build's other inputs are (a file ingested meanwhile is new to
    the next build). Written under a temporary name and renamed.
    """
    files = sorted((Path(lake) / "_manifest").glob("manifest-*.parquet"))
    if not files:
        return None
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / MANIFEST_SNAPSHOT
    partial = target.with_name(target.name + ".tmp")
    listed = ", ".join("'" + str(path).replace("'", "''") + "'" for path in files)
    with duckdb.connect(":memory:") as con:
        con.execute(
            f"copy (select * from read_parquet([{listed}], union_by_name = true)) "
            f"to '{str(partial).replace(chr(39), chr(39) * 2)}' (format parquet, compression zstd)"
        )
    os.replace(partial, target)
    return target


def target_dir_for(warehouse: Path) -> Path:
    """dbt's artifact folder for builds of one warehouse (beside it)."""
    return Path(warehouse).with_name("dbt_target")


def state_path(warehouse: Path) -> Path:
    """What the working database went through last: building, failed, built or published."""
    working = working_database(warehouse)
    return working.with_name(working.stem + ".json")


def read_state(warehouse: Path) -> dict:
    try:
        return json.loads(state_path(warehouse).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_state(warehouse: Path, state: str, **details) -> None:
    path = state_path(warehouse)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps({"state": state, **details}), encoding="utf-8")
    os.replace(temporary, path)


# Files an older layout or an interrupted build leaves beside the warehouse; whoever holds the build
# lock knows nobody is writing them.
STALE_SUFFIXES = (".publishing", ".building", ".docs")


def remove_stale_files(warehouse: Path) -> list[Path]:
    """Remove the working files of builds that died (call only while holding the build lock)."""
    removed = []
    for suffix in STALE_SUFFIXES:
        path = warehouse.with_name(warehouse.name + suffix)
        for candidate in (path, wal_of(path)):
            if candidate.exists():
                candidate.unlink()
                removed.append(candidate)
    record = state_folder(warehouse)
    for leftover in (
        state_path(warehouse).with_name(state_path(warehouse).name + ".tmp"),
        record / "inputs.json.tmp",
        record / "manifest.json.tmp",
    ):
        leftover.unlink(missing_ok=True)
    # Parquet files a dead build was writing (finished files are renamed from these only once synced).
    for leftover in serving_folder(warehouse).rglob(f"*{TEMPORARY_SUFFIX}"):
        leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed


def _opens(path: Path) -> bool:
    """The working database opens (replaying its WAL): it survived whatever stopped the last build."""
    import duckdb

    try:
        duckdb.connect(str(path)).close()
    except duckdb.Error:
        return False
    return True


def _is_whole_warehouse(path: Path) -> bool:
    """A warehouse of the earlier layout (dbt built the served file itself): it holds the trades."""
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False
    try:
        tables = {
            name for (name,) in con.execute("select table_name from information_schema.tables").fetchall()
        }
    finally:
        con.close()
    return "int_trades__deduplicated" in tables


def _say(console: Console | None, text: str) -> None:
    if console is not None:
        console.print(text, highlight=False)


def _waiting(console: Console | None, warehouse: Path, what: str) -> Callable[[Holder | None], None]:
    def on_wait(holder: Holder | None) -> None:
        who = holder.describe() if holder else "another process"
        _say(console, f"[yellow]{what}: waiting for {who}, which is building {warehouse} (--no-wait to stop)")

    return on_wait


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, wal_of(path)) if p.exists())


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
    wait: bool = True,
    wait_timeout: float | None = None,
    command: str = "build",
    target: str | None = None,
) -> DbtOutcome:
    """Build the warehouse under its build lock: `dbt build` in place in the working database, then
    publish the served marts as the warehouse file (liquidationheatmap/publish.py).

    One build per warehouse at a time: another holder makes this wait (saying so on `console`), or,
    with `wait=False` (or after `wait_timeout` seconds), raise BuildLocked. A failed build or a failed
    publication returns an unsuccessful outcome and leaves the warehouse as it was; a full disk
    raises DiskFullError, naming the path and the space needed. `command` is how the lock file names
    this build to others (`build`, `live`). The models read truth (true liquidations
    to score against, the simulator's positions) from the lake, where `ingest` loads the simulator's
    `truth/` folder; `truth`, when given, is such a folder ingested into the lake first. Without
    truth the build works (the scores are then empty). `target="spark"` builds the SQL models on
    Apache Spark instead (`build_on_spark`), outside the lock and publication: the DuckDB warehouse
    is untouched.
    """
    lake, warehouse = Path(lake).resolve(), Path(warehouse).resolve()
    present = check_lake(lake)
    if target == SPARK_TARGET:
        if truth is not None:
            ingest_truth(Path(truth).resolve(), lake)
        return build_on_spark(
            lake, warehouse, full_refresh=full_refresh, select=select, exclude=exclude, console=console,
            extra_vars=extra_vars, debug_log=debug_log,
        )  # fmt: skip
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with build_lock(
        warehouse,
        command,
        wait=wait,
        timeout=wait_timeout,
        on_wait=_waiting(console, warehouse, command),
    ) as me:
        # Under the build lock: two builds started together would otherwise both load the truth
        # folder, and the second would stop at the lake's ingest lock.
        if truth is not None:
            ingest_truth(Path(truth).resolve(), lake)
        try:
            return _build_locked(
                lake,
                warehouse,
                me,
                present=present,
                full_refresh=full_refresh,
                select=select,
                exclude=exclude,
                console=console,
                memory_limit=memory_limit,
                threads=threads,
                extra_vars=extra_vars,
                debug_log=debug_log,
            )
        except OSError as error:
            if not is_disk_full(error):
                raise
            path = Path(error.filename) if error.filename else working_database(warehouse)
            raise DiskFullError(
                disk_full_message(path, _size(working_database(warehouse)) + _size(warehouse), "this build")
            ) from error


def _build_arguments(
    lake: Path,
    present: list[str],
    full_refresh: bool,
    select: Sequence[str] | None,
    exclude: Sequence[str] | None,
    extra_vars: dict | None,
    state: Path | None = None,
) -> tuple[list[str], dict]:
    """`dbt build`'s arguments and vars, the same on every target: the lake's datasets and truth
    datasets as vars (the models branch on them), then the caller's. `state`: the folder of the
    manifest a `state:modified` selector compares with."""
    args = ["build", *(["--full-refresh"] if full_refresh else [])]
    if select:
        args += ["--select", *select]
    if state is not None:
        args += ["--state", str(state)]
    if exclude:
        args += ["--exclude", *exclude]
    dbt_vars = {"lake_datasets": present, "truth_datasets": truth_datasets(lake), **(extra_vars or {})}
    return args, dbt_vars


def _build_locked(
    lake: Path,
    warehouse: Path,
    me: Holder,
    *,
    present: list[str],
    full_refresh: bool,
    select: Sequence[str] | None,
    exclude: Sequence[str] | None,
    console: Console | None,
    memory_limit: str | None,
    threads: int | None,
    extra_vars: dict | None,
    debug_log: bool,
) -> DbtOutcome:
    remove_stale_files(warehouse)
    working = working_database(warehouse)
    previous = read_state(warehouse)
    if working.exists() and not _opens(working):
        _say(console, f"[yellow]build: {working} does not open (a build died writing it); rebuilding it")
        remove_database(working)
    if not working.exists() and warehouse.exists() and _is_whole_warehouse(warehouse):
        # The earlier layout: the served file is a whole dbt warehouse; adopt it once.
        shutil.copy2(warehouse, working)
        previous = {"state": "published"}
    # An interrupted or failed build left the working database part new, part old. Each model is
    # one DuckDB transaction and every incremental model finds what to (re)build from its own
    # table (days or loads it does not hold yet), so the next build completes the data; but the
    # rows the unfinished build loaded were never tested, so this build tests every row.
    unfinished = working.exists() and previous.get("state") not in ("published", "built")
    if unfinished:
        _say(
            console,
            f"[yellow]build: the previous build of {warehouse} did not finish "
            f"({previous.get('state', 'no record')}, PID {previous.get('pid', '?')}, started "
            f"{previous.get('started_at', '?')}); this build completes it and tests every row",
        )
    incremental = working.exists() and not full_refresh
    args, dbt_vars = _build_arguments(lake, present, full_refresh, select, exclude, extra_vars)
    # What changed since the last complete build decides what dbt runs (build_selection.py); the
    # inputs are read before dbt starts, so a file ingested meanwhile is new to the next build.
    inputs = current_inputs(lake, warehouse, DBT_PROJECT_DIR, [*present, *truth_datasets(lake)], dbt_vars)
    chosen = plan(
        warehouse,
        working,
        inputs,
        previous_state=previous.get("state"),
        full_refresh=full_refresh,
        select=select,
        exclude=exclude,
    )
    if not chosen.run_dbt:
        _say(console, f"selection: {chosen.reason}: 0 nodes, dbt not run")
        outcome = DbtOutcome(True, reason=chosen.reason)
        if chosen.publish:
            _write_state(warehouse, "built", pid=me.pid, started_at=me.started_at, command=me.command)
            return _publish_outcome(warehouse, working, outcome, memory_limit, me, merge=True)
        return outcome
    if chosen.complete and chosen.select:
        args, dbt_vars = _build_arguments(
            lake, present, full_refresh, chosen.select, exclude, extra_vars, state=chosen.state
        )
    _say(
        console,
        f"selection: {chosen.reason}"
        + (f" -> dbt build --select {' '.join(chosen.select)}" if chosen.complete and chosen.select else ""),
    )
    _write_state(warehouse, "building", pid=me.pid, started_at=me.started_at, command=me.command)
    # An incremental build scopes the tests of the big incremental tables to the rows it loaded
    # (dbt_project/macros/test_scope.sql); a full build, or one after an unfinished build, tests all.
    scope = {TEST_SCOPE_ENV: "latest_load" if incremental and not unfinished else "all"}
    environment = {"LIQUIDATIONHEATMAP_ROOT": str(PROJECT_ROOT), **scope}
    snapshot = snapshot_lake_manifest(lake, target_dir_for(warehouse))
    if snapshot is not None:
        environment[LAKE_MANIFEST_ENV] = str(snapshot)
    size_before = _size(working)
    with _environment(environment):
        outcome = run_dbt(
            args,
            lake=lake,
            warehouse=working,
            dbt_vars=dbt_vars,
            console=console,
            memory_limit=memory_limit,
            threads=threads,
            on_node=lambda node: crash_point(f"node:{node.name}"),
            target_dir=target_dir_for(warehouse),
            debug_log=debug_log,
        )
    outcome.reason = chosen.reason
    # Results of a build that ran part of the project are merged into the kept ones.
    partial = not (chosen.complete and chosen.select is None)
    reason = " ".join([outcome.error or "", *(n.message for n in outcome.failures)])
    if not outcome.success and is_disk_full(reason):
        # Nothing more is written: the state file still says "building", which is what the next
        # build needs to know (it completes this one and tests every row).
        with contextlib.suppress(OSError):
            _keep_results(warehouse, merge=partial)
        needed = max(size_before, _size(working)) + (warehouse.stat().st_size if warehouse.exists() else 0)
        raise DiskFullError(disk_full_message(working, needed, "a full rebuild of this warehouse"))
    if not outcome.success and full_refresh:
        forget(warehouse)  # a failed full refresh: the next build builds every node
    elif not outcome.success or not chosen.complete:
        # Nodes this build changed (or failed) outside a complete build: the next build redoes them.
        record_dirty(warehouse, _touched(outcome))
    if not outcome.success:
        _keep_results(warehouse, merge=partial)
        _write_state(warehouse, "failed", pid=me.pid, started_at=me.started_at, command=me.command)
        if is_disk_full(reason):
            needed = max(size_before, _size(working)) + (
                warehouse.stat().st_size if warehouse.exists() else 0
            )
            raise DiskFullError(disk_full_message(working, needed, "a full rebuild of this warehouse"))
        return outcome
    if chosen.complete:
        record_complete(warehouse, inputs, target_dir_for(warehouse) / "manifest.json")
    _write_state(warehouse, "built", pid=me.pid, started_at=me.started_at, command=me.command)
    crash_point("dbt:done")
    return _publish_outcome(warehouse, working, outcome, memory_limit, me, merge=partial)


def _touched(outcome: DbtOutcome) -> list[str]:
    """Models and seeds a build ran, and the tests that did not pass."""
    return sorted(
        node.name
        for node in outcome.nodes
        if node.status not in ("skipped", "no-op")
        and (node.resource_type in ("model", "seed", "snapshot") or node.status not in ("success", "pass"))
    )


def _publish_outcome(
    warehouse: Path, working: Path, outcome: DbtOutcome, memory_limit: str | None, me: Holder, merge: bool
) -> DbtOutcome:
    try:
        publication = _publish(warehouse, working, outcome, memory_limit, me, merge)
    except PublishError as error:
        _keep_results(warehouse, merge=merge)
        outcome.success = False
        outcome.error = str(error)
        return outcome
    outcome.publication = publication
    return outcome


def _publish(
    warehouse: Path, working: Path, outcome: DbtOutcome, memory_limit: str | None, me: Holder, merge: bool
) -> Publication:
    """Publish what changed (publish.py), verified, swapped in with the results file under the
    publish lock; then remove the serving files no reader can need any more."""
    manifest = target_dir_for(warehouse) / "manifest.json"
    relations = served_relations(manifest)
    ran = {node.name for node in outcome.nodes if node.resource_type in ("model", "seed")}
    target = publishing_path(warehouse)
    needed = _size(warehouse)  # the new file (small); the Parquet files that changed come on top
    if needed and free_bytes(warehouse.parent) < needed:
        raise DiskFullError(disk_full_message(target, needed, "the new warehouse (the size of the last one)"))
    try:
        publication = publish_serving(
            working,
            warehouse,
            relations,
            required={r.name for r in relations if r.name in ran},
            memory_limit=memory_limit,
        )
    except DiskFullError as error:
        raise DiskFullError(
            disk_full_message(target, max(needed, _size(working) // 4), "the new warehouse") + f" ({error})"
        ) from error
    crash_point("publish:verified")
    results = build_results_path(warehouse)
    with publish_lock(warehouse, shared=False):
        if not publication.unchanged:
            swap_in(publication.path, warehouse)
            publication.path = warehouse
        crash_point("publish:swapped")
        _keep_results(warehouse, merge=merge)
        _record_publication(results, publication)
        _write_state(warehouse, "published", pid=me.pid, started_at=me.started_at, command=me.command)
    # The files of the warehouse just replaced stay for readers that opened it; older ones go.
    collect_garbage(warehouse, publication.files | publication.previous_files)
    return publication


def spark_paths(warehouse: Path) -> dict[str, str]:
    """Where the Spark target keeps its tables and Derby metastore: `spark/` beside the warehouse."""
    root = Path(warehouse).resolve().with_name("spark")
    return {
        "DBT_SPARK_WAREHOUSE": str(root / "warehouse"),
        "DBT_SPARK_METASTORE": str(root / "metastore_db"),
    }


def spark_disabled_notice() -> str:
    """What `build --target spark` leaves out: every dbt Python model of the project (the .py files
    under dbt_project/models), and with them the scoring models that read them."""
    names = sorted(path.stem for path in (DBT_PROJECT_DIR / "models").rglob("*.py"))
    return (
        f"Spark target: the dbt Python models ({', '.join(names)}) are disabled, and the scoring "
        "models that read them; int_leverage__learned is the fit of the learned_leverage variant, so "
        "Spark has no learned_leverage levels. dbt runs Python models on Spark only through "
        "Databricks (docs/scale.md); the DuckDB target builds them."
    )


def build_on_spark(
    lake: Path,
    warehouse: Path,
    *,
    full_refresh: bool = False,
    select: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    console: Console | None = None,
    extra_vars: dict | None = None,
    debug_log: bool = False,
) -> DbtOutcome:
    """`dbt build --target spark`: the SQL models and tests on Spark (profiles.yml: a local[2]
    session by default) over the same lake. Spark's tables are built in place under `spark/` beside
    the warehouse (incremental models replace the partitions of the days they rebuild); the DuckDB
    warehouse and the API are untouched."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailable(
            "the spark target needs the `spark` dependency group: uv sync --group spark "
            "(dbt-spark[session] and pyspark; Java 17 on PATH)"
        ) from None
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise SparkUnavailable("the spark target needs Java 17 (`java` on PATH or JAVA_HOME); "
                           "Debian: apt-get install openjdk-17-jre-headless")  # fmt: skip
    if console is not None:
        console.print(f"[yellow]{spark_disabled_notice()}", highlight=False)
    args, dbt_vars = _build_arguments(lake, check_lake(lake), full_refresh, select, exclude, extra_vars)
    environment = {
        **spark_paths(warehouse),
        "LIQUIDATIONHEATMAP_ROOT": str(PROJECT_ROOT),
        TEST_SCOPE_ENV: "all",
    }
    with _environment(environment):
        return run_dbt(
            args,
            lake=lake,
            warehouse=warehouse,
            dbt_vars=dbt_vars,
            console=console,
            target_dir=Path(warehouse).resolve().with_name("dbt_target_spark"),
            debug_log=debug_log,
            target=SPARK_TARGET,
        )


def build_results_path(warehouse: Path) -> Path:
    """Where the last build's dbt run_results.json is kept (beside the warehouse)."""
    return Path(warehouse).with_name("dbt_build_results.json")


def _keep_results(warehouse: Path, merge: bool = False) -> None:
    """Keep dbt's run_results.json beside the warehouse. A build that ran part of the project
    (`merge`) keeps the previous results of the nodes it did not run, so the file (and `validate`)
    always holds the latest verdict of every node."""
    source = target_dir_for(warehouse) / "run_results.json"
    if not source.exists():
        return
    destination = build_results_path(warehouse)
    temporary = destination.with_name(destination.name + ".tmp")
    if merge and destination.exists():
        try:
            earlier = json.loads(destination.read_text(encoding="utf-8"))
        except ValueError:
            earlier = {}
        latest = json.loads(source.read_text(encoding="utf-8"))
        ran = {result.get("unique_id") for result in latest.get("results", [])}
        kept = [r for r in earlier.get("results", []) if r.get("unique_id") not in ran]
        latest["results"] = kept + latest.get("results", [])
        temporary.write_text(json.dumps(latest), encoding="utf-8")
    else:
        shutil.copyfile(source, temporary)
    os.replace(temporary, destination)


def _record_publication(results: Path, publication: Publication) -> None:
    """Add what was published (file, relations, their columns and row counts) to the results file."""
    data = json.loads(results.read_text(encoding="utf-8")) if results.exists() else {}
    data["published"] = publication.as_json()
    temporary = results.with_name(results.name + ".tmp")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, results)


def copy_warehouse(source: Path, destination: Path) -> None:
    """Copy a built warehouse with its working database and state (for a test or a backup; no build
    may be running on `source`)."""
    source, destination = Path(source), Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, destination)
    if serving_folder(source).is_dir():
        shutil.rmtree(serving_folder(destination), ignore_errors=True)
        shutil.copytree(serving_folder(source), serving_folder(destination))
    relocate(destination)  # its views read the copied Parquet files, not the source's
    pairs = [
        (working_database(source), working_database(destination)),
        (state_path(source), state_path(destination)),
    ]
    pairs += [(build_results_path(source), build_results_path(destination))]
    for origin, copy in pairs:
        if origin.exists():
            shutil.copy2(origin, copy)
    if state_folder(source).is_dir():
        shutil.rmtree(state_folder(destination), ignore_errors=True)
        shutil.copytree(state_folder(source), state_folder(destination))
        rebase(destination)


def generate_docs(
    lake: Path,
    warehouse: Path,
    console: Console | None = None,
    *,
    wait: bool = True,
    wait_timeout: float | None = None,
) -> tuple[DbtOutcome, Path]:
    """`dbt docs generate --static` under the build lock; returns the self-contained page.
    (`console` gets the message when it has to wait.)

    It reads column types from dbt's working database, which only the build lock's holder opens, so
    it neither waits on nor disturbs the served warehouse; a running build makes it wait (or, with
    `wait=False`, raise BuildLocked).
    """
    lake, warehouse = Path(lake).resolve(), Path(warehouse).resolve()
    present = lake_datasets(lake)
    if not warehouse.exists():
        raise FileNotFoundError(
            f"no warehouse at {warehouse}: run `liquidationheatmap build` first (the lineage site "
            "reads column types from the built warehouse)"
        )
    with build_lock(
        warehouse, "docs", wait=wait, timeout=wait_timeout, on_wait=_waiting(console, warehouse, "docs")
    ):
        remove_stale_files(warehouse)
        working = working_database(warehouse)
        if not working.exists():
            # A served warehouse without its working database (copied alone): document that, on a
            # copy, since dbt opens its database for writing and the API reads the warehouse.
            working = warehouse.with_name(warehouse.name + ".docs")
            shutil.copy2(warehouse, working)
        try:
            outcome = run_dbt(
                ["docs", "generate", "--static"],
                lake=lake,
                warehouse=working,
                dbt_vars={"lake_datasets": present or list(REQUIRED_DATASETS)},
                target_dir=target_dir_for(warehouse),
            )
        finally:
            if working.name.endswith(".docs"):
                remove_database(working)
    return outcome, target_dir_for(warehouse) / "static_index.html"
