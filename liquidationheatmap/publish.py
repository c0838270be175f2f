"""Publish what the API serves from dbt's working database as the warehouse file, atomically.

dbt builds in place in a working database beside the warehouse (`<stem>.working.duckdb`); the
warehouse itself (DUCKDB_PATH) holds only the relations that are served: every model under
`models/marts/`, every seed, and any model whose YAML says `meta: {serve: true}` (the price candles
of `int_trades__per_bucket`). Publishing copies them, through DuckDB's ATTACH, into
`<warehouse>.publishing`, closes and checkpoints it, opens it again read-only and checks that every
relation is there with the working database's columns (and those the YAML declares) and row
counts, and only then `os.replace`s it over the warehouse. Its cost follows the marts, not the
history the intermediate tables keep; the last good warehouse is never written, only replaced by a
complete, verified file.
"""

from __future__ import annotations

import errno
import json
import os
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
    path: Path
    seconds: float
    bytes: int
    rows: dict[str, int] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "path": str(self.path),
            "seconds": round(self.seconds, 3),
            "bytes": self.bytes,
            "relations": {
                name: {"rows": self.rows[name], "columns": self.columns[name]} for name in sorted(self.rows)
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


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, name: str) -> list[tuple[str, str]]:
    return [
        (str(column), str(kind))
        for column, kind in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_catalog = ? and table_schema = 'main' and table_name = ? order by ordinal_position",
            [catalog, name],
        ).fetchall()
    ]


def _existing(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = ? and table_schema = 'main'",
            [catalog],
        ).fetchall()
    }


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_serving_database(
    working: Path,
    target: Path,
    relations: Iterable[ServedRelation],
    *,
    required: set[str],
    memory_limit: str | None = None,
) -> Publication:
    """Copy `relations` from the working database into a new file `target`, close it and verify it.

    Relations in `required` must exist in the working database (a build that ran them made them);
    others are copied when they exist. Raises PublishError (a relation missing or not as built) or
    DiskFullError; `target` is removed on any failure.
    """
    started = time.perf_counter()
    relations = list(relations)
    remove_database(target)
    expected: dict[str, tuple[list[tuple[str, str]], int]] = {}
    try:
        con = duckdb.connect(str(target), config={"memory_limit": memory_limit} if memory_limit else {})
        try:
            quoted = str(working).replace("'", "''")
            con.execute(f"attach '{quoted}' as work (read_only)")
            present = _existing(con, "work")
            missing = sorted(r.name for r in relations if r.name in required and r.name not in present)
            if missing:
                raise PublishError(
                    f"the build did not leave {', '.join(missing)} in {working}; not published"
                )
            for relation in relations:
                if relation.name not in present:
                    continue
                columns = _columns(con, "work", relation.name)
                undeclared = [c for c in relation.declared_columns if c not in {name for name, _ in columns}]
                if undeclared:
                    raise PublishError(
                        f"{relation.name} in {working} lacks the columns its YAML declares: "
                        f"{', '.join(undeclared)}; not published"
                    )
                name = _quote(relation.name)
                con.execute(f"create table main.{name} as select * from work.main.{name}")
                (rows,) = con.execute(f"select count(*) from work.main.{name}").fetchone()
                expected[relation.name] = (columns, int(rows))
                crash_point("publish:copying")
            con.execute("detach work")
            con.execute("checkpoint")
        finally:
            con.close()
        publication = verify_serving_database(target, expected)
    except BaseException as error:
        remove_database(target)
        if isinstance(error, duckdb.Error | OSError) and is_disk_full(error):
            raise DiskFullError(str(error).splitlines()[0]) from error
        raise
    publication.seconds = time.perf_counter() - started
    return publication


def verify_serving_database(
    path: Path, expected: dict[str, tuple[list[tuple[str, str]], int]]
) -> Publication:
    """Open `path` read-only: every relation with its columns and row count, and no WAL left."""
    if wal_of(path).exists():
        raise PublishError(f"{path} still has a write-ahead log after closing; not published")
    con = duckdb.connect(str(path), read_only=True)
    publication = Publication(path, 0.0, path.stat().st_size)
    try:
        catalog = con.execute("select current_database()").fetchone()[0]
        for name, (columns, rows) in expected.items():
            found = _columns(con, catalog, name)
            if found != columns:
                raise PublishError(f"{name} in {path} has columns {found}, not {columns}; not published")
            (count,) = con.execute(f"select count(*) from main.{_quote(name)}").fetchone()
            if count != rows:
                raise PublishError(f"{name} in {path} has {count} rows, not {rows}; not published")
            publication.rows[name] = int(count)
            publication.columns[name] = [column for column, _ in columns]
    finally:
        con.close()
    return publication


def swap_in(target: Path, warehouse: Path) -> None:
    """Replace the warehouse by the verified `target` in one rename (readers keep the old inode)."""
    wal_of(warehouse).unlink(missing_ok=True)  # a WAL of an old file must never meet the new one
    os.replace(target, warehouse)
    _fsync_folder(Path(warehouse).parent)
