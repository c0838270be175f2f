"""Read-only access to the dbt warehouse, one DuckDB connection per request.

A build publishes a new, verified warehouse file and os.replace-s it over the old one (dbt itself
works in a separate working database; the big marts are views over Parquet files beside it, kept
until the publication after next, docs/build.md), so the API must never keep
the file open between requests. Each request opens an in-memory DuckDB and ATTACHes the warehouse
READ_ONLY: unlike `duckdb.connect(path)`, which hands back the process-wide instance of a path
that is still open in another thread (and so the replaced, old file), an attached file is opened
anew every time and always is the file that the path names now. The connection is opened lazily,
only when a request misses the response cache, and closed when the request ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

import duckdb
from fastapi import Response
from pydantic import BaseModel

from api.cache import ResponseCache
from api.errors import BUILD_HINT, DataNotBuilt

Identity = tuple[int, int]


def file_identity(path: Path) -> Identity | None:
    """(inode, mtime in ns) of the warehouse file, None when it does not exist."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns)


class WarehouseSession:
    """The warehouse as one request sees it: its identity, a lazy read-only connection, the cache."""

    def __init__(self, path: Path, cache: ResponseCache, threads: int = 2) -> None:
        self.path = path
        self.cache = cache
        self.threads = threads
        self._identity = file_identity(path)
        self._stable = True
        self._connection: duckdb.DuckDBPyConnection | None = None

    @property
    def exists(self) -> bool:
        return self._identity is not None

    @property
    def identity(self) -> Identity:
        if self._identity is None:
            raise DataNotBuilt(f"no warehouse at {self.path}: no data has been built yet; {BUILD_HINT}")
        return self._identity

    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            identity = self.identity
            connection = duckdb.connect(":memory:", config={"threads": self.threads})
            quoted = str(self.path).replace("'", "''")
            try:
                connection.execute(f"attach '{quoted}' as warehouse (read_only)")
                connection.execute("use warehouse")
            except duckdb.Error as error:
                connection.close()
                raise DataNotBuilt(
                    f"cannot open the warehouse {self.path} ({str(error).splitlines()[0]}); {BUILD_HINT}"
                ) from error
            # Replaced between the stat and the attach: we cannot tell which file we hold, so the
            # answer is still right but must not be cached under either identity.
            self._stable = file_identity(self.path) == identity
            self._connection = connection
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def key(self, *parts: Hashable) -> tuple | None:
        """A cache key for `parts` under this warehouse's identity (None: do not cache)."""
        return (*parts, self.identity) if self._stable else None

    def cached(self, parts: tuple, compute: Callable[[], Any]) -> Any:
        value = self.cache.get(self.key(*parts))
        if value is not None:
            return value
        value = compute()
        key = self.key(*parts)  # computed after the query: the connection may have found a new file
        if key is not None:
            self.cache.put(key, value)
        return value

    def respond(self, parts: tuple, build: Callable[[], BaseModel]) -> Response:
        """A JSON answer from the cache, or built, encoded (pydantic, in Rust) and stored."""
        body = self.cached(parts, lambda: build().model_dump_json().encode())
        return Response(content=body, media_type="application/json")

    def tables(self) -> frozenset[str]:
        def load() -> frozenset[str]:
            rows = self.connection().execute(
                "select table_name from information_schema.tables where table_catalog = 'warehouse'"
            )
            return frozenset(name for (name,) in rows.fetchall())

        return self.cached(("tables",), load)

    def has_table(self, name: str) -> bool:
        return name in self.tables()

    def require_table(self, name: str, what: str) -> None:
        if not self.has_table(name):
            raise DataNotBuilt(
                f"{what} not built yet: the warehouse {self.path} has no table {name}; {BUILD_HINT}"
            )

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.connection().execute(sql, list(params)).fetchall()

    def fetch_dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.connection().execute(sql, list(params))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def fetch_numpy(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any]:
        return self.connection().execute(sql, list(params)).fetchnumpy()
