"""Decode one Binance CSV by position: look at its first lines, then build the DuckDB query that types it.

The heavy lifting is DuckDB's CSV reader with the dataset's columns given explicitly (no sniffing);
rows that do not fit (wrong field count, a value that is not a number, ...) go to DuckDB's reject
table with their line numbers (`store_rejects`), so no row is parsed in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from liquidationheatmap.datasets import DatasetSpec

# Epoch time columns; all of them share the file's unit (13-digit ms or 16-digit µs).
EPOCH_TIME_COLUMNS = frozenset({"transact_time", "time", "calc_time", "open_time", "close_time"})
# Columns Binance leaves empty in some files; every other column must hold a value.
NULLABLE_COLUMNS: dict[str, frozenset[str]] = {
    "metrics": frozenset(
        {
            "count_toptrader_long_short_ratio",
            "sum_toptrader_long_short_ratio",
            "count_long_short_ratio",
            "sum_taker_long_short_vol_ratio",
        }
    ),
    # Truth positions: no liquidation price when the position cannot be liquidated, no closing
    # time while it is open.
    "positions": frozenset({"liquidation_price", "closed_at"}),
}
TEXT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Valid epoch ranges per unit: exactly 13 digits (ms) or 16 digits (µs).
UNIT_RANGES: dict[str, tuple[int, int]] = {
    "ms": (10**12, 10**13 - 1),
    "us": (10**15, 10**16 - 1),
}
UNIT_DIGITS = {"ms": 13, "us": 16}
TIME_GUARD_MARKER = "time unit guard"
_PROBE_LINES = 200  # lines read to find the time unit when the first data lines are bad


class FileRejected(Exception):
    """The whole file is unusable; the message is the manifest reason (it names the file)."""


@dataclass(frozen=True)
class CsvLayout:
    """What the first lines of a CSV say about it."""

    has_header: bool
    time_unit: str  # "ms" | "us" for epoch datasets, "text" for metrics/bookDepth


def _first_lines(path: Path, limit: int) -> list[str]:
    lines: list[str] = []
    with path.open("r", encoding="utf-8", errors="replace", newline="") as handle:
        for line in handle:
            lines.append(line.rstrip("\r\n"))
            if len(lines) >= limit:
                break
    return lines


def inspect_csv(path: Path, spec: DatasetSpec, file_name: str) -> CsvLayout:
    """Header or not (from line 1), and the epoch unit (from the first data line with a plain time).

    Raises FileRejected for an empty file or a header that is not this dataset's.
    """
    if path.stat().st_size == 0:
        raise FileRejected(f"{file_name}: empty file (0 bytes)")
    lines = _first_lines(path, _PROBE_LINES)
    first = lines[0].lstrip("\ufeff") if lines else ""
    has_header = bool(first) and (first[0].isalpha() or first[0] == "_")
    if has_header:
        names = [field.strip() for field in first.split(",")]
        if tuple(names) != spec.column_names:
            raise FileRejected(
                f"{file_name}: line 1: header {','.join(names)} is not Binance's {spec.name} header "
                f"{','.join(spec.column_names)}"
            )
    data_lines = [line for line in lines[1 if has_header else 0 :] if line.strip()]
    if not data_lines:
        raise FileRejected(f"{file_name}: empty file (header only, no data rows)")
    if spec.time_kind == "text":
        return CsvLayout(has_header, "text")
    index = spec.column_names.index(spec.time_column)
    for line in data_lines:
        fields = line.split(",")
        if len(fields) != len(spec.columns):
            continue
        value = fields[index].strip()
        if value.isdigit() and len(value) == UNIT_DIGITS["us"]:
            return CsvLayout(has_header, "us")
        if value.isdigit() and len(value) == UNIT_DIGITS["ms"]:
            return CsvLayout(has_header, "ms")
    # No plain time among the first lines: assume ms and let the row checks name the bad lines.
    return CsvLayout(has_header, "ms")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_csv_sql(path: Path, spec: DatasetSpec, layout: CsvLayout, rejects: str) -> str:
    """The `read_csv(...)` table function call for one file, columns typed by position."""
    nullable = NULLABLE_COLUMNS.get(spec.name, frozenset())
    columns = ", ".join(f"{_quote(c.name)}: {_quote(c.lake_type)}" for c in spec.columns)
    not_null = ", ".join(_quote(c.name) for c in spec.columns if c.name not in nullable)
    options = [
        _quote(str(path)),
        f"columns = {{{columns}}}",
        f"header = {str(layout.has_header).lower()}",
        "auto_detect = false",
        "delim = ','",
        "quote = '\"'",
        "escape = '\"'",
        "null_padding = false",
        f"force_not_null = [{not_null}]",
        "store_rejects = true",
        f"rejects_table = {_quote(rejects + '_errors')}",
        f"rejects_scan = {_quote(rejects + '_scans')}",
    ]
    if layout.time_unit == "text":
        options.append(f"timestampformat = {_quote(TEXT_TIME_FORMAT)}")
    return "read_csv(" + ", ".join(options) + ")"


def epoch_columns(spec: DatasetSpec) -> list[str]:
    return [c.name for c in spec.columns if c.name in EPOCH_TIME_COLUMNS]


def time_guard_condition(spec: DatasetSpec, layout: CsvLayout) -> str | None:
    """SQL that is true when every epoch column has the file's digit count (None for text times)."""
    if layout.time_unit == "text":
        return None
    low, high = UNIT_RANGES[layout.time_unit]
    parts = [f'"{name}" between {low} and {high}' for name in epoch_columns(spec)]
    return " and ".join(parts)


def lake_select_sql(
    spec: DatasetSpec,
    layout: CsvLayout,
    source_sql: str,
    *,
    symbol: str,
    interval: str | None,
    time_rows: str,
    with_date: bool,
) -> str:
    """SELECT producing the lake columns (Binance names, lake types, ms times, + symbol/interval).

    time_rows: "raise" aborts the query on a row whose epoch time has the wrong digit count (the
    file is then re-read to name the lines), "drop" leaves such rows out (--skip-bad-rows).
    with_date adds a `__date` column (the UTC day of the event) used to split monthly files.
    """
    divisor = 1000 if layout.time_unit == "us" else 1
    guard = time_guard_condition(spec, layout)
    select: list[str] = []
    for column in spec.columns:
        name = f'"{column.name}"'
        if column.name in EPOCH_TIME_COLUMNS:
            expr = f"{name} // {divisor}" if divisor != 1 else name
            if guard and time_rows == "raise":
                expr = f"case when {guard} then {expr} else error({_quote(TIME_GUARD_MARKER)}) end"
            select.append(f"{expr} as {name}")
        else:
            select.append(name)
    if "symbol" not in spec.column_names:
        select.append(f"{_quote(symbol)} as symbol")
    if spec.has_interval:
        select.append(f"{_quote(interval or '')} as interval")
    if with_date:
        if spec.time_kind == "text":
            select.append(f'cast("{spec.time_column}" as date) as __date')
        else:
            select.append(f'cast(epoch_ms("{spec.time_column}" // {divisor}) as date) as __date')
    sql = "select " + ", ".join(select) + " from " + source_sql
    if guard and time_rows == "drop":
        sql += f" where {guard}"
    return sql


def find_time_unit_lines(path: Path, spec: DatasetSpec, layout: CsvLayout) -> list[tuple[int, str, str]]:
    """Lines whose epoch times are well-formed integers of the wrong digit count for this file.

    Only runs when the fast path tripped the time guard; lines DuckDB itself rejects (wrong field
    count, not a number) are left to DuckDB's reject table.
    """
    if layout.time_unit == "text":
        return []
    low, high = UNIT_RANGES[layout.time_unit]
    digits = UNIT_DIGITS[layout.time_unit]
    unit_word = "milliseconds" if layout.time_unit == "ms" else "microseconds"
    indexes = [(spec.column_names.index(name), name) for name in epoch_columns(spec)]
    found: list[tuple[int, str, str]] = []
    with path.open("r", encoding="utf-8", errors="replace", newline="") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and layout.has_header:
                continue
            line = raw.rstrip("\r\n")
            fields = line.split(",")
            if len(fields) != len(spec.columns):
                continue
            for index, name in indexes:
                text = fields[index].strip()
                try:
                    value = int(text)
                except ValueError:
                    continue
                if not low <= value <= high:
                    found.append(
                        (
                            number,
                            f"column {name}: {text} is not a {digits}-digit time like the rest of "
                            f"this file ({unit_word})",
                            line,
                        )
                    )
                    break
    return found
