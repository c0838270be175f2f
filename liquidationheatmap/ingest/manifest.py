"""The ingest manifest: an append-only Parquet log in `<lake>/_manifest/`, one row per file per run.

Each run writes `manifest-<run_id>.parquet` once, after its data; read the whole log with
`read_parquet('<lake>/_manifest/manifest-*.parquet')`. The latest `loaded` row of a source file
(same dataset, market and file stem) says what the lake holds for it: its sha256 and output files.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

import duckdb

MANIFEST_DIR = "_manifest"
BAD_LINES_DIR = "bad_lines"

# Column types, in order (the contract of the dbt source `ingest.manifest`).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "VARCHAR"),
    ("ingested_at", "TIMESTAMP"),
    ("source_path", "VARCHAR"),
    ("file_name", "VARCHAR"),
    ("dataset", "VARCHAR"),
    ("symbol", "VARCHAR"),
    ("market", "VARCHAR"),
    ("frequency", "VARCHAR"),
    ("period", "VARCHAR"),
    ("kline_interval", "VARCHAR"),
    ("size_bytes", "BIGINT"),
    ("sha256", "VARCHAR"),
    ("checksum_verdict", "VARCHAR"),
    ("rows_loaded", "BIGINT"),
    ("rows_rejected", "BIGINT"),
    ("first_event_time", "TIMESTAMP"),
    ("last_event_time", "TIMESTAMP"),
    ("status", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("output_paths", "VARCHAR[]"),
)


@dataclass
class ManifestRecord:
    """One manifest row: what happened to one source file in one run."""

    run_id: str
    ingested_at: datetime  # UTC, naive
    source_path: str
    file_name: str
    dataset: str | None
    symbol: str | None
    market: str | None
    frequency: str | None
    period: str | None
    kline_interval: str | None
    size_bytes: int
    sha256: str | None
    checksum_verdict: str  # verified | mismatch | unverified
    rows_loaded: int
    rows_rejected: int
    first_event_time: datetime | None
    last_event_time: datetime | None
    status: str  # loaded | rejected | unchanged
    reason: str | None
    output_paths: list[str] = field(default_factory=list)

    @property
    def state_key(self) -> tuple[str | None, str | None, str]:
        return (self.dataset, self.market, source_stem(self.file_name))

    def as_dict(self) -> dict:
        return asdict(self)


def source_stem(file_name: str) -> str:
    for suffix in (".zip", ".csv"):
        if file_name.endswith(suffix):
            return file_name[: -len(suffix)]
    return file_name


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    raise TypeError(f"cannot write {type(value).__name__} to the manifest")


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}Z-{secrets.token_hex(3)}"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def manifest_dir(lake: Path) -> Path:
    return lake / MANIFEST_DIR


def bad_lines_path(lake: Path, file_name: str, run_id: str) -> Path:
    return manifest_dir(lake) / BAD_LINES_DIR / f"{source_stem(file_name)}-{run_id}.csv"


def write_manifest(lake: Path, run_id: str, records: list[ManifestRecord]) -> Path | None:
    """Write this run's rows as `manifest-<run_id>.parquet` (temp name, then rename)."""
    if not records:
        return None
    directory = manifest_dir(lake)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"manifest-{run_id}.parquet"
    temporary = directory / f".manifest-{run_id}.parquet.tmp"
    # Rows go through a JSON-lines file so no Python values are bound as parameters (binding
    # makes the duckdb module import pandas, a second of start-up for nothing).
    staged = directory / f".manifest-{run_id}.jsonl.tmp"
    with staged.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record.as_dict(), default=_json_value) + "\n")
    columns = ", ".join(f"'{name}': '{kind}'" for name, kind in COLUMNS)
    source = str(staged).replace("'", "''")
    target = str(temporary).replace("'", "''")
    with duckdb.connect() as conn:
        conn.execute(
            f"copy (select * from read_json('{source}', format = 'newline_delimited', "
            f"columns = {{{columns}}})) to '{target}' (format parquet, compression zstd)"
        )
    staged.unlink()
    os.replace(temporary, final)
    return final


def read_manifest(lake: Path) -> list[ManifestRecord]:
    """Every row of every run, oldest first."""
    directory = manifest_dir(lake)
    if not directory.is_dir() or not any(directory.glob("manifest-*.parquet")):
        return []
    pattern = str(directory / "manifest-*.parquet").replace("'", "''")
    with duckdb.connect() as conn:
        cursor = conn.execute(
            f"select * from read_parquet('{pattern}', union_by_name = true) order by ingested_at, run_id"
        )
        columns = [item[0] for item in cursor.description]
        rows = cursor.fetchall()
    names = {f.name for f in fields(ManifestRecord)}
    records = []
    for row in rows:
        values = {name: value for name, value in zip(columns, row, strict=True) if name in names}
        values["output_paths"] = list(values.get("output_paths") or [])
        records.append(ManifestRecord(**values))
    return records


def lake_state(lake: Path) -> dict[tuple[str | None, str | None, str], ManifestRecord]:
    """For each source file (dataset, market, stem): its latest `loaded` row."""
    state: dict[tuple[str | None, str | None, str], ManifestRecord] = {}
    for record in read_manifest(lake):
        if record.status == "loaded":
            state[record.state_key] = record
    return state
