"""Bad lines of one file: gather them from DuckDB's reject table (and the time-unit check), count
them, describe the first one, and write them beside the manifest for --skip-bad-rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from liquidationheatmap.datasets import DatasetSpec

_TYPE_WORDS = {
    "BIGINT": "an integer",
    "INTEGER": "an integer",
    "DOUBLE": "a number",
    "BOOLEAN": "true or false",
    "TIMESTAMP": "a 'YYYY-MM-DD HH:MM:SS' time",
    "VARCHAR": "text",
}


@dataclass(frozen=True)
class BadLinesSummary:
    count: int
    first_line: int | None
    first_error: str | None

    def describe(self, file_name: str) -> str:
        noun = "line" if self.count == 1 else "lines"
        return f"{file_name}: {self.count} bad {noun}, first at line {self.first_line}: {self.first_error}"


def _error_sql(spec: DatasetSpec) -> str:
    """Turn a DuckDB reject row into a short message that names the column and the value."""
    value = "string_split(csv_line, ',')[column_idx::bigint]"
    empty = f"coalesce({value}, '') = ''"
    words = " ".join(
        f"when '{c.name}' then '{_TYPE_WORDS.get(c.lake_type, c.lake_type).replace(chr(39), chr(39) * 2)}'"
        for c in spec.columns
    )
    return (
        "case "
        f"when error_type = 'CAST' and {empty} then 'column ' || column_name || ' is empty' "
        f"when error_type = 'CAST' then 'column ' || column_name || ': \"' || {value} || '\" is not ' "
        f"|| case column_name {words} else 'valid' end "
        "when error_type in ('MISSING COLUMNS', 'TOO MANY COLUMNS') "
        f"then 'expected {len(spec.columns)} fields, found ' || len(string_split(csv_line, ',')) "
        "else lower(error_type) || ': ' || error_message end"
    )


def gather_bad_lines(
    conn: duckdb.DuckDBPyConnection,
    rejects: str,
    spec: DatasetSpec,
    time_lines: list[tuple[int, str, str]],
) -> BadLinesSummary:
    """Build temp table `bad_lines` (one row per bad line, first error of the line) and summarise it."""
    conn.execute("create or replace temp table time_rejects (line bigint, error varchar, csv_line varchar)")
    if time_lines:
        conn.executemany("insert into time_rejects values (?, ?, ?)", time_lines)
    conn.execute(
        f"""
        create or replace temp table bad_lines as
        select line, arg_min(error, rank) as error, any_value(csv_line) as line_text
        from (
            select line, column_idx as rank, {_error_sql(spec)} as error, csv_line
            from (
                -- with CRLF files DuckDB keeps the previous line's end at the start of csv_line
                select * replace (trim(csv_line, chr(13) || chr(10)) as csv_line) from {rejects}_errors
            )
            union all
            select line, 1000000 as rank, error, csv_line from time_rejects
        )
        group by line
        """
    )
    count, first_line = conn.execute("select count(*), min(line) from bad_lines").fetchone()
    if not count:
        return BadLinesSummary(0, None, None)
    (first_error,) = conn.execute(f"select error from bad_lines where line = {int(first_line)}").fetchone()
    return BadLinesSummary(int(count), int(first_line), first_error)


def write_bad_lines(conn: duckdb.DuckDBPyConnection, destination: Path) -> None:
    """Write temp table `bad_lines` as CSV (line_number, error, line), atomically."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.tmp")
    target = str(temporary).replace("'", "''")
    conn.execute(
        "copy (select line as line_number, error, line_text as line from bad_lines order by line) "
        f"to '{target}' (format csv, header true)"
    )
    os.replace(temporary, destination)


def reset_rejects(conn: duckdb.DuckDBPyConnection, rejects: str) -> None:
    for suffix in ("_errors", "_scans"):
        conn.execute(f"drop table if exists {rejects}{suffix}")
