"""Publish what the API serves from dbt's working database, at a cost that follows what changed.

dbt builds in place in a working database beside the warehouse (`<stem>.working.duckdb`); the
warehouse itself (DUCKDB_PATH) is a small DuckDB file that serves only the relations the API,
`validate` and `score` read: every model under `models/marts/`, every seed, and any model whose
YAML says `meta: {serve: true}` (the price candles of `int_trades__per_bucket`).

- A big relation (SMALL_RELATION_ROWS rows or more) is served as a view over Parquet files in the
  serving folder `<stem>.serving/`, one file per partition: per `symbol` (a hive folder
  `symbol=<S>/`, so a query for one symbol opens only that symbol's files) and per calendar month of
  its first date or timestamp column. A file is named by its partition's checksum (row count and
  the sum of DuckDB's row hashes, floats at float32 precision; one scan in DuckDB): a partition
  whose rows did not change keeps its file, so a build writes only the partitions that changed.
- A small relation (or one with a column type Parquet does not hold exactly) is a table in the
  warehouse file itself, written anew by each publication (bounded by SMALL_RELATION_ROWS).
- If no relation changed at all, nothing is written: the warehouse file stays as it is (the API's
  cache, keyed on the file's identity, stays warm).

A publication writes the new Parquet files (each to a temporary name, synced, then renamed), then
the new warehouse file `<warehouse>.publishing` (tables, views and the manifest of the files it
serves, in the `publication` schema), checkpoints and closes it, opens it again read-only and checks
every relation (the working database's columns and types, and its row count; every newly written
file's row count), and only then is it `os.replace`d over the warehouse. Files are never rewritten
in place; those of the generation just replaced are kept until the next publication (a reader that
opened the old file can finish), and older ones are removed then (`collect_garbage`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

SERVE_META_KEY = "serve"
SERVED_MODEL_FOLDER = "models/marts/"
CRASH_ENV = "LIQUIDATIONHEATMAP_BUILD_CRASH_AT"  # test hook: kill -9 ourselves at a named point
DISK_FULL_MARKERS = ("no space left on device", "file too large", "disk full", "not enough space")
# Relations with fewer rows are tables in the warehouse file (rewritten by every publication, so
# this bounds what a build with nothing new rewrites); bigger ones are Parquet partitions.
SMALL_RELATION_ROWS = 50_000
MANIFEST_SCHEMA = "publication"
MANIFEST_FORMAT = 1
TEMPORARY_SUFFIX = ".tmp"
# Column types that Parquet holds exactly (DuckDB reads them back as the same type). HUGEINT is
# written as text and cast back; a relation with any other type is served as a table.
PARQUET_EXACT_TYPES = frozenset(
    {
        "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER",
        "UBIGINT", "FLOAT", "DOUBLE", "VARCHAR", "DATE", "TIME", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE",
        "INTERVAL", "BLOB", "UUID",
    }
)  # fmt: skip
PARQUET_AS_TEXT_TYPES = frozenset({"HUGEINT", "UHUGEINT"})
TIME_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE")
SAFE_SYMBOL = re.compile(r"[A-Za-z0-9_.-]+")
DECIMAL = re.compile(r"DECIMAL\(\d+,\d+\)")


class PublishError(RuntimeError):
    """The new warehouse could not be written or failed its check; the served one is unchanged."""


class DiskFullError(RuntimeError):
    """A write failed for lack of space (or a file-size limit); nothing served was changed."""


@dataclass(frozen=True)
class ServedRelation:
    name: str
    declared_columns: tuple[str, ...]


@dataclass
class Publication:
    """What a publication served: the file, every relation's rows and columns, and the Parquet files
    it wrote, kept or (`unchanged`) found already served."""

    path: Path
    seconds: float
    bytes: int
    rows: dict[str, int] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    storage: dict[str, str] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)  # serving-folder paths of every file served
    written: list[str] = field(default_factory=list)  # of which this publication wrote these
    written_bytes: int = 0
    previous_files: set[str] = field(default_factory=set)  # served by the warehouse it replaces
    unchanged: bool = False  # nothing changed: the warehouse file was kept as it is

    def as_json(self) -> dict:
        return {
            "path": str(self.path),
            "seconds": round(self.seconds, 3),
            "bytes": self.bytes,
            "unchanged": self.unchanged,
            "parquet_files": len(self.files),
            "parquet_files_written": len(self.written),
            "parquet_bytes_written": self.written_bytes,
            "relations": {
                name: {"rows": self.rows[name], "columns": self.columns[name], "storage": self.storage[name]}
                for name in sorted(self.rows)
            },
        }


def crash_point(name: str) -> None:
    """Test hook: SIGKILL this process when CRASH_ENV names this point (kill -9 at a known moment)."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def working_database(warehouse: Path) -> Path:
    """dbt's working database of a warehouse: built in place, never served."""
    warehouse = Path(warehouse)
    return warehouse.with_name(f"{warehouse.stem}.working{warehouse.suffix or '.duckdb'}")


def serving_folder(warehouse: Path) -> Path:
    """The Parquet files the warehouse's views read: `<stem>.serving/` beside it."""
    warehouse = Path(warehouse)
    return warehouse.with_name(f"{warehouse.stem}.serving")


def publishing_path(warehouse: Path) -> Path:
    return Path(warehouse).with_name(Path(warehouse).name + ".publishing")


def wal_of(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + ".wal")


def remove_database(path: Path) -> None:
    for candidate in (Path(path), wal_of(path)):
        candidate.unlink(missing_ok=True)


def served_relations(manifest_path: Path) -> list[ServedRelation]:
    """The relations the warehouse serves, from dbt's manifest of the build."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    served = []
    for node in manifest.get("nodes", {}).values():
        kind = node.get("resource_type")
        if kind not in ("model", "seed"):
            continue
        materialized = (node.get("config") or {}).get("materialized")
        if materialized == "ephemeral":
            continue
        meta = {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}
        path = str(node.get("original_file_path", ""))
        if kind == "seed" or path.startswith(SERVED_MODEL_FOLDER) or meta.get(SERVE_META_KEY) is True:
            name = node.get("alias") or node["name"]
            served.append(ServedRelation(name, tuple(node.get("columns", {}) or ())))
    return sorted(served, key=lambda r: r.name)


def is_disk_full(error: BaseException | str) -> bool:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return True
    return any(marker in str(error).lower() for marker in DISK_FULL_MARKERS)


def free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def disk_full_message(path: Path, needed: int, what: str) -> str:
    free = free_bytes(Path(path).parent)
    return (
        f"disk full writing {path}: {free / 2**20:,.1f} MiB free there, {what} needs about "
        f"{needed / 2**20:,.1f} MiB; free some space and build again"
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# (Catalog names are the aliases this module attaches, so they are spelled into the SQL: a prepared
# parameter keeps DuckDB from pushing the filter into information_schema, which then binds every
# view of the working database, 10-20 s on the shared machine.)
def _columns(con: duckdb.DuckDBPyConnection, catalog: str, name: str) -> list[tuple[str, str]]:
    return _all_columns(con, catalog).get(name, [])


def _all_columns(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[tuple[str, str]]]:
    """Every table's and view's columns in the catalog's main schema, in order."""
    found: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in con.execute(
        "select table_name, column_name, data_type from duckdb_columns() "
        f"where database_name = {_literal(catalog)} and schema_name = 'main' "
        "order by table_name, column_index"
    ).fetchall():
        found.setdefault(str(table), []).append((str(column), str(kind)))
    return found


def _existing(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    """Tables and views of the catalog's main schema."""
    where = f"where database_name = {_literal(catalog)} and schema_name = 'main'"
    tables = con.execute(f"select table_name from duckdb_tables() {where}").fetchall()
    views = con.execute(f"select view_name from duckdb_views() {where} and not internal").fetchall()
    return {name for (name,) in tables + views}


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    _fsync(folder)


# ---------------------------------------------------------------------------------------------------
# Planning: what each relation is made of, and which of its partitions changed


def _parquet_column(kind: str) -> str | None:
    """How a column of this type goes into Parquet: 'exact', 'text' (cast back) or None (it cannot)."""
    base = kind
    while base.endswith("[]"):
        base = base[:-2]
    if base in PARQUET_EXACT_TYPES or DECIMAL.fullmatch(base):
        return "exact"
    if kind in PARQUET_AS_TEXT_TYPES:
        return "text"
    return None


@dataclass
class _Partition:
    symbol: str | None
    month: str | None
    rows: int
    checksum: int  # of the rows with floats to float32 precision: what says "changed"
    file: str = ""  # serving-folder path


@dataclass
class _Plan:
    name: str
    columns: list[tuple[str, str]]
    rows: int
    checksum: int
    storage: str  # "table" or "parquet"
    signature: str = ""
    by_symbol: bool = False
    time_column: str | None = None
    partitions: list[_Partition] = field(default_factory=list)
    parquet_types: dict[str, str] = field(default_factory=dict)

    def manifest(self) -> dict:
        entry = {
            "storage": self.storage,
            "signature": self.signature,
            "rows": self.rows,
            "checksum": str(self.checksum),
        }
        if self.storage == "parquet":
            entry |= {
                "columns": self.columns,
                "parquet_types": self.parquet_types,
                "by_symbol": self.by_symbol,
                "partitions": [
                    {"symbol": p.symbol, "month": p.month, "rows": p.rows, "checksum": str(p.checksum),
                     "file": p.file}
                    for p in self.partitions
                ],
            }  # fmt: skip
        return entry


def _signature(plan: _Plan) -> str:
    text = json.dumps(
        [MANIFEST_FORMAT, duckdb.__version__, plan.storage, plan.columns, plan.by_symbol, plan.time_column]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


FLOAT_TYPES = ("DOUBLE", "FLOAT")


def _content_hash(columns: list[tuple[str, str]]) -> str:
    """A row's hash with its floats rounded to float32 precision (6e-8 relative). DuckDB sums in
    parallel in no fixed order, so a rebuild with nothing new changes the last bits of about 1 % of
    the heatmap's values (4.6e-13 relative at most, measured); this hash does not see that."""
    parts = []
    for column, kind in columns:
        quoted = f'"__row".{_quote(column)}'
        if kind in FLOAT_TYPES:
            quoted = f"coalesce(try_cast({quoted} as float)::double, {quoted})"
        parts.append(quoted)
    return f"hash({', '.join(parts)})"


def _plan(con: duckdb.DuckDBPyConnection, name: str, columns: list[tuple[str, str]]) -> _Plan:
    """One scan of the relation in the working database: rows and checksum per partition."""
    kinds = dict(columns)
    by_symbol = kinds.get("symbol") == "VARCHAR"
    time_column = next((c for c, k in columns if k in TIME_TYPES), None)
    symbol = '"__row"."symbol"' if by_symbol else "null::varchar"
    month = (
        f"strftime(date_trunc('month', \"__row\".{_quote(time_column)}), '%Y-%m')"
        if time_column
        else "null::varchar"
    )
    found = con.execute(
        f"select {symbol}, {month}, count(*), sum({_content_hash(columns)}) "
        f'from work.main.{_quote(name)} as "__row" group by all'
    ).fetchall()
    partitions = [_Partition(s, m, int(n), int(h or 0)) for s, m, n, h in found]
    if by_symbol and any(p.symbol is None or not SAFE_SYMBOL.fullmatch(p.symbol) for p in partitions):
        by_symbol = False  # a symbol that cannot be a folder name: partitions by month only
        merged: dict[str | None, _Partition] = {}
        for p in partitions:
            into = merged.setdefault(p.month, _Partition(None, p.month, 0, 0))
            into.rows += p.rows
            into.checksum += p.checksum
        partitions = list(merged.values())
    rows = sum(p.rows for p in partitions)
    exact = all(_parquet_column(kind) for _, kind in columns)
    storage = "parquet" if rows >= SMALL_RELATION_ROWS and exact else "table"
    plan = _Plan(name, columns, rows, sum(p.checksum for p in partitions), storage)
    if storage == "parquet":
        plan.by_symbol, plan.time_column = by_symbol, time_column
        plan.partitions = sorted(partitions, key=lambda p: (p.symbol or "", p.month or ""))
    plan.signature = _signature(plan)
    for p in plan.partitions:
        digest = hashlib.sha256(f"{plan.signature}|{p.symbol}|{p.month}|{p.rows}|{p.checksum}".encode())
        folder = f"{name}/symbol={p.symbol}" if plan.by_symbol else name
        p.file = f"{folder}/{p.month or 'all'}-{digest.hexdigest()[:20]}.parquet"
    return plan


def _partition_filter(plan: _Plan, partition: _Partition) -> str:
    """The partition's rows, as a range on the time column (which DuckDB's zone maps can prune)."""
    conditions = []
    if plan.by_symbol:
        conditions.append(f'"symbol" = {_literal(partition.symbol or "")}')
    if plan.time_column:
        column, kind = _quote(plan.time_column), dict(plan.columns)[plan.time_column]
        if partition.month is None:
            conditions.append(f"{column} is null")
        else:
            year, month = (int(part) for part in partition.month.split("-"))
            end = f"{year + month // 12:04d}-{month % 12 + 1:02d}-01"
            conditions.append(
                f"{column} >= cast('{partition.month}-01' as {kind}) and {column} < cast('{end}' as {kind})"
            )
    return " and ".join(conditions) or "true"


def _write_projection(plan: _Plan) -> str:
    """The columns as they go into a file: the hive key left out, HUGEINT as text."""
    parts = []
    for column, kind in plan.columns:
        if plan.by_symbol and column == "symbol":
            continue
        quoted = _quote(column)
        parts.append(f"cast({quoted} as varchar) as {quoted}" if _parquet_column(kind) == "text" else quoted)
    return ", ".join(parts)


def _read_options(plan_by_symbol: bool) -> str:
    if plan_by_symbol:
        return "hive_partitioning = true, hive_types = {'symbol': 'VARCHAR'}, hive_types_autocast = false"
    return "hive_partitioning = false"


def _read_projection(columns: list[tuple[str, str]], parquet_types: dict[str, str]) -> str:
    """The columns as the view serves them: the working database's names, order and types."""
    parts = []
    for column, kind in columns:
        quoted = _quote(column)
        parts.append(quoted if parquet_types.get(column) == kind else f"cast({quoted} as {kind}) as {quoted}")
    return ", ".join(parts)


def view_sql(entry: dict, folder: Path) -> str:
    """The select of a Parquet relation's view (from its manifest entry), reading files in `folder`."""
    files = ", ".join(_literal(str(Path(folder) / p["file"])) for p in entry["partitions"])
    columns = [tuple(c) for c in entry["columns"]]
    return (
        f"select {_read_projection(columns, entry['parquet_types'])} "
        f"from read_parquet([{files}], {_read_options(entry['by_symbol'])})"
    )


# ---------------------------------------------------------------------------------------------------
# The manifest a warehouse file carries (which files it serves)


def read_manifest(warehouse: Path) -> dict | None:
    """The manifest of a published warehouse (None: no file, or one without it, e.g. older)."""
    warehouse = Path(warehouse)
    if not warehouse.exists():
        return None
    try:
        con = open_read_only(warehouse)
    except duckdb.Error:
        return None
    try:
        (body,) = con.execute(f"select body from {MANIFEST_SCHEMA}.manifest").fetchone()
        return json.loads(body)
    except (duckdb.Error, TypeError, ValueError):
        return None
    finally:
        con.close()


def open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection to the file `path` names now, read-only (as the API opens it: an in-memory
    database that ATTACHes it, so never a cached handle of a file that was since replaced)."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach {_literal(str(path))} as served (read_only)")
        con.execute("use served")
    except BaseException:
        con.close()
        raise
    return con


def manifest_files(manifest: dict | None) -> set[str]:
    if not manifest:
        return set()
    return {
        p["file"]
        for entry in manifest.get("relations", {}).values()
        if entry.get("storage") == "parquet"
        for p in entry["partitions"]
    }


def _write_manifest(con: duckdb.DuckDBPyConnection, catalog: str, manifest: dict) -> None:
    con.execute(f"create schema if not exists {catalog}.{MANIFEST_SCHEMA}")
    con.execute(f"create or replace table {catalog}.{MANIFEST_SCHEMA}.manifest (body varchar)")
    # (A literal, not a parameter: binding one makes DuckDB's Python client import pandas.)
    body = _literal(json.dumps(manifest))
    con.execute(f"insert into {catalog}.{MANIFEST_SCHEMA}.manifest values ({body})")


def relocate(warehouse: Path) -> None:
    """Point a copied warehouse's views at the serving folder beside it (absolute paths inside)."""
    warehouse = Path(warehouse).resolve()
    manifest = read_manifest(warehouse)
    folder = serving_folder(warehouse)
    if manifest is None or manifest.get("folder") == str(folder):
        return
    con = duckdb.connect(str(warehouse))
    try:
        for name, entry in manifest["relations"].items():
            if entry["storage"] == "parquet":
                con.execute(f"create or replace view main.{_quote(name)} as {view_sql(entry, folder)}")
        manifest["folder"] = str(folder)
        _write_manifest(con, current_catalog(con), manifest)
        con.execute("checkpoint")
    finally:
        con.close()


def current_catalog(con: duckdb.DuckDBPyConnection) -> str:
    return _quote(con.execute("select current_database()").fetchone()[0])


# ---------------------------------------------------------------------------------------------------
# Publishing


def publish_serving(
    working: Path,
    warehouse: Path,
    relations: Iterable[ServedRelation],
    *,
    required: set[str],
    memory_limit: str | None = None,
) -> Publication:
    """Write what changed since the served warehouse as `<warehouse>.publishing` (and new Parquet
    files), close it and verify it; the caller swaps it in (`swap_in`) unless `unchanged`.

    Relations in `required` must exist in the working database (a build that ran them made them);
    others are published when they exist. Raises PublishError (a relation missing or not as built)
    or DiskFullError; on any failure the new file and the Parquet files this call wrote are removed.
    """
    started = time.perf_counter()
    working, warehouse = Path(working).resolve(), Path(warehouse).resolve()
    target, folder = publishing_path(warehouse), serving_folder(warehouse)
    relations = list(relations)
    remove_database(target)
    previous = read_manifest(warehouse)
    written: list[Path] = []
    try:
        con = duckdb.connect(":memory:", config={"memory_limit": memory_limit} if memory_limit else {})
        try:
            con.execute("set TimeZone = 'UTC'")
            con.execute(f"attach {_literal(str(working))} as work (read_only)")
            plans = _plans(con, working, relations, required)
            manifest = {
                "format": MANIFEST_FORMAT,
                "folder": str(folder),
                "relations": {plan.name: plan.manifest() for plan in plans},
            }
            if previous is not None and _same(previous, manifest):
                unchanged = True
            else:
                unchanged = False
                written = _write_changed(con, plans, manifest, previous, folder)
                _write_serving_database(con, target, plans, manifest, folder)
        finally:
            con.close()
        if unchanged:
            publication = verify_serving_database(warehouse, _expected(plans), {})
            publication.unchanged = True
            publication.previous_files = set(previous.get("previous_files", []))
        else:
            new = {p.file: p for plan in plans for p in plan.partitions if folder / p.file in written}
            publication = verify_serving_database(target, _expected(plans), new)
            publication.previous_files = manifest_files(previous)
    except BaseException as error:
        remove_database(target)
        for path in written:
            path.unlink(missing_ok=True)
        if isinstance(error, duckdb.Error | OSError) and is_disk_full(error):
            raise DiskFullError(str(error).splitlines()[0]) from error
        raise
    _describe(publication, plans, folder)
    publication.written = [str(p.relative_to(folder)) for p in written]
    publication.written_bytes = sum(p.stat().st_size for p in written)
    publication.seconds = time.perf_counter() - started
    return publication


def _write_changed(
    con: duckdb.DuckDBPyConnection, plans: list[_Plan], manifest: dict, previous: dict | None, folder: Path
) -> list[Path]:
    """Write the Parquet partitions that no verified publication wrote yet; returns the new files."""
    # Files served (and so verified) by the warehouse now served or by the one it replaced, and kept.
    verified = manifest_files(previous) | set((previous or {}).get("previous_files", []))
    written: list[Path] = []
    try:
        for plan in plans:
            if plan.storage != "parquet":
                continue
            for partition in plan.partitions:
                if partition.file not in verified or not (folder / partition.file).exists():
                    written.append(_write_partition(con, plan, partition, folder))
                    crash_point("publish:writing")
            plan.parquet_types = _parquet_types(con, plan, folder)
            manifest["relations"][plan.name] = plan.manifest()
        for path in {p.parent for p in written}:
            _fsync_folder(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    manifest["previous_files"] = sorted(manifest_files(previous))
    return written


def _plans(
    con: duckdb.DuckDBPyConnection, working: Path, relations: list[ServedRelation], required: set[str]
) -> list[_Plan]:
    present = _existing(con, "work")
    missing = sorted(r.name for r in relations if r.name in required and r.name not in present)
    if missing:
        raise PublishError(f"the build did not leave {', '.join(missing)} in {working}; not published")
    plans = []
    every = _all_columns(con, "work")
    for relation in relations:
        if relation.name not in present:
            continue
        columns = every[relation.name]
        undeclared = [c for c in relation.declared_columns if c not in {name for name, _ in columns}]
        if undeclared:
            raise PublishError(
                f"{relation.name} in {working} lacks the columns its YAML declares: "
                f"{', '.join(undeclared)}; not published"
            )
        plans.append(_plan(con, relation.name, columns))
    return plans


def _same(previous: dict, manifest: dict) -> bool:
    """The served warehouse already serves exactly these relations, rows and files."""
    if previous.get("format") != MANIFEST_FORMAT or previous.get("folder") != manifest["folder"]:
        return False
    old, new = previous.get("relations", {}), manifest["relations"]
    if set(old) != set(new):
        return False
    for name, entry in new.items():
        was = old[name]
        if any(was.get(key) != entry[key] for key in ("storage", "signature", "rows", "checksum")):
            return False
        if entry["storage"] == "parquet":
            if [p["file"] for p in was["partitions"]] != [p["file"] for p in entry["partitions"]]:
                return False
            if not all((Path(manifest["folder"]) / p["file"]).exists() for p in entry["partitions"]):
                return False
    return True


def _write_partition(
    con: duckdb.DuckDBPyConnection, plan: _Plan, partition: _Partition, folder: Path
) -> Path:
    final = folder / partition.file
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(final.name + TEMPORARY_SUFFIX)
    temporary.unlink(missing_ok=True)
    rows = f'from work.main.{_quote(plan.name)} as "__row" where {_partition_filter(plan, partition)}'
    try:
        con.execute(
            f"copy (select {_write_projection(plan)} {rows}) to {_literal(str(temporary))} (format parquet)"
        )
        _fsync(temporary)
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return final


def _parquet_types(con: duckdb.DuckDBPyConnection, plan: _Plan, folder: Path) -> dict[str, str]:
    """The types DuckDB reads back from the relation's files (one file's metadata)."""
    first = _literal(str(folder / plan.partitions[0].file))
    described = con.execute(
        f"describe select * from read_parquet([{first}], {_read_options(plan.by_symbol)})"
    ).fetchall()
    return {str(row[0]): str(row[1]) for row in described}


def _write_serving_database(
    con: duckdb.DuckDBPyConnection, target: Path, plans: list[_Plan], manifest: dict, folder: Path
) -> None:
    con.execute(f"attach {_literal(str(target))} as serving")
    try:
        for plan in plans:
            name = _quote(plan.name)
            if plan.storage == "table":
                con.execute(f"create table serving.main.{name} as select * from work.main.{name}")
                crash_point("publish:copying")
            else:
                sql = view_sql(manifest["relations"][plan.name], folder)
                con.execute(f"create view serving.main.{name} as {sql}")
        _write_manifest(con, "serving", manifest)
        con.execute("checkpoint serving")
    finally:
        con.execute("detach serving")


def _expected(plans: list[_Plan]) -> dict[str, tuple[list[tuple[str, str]], int]]:
    return {plan.name: (plan.columns, plan.rows) for plan in plans}


def _describe(publication: Publication, plans: list[_Plan], folder: Path) -> None:
    publication.storage = {plan.name: plan.storage for plan in plans}
    publication.files = {p.file for plan in plans for p in plan.partitions}
    publication.bytes += sum((folder / file).stat().st_size for file in publication.files)


def verify_serving_database(
    path: Path,
    expected: dict[str, tuple[list[tuple[str, str]], int]],
    new_files: dict[str, _Partition],
) -> Publication:
    """Open `path` read-only: every relation with its columns and row count, no WAL left, and every
    newly written Parquet file holding its partition's row count."""
    if wal_of(path).exists():
        raise PublishError(f"{path} still has a write-ahead log after closing; not published")
    con = open_read_only(path)
    publication = Publication(path, 0.0, path.stat().st_size)
    try:
        con.execute("set TimeZone = 'UTC'")
        every = _all_columns(con, "served")
        for name, (columns, rows) in expected.items():
            found = every.get(name, [])
            if found != columns:
                raise PublishError(f"{name} in {path} has columns {found}, not {columns}; not published")
            (count,) = con.execute(f"select count(*) from main.{_quote(name)}").fetchone()
            if count != rows:
                raise PublishError(f"{name} in {path} has {count} rows, not {rows}; not published")
            publication.rows[name] = int(count)
            publication.columns[name] = [column for column, _ in columns]
        if new_files:
            (body,) = con.execute(f"select body from {MANIFEST_SCHEMA}.manifest").fetchone()
            folder = Path(json.loads(body)["folder"])
            for file, wanted in new_files.items():
                # (the row count from the file's own metadata: a truncated file does not open)
                (rows,) = con.execute(
                    f"select count(*) from read_parquet({_literal(str(folder / file))})"
                ).fetchone()
                if rows != wanted.rows:
                    raise PublishError(
                        f"{folder / file} holds {rows} rows, not the {wanted.rows} written; not published"
                    )
    finally:
        con.close()
    return publication


def swap_in(target: Path, warehouse: Path) -> None:
    """Replace the warehouse by the verified `target` in one rename (readers keep the old inode)."""
    wal_of(warehouse).unlink(missing_ok=True)  # a WAL of an old file must never meet the new one
    os.replace(target, warehouse)
    _fsync_folder(Path(warehouse).parent)


def collect_garbage(warehouse: Path, keep: set[str]) -> int:
    """Remove serving files that neither the served warehouse nor the one it replaced reads (and
    temporary files of dead builds; call only while holding the build lock). Returns the count."""
    folder = serving_folder(warehouse)
    removed = 0
    if not folder.is_dir():
        return 0
    for root, folders, files in os.walk(folder, topdown=False):
        for name in files:
            path = Path(root) / name
            if str(path.relative_to(folder)) not in keep:
                path.unlink(missing_ok=True)
                removed += 1
        for name in folders:
            with contextlib.suppress(OSError):
                (Path(root) / name).rmdir()  # only when empty
    return removed


def serving_bytes(warehouse: Path) -> int:
    """The warehouse file plus the Parquet files it serves."""
    warehouse = Path(warehouse)
    folder = serving_folder(warehouse)
    files = manifest_files(read_manifest(warehouse))
    size = warehouse.stat().st_size if warehouse.exists() else 0
    return size + sum((folder / f).stat().st_size for f in files if (folder / f).exists())
