"""Build small Binance-style archive files for the ingest tests, and read the lake they produce."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import duckdb

AGG_HEADER = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"


def archive_dir(
    root: Path, dataset: str, symbol: str, *, frequency: str = "daily", market: str = "um"
) -> Path:
    return root / "data" / "futures" / market / frequency / dataset / symbol


def write_zip(folder: Path, stem: str, text: str, *, checksum: str | None = "good") -> Path:
    """A zip holding `<stem>.csv`; checksum "good" writes a matching .CHECKSUM, "bad" a wrong one."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}.csv", text)
    if checksum is not None:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if checksum == "bad":
            digest = "0" * 64
        (folder / f"{stem}.zip.CHECKSUM").write_text(f"{digest}  {stem}.zip\n")
    return path


def write_csv(folder: Path, stem: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.csv"
    path.write_text(text)
    return path


def lines(*rows: str) -> str:
    return "".join(row + "\n" for row in rows)


def read_lake(lake: Path, dataset: str, order: str | None = None) -> list[tuple]:
    """Every lake row of a dataset, as the dbt sources read them (hive `date` last)."""
    pattern = f"{lake}/{dataset}/*/*/*.parquet"
    sql = f"select * from read_parquet('{pattern}', hive_partitioning = true)"
    if order:
        sql += f" order by {order}"
    with duckdb.connect() as conn:
        return conn.execute(sql).fetchall()


def read_lake_file(path: Path) -> list[tuple]:
    with duckdb.connect() as conn:
        return conn.execute(f"select * from read_parquet('{path}')").fetchall()


def lake_parquet_files(lake: Path) -> list[str]:
    return sorted(
        str(p.relative_to(lake)) for p in lake.rglob("*.parquet") if not p.is_relative_to(lake / "_manifest")
    )
