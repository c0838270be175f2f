"""The ingest manifest: an append-only Parquet log in `<lake>/_manifest/`, one row per file per run.

Each run writes `manifest-<run_id>.parquet` once, after its data; read the whole log with
`read_parquet('<lake>/_manifest/manifest-*.parquet')`. The latest `loaded` row of a source file
(same dataset, market and file stem) says what the lake holds for it: its sha256 and output files.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

MANIFEST_DIR = "_manifest"
BAD_LINES_DIR = "bad_lines"

SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("ingested_at", pa.timestamp("us")),
        ("source_path", pa.string()),
        ("file_name", pa.string()),
        ("dataset", pa.string()),
        ("symbol", pa.string()),
        ("market", pa.string()),
        ("frequency", pa.string()),
        ("period", pa.string()),
        ("kline_interval", pa.string()),
        ("size_bytes", pa.int64()),
        ("sha256", pa.string()),
        ("checksum_verdict", pa.string()),
        ("rows_loaded", pa.int64()),
        ("rows_rejected", pa.int64()),
        ("first_event_time", pa.timestamp("us")),
        ("last_event_time", pa.timestamp("us")),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("output_paths", pa.list_(pa.string())),
    ]
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
    columns = {f.name: [getattr(r, f.name) for r in records] for f in fields(ManifestRecord)}
    table = pa.Table.from_pydict(columns, schema=SCHEMA)
    final = directory / f"manifest-{run_id}.parquet"
    temporary = directory / f".manifest-{run_id}.parquet.tmp"
    pq.write_table(table, temporary, compression="zstd")
    os.replace(temporary, final)
    return final


def read_manifest(lake: Path) -> list[ManifestRecord]:
    """Every row of every run, oldest first."""
    directory = manifest_dir(lake)
    if not directory.is_dir() or not any(directory.glob("manifest-*.parquet")):
        return []
    pattern = str(directory / "manifest-*.parquet").replace("'", "''")
    with duckdb.connect() as conn:
        table = conn.execute(
            f"select * from read_parquet('{pattern}', union_by_name = true) order by ingested_at, run_id"
        ).to_arrow_table()
    names = [f.name for f in fields(ManifestRecord)]
    records = []
    for row in table.to_pylist():
        values = {name: row.get(name) for name in names}
        values["output_paths"] = values["output_paths"] or []
        records.append(ManifestRecord(**values))
    return records


def lake_state(lake: Path) -> dict[tuple[str | None, str | None, str], ManifestRecord]:
    """For each source file (dataset, market, stem): its latest `loaded` row."""
    state: dict[tuple[str | None, str | None, str], ManifestRecord] = {}
    for record in read_manifest(lake):
        if record.status == "loaded":
            state[record.state_key] = record
    return state
