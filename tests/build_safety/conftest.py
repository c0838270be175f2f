"""A small built warehouse (simulate -> ingest two days -> build) shared by the build-safety tests,
each of which works on its own copy with the third day ingested, so that a build has work to do."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from liquidationheatmap.dbt_runner import build_results_path, build_warehouse, copy_warehouse
from liquidationheatmap.ingest import ingest_archive
from liquidationheatmap.publish import manifest_files, read_manifest, serving_folder
from liquidationheatmap.simulate import simulate_market

START = date(2026, 10, 1)
TRADES_PER_DAY = 10_000
MARKET_DATASETS = ["aggTrades", "metrics", "fundingRate", "bookDepth"]
BUILD_TIMEOUT = 600


@dataclass(frozen=True)
class Built:
    raw: Path
    lake: Path
    warehouse: Path

    def copy_with_new_day(self, folder: Path) -> Built:
        """The lake and warehouse copied, with the third simulated day ingested into the copy."""
        import shutil

        shutil.copytree(self.lake, folder / "lake")
        copy_warehouse(self.warehouse, folder / "wh" / "liquidations.duckdb")
        ingest_archive(
            self.raw / "data",
            folder / "lake",
            datasets=MARKET_DATASETS,
            start_date=START + timedelta(days=2),
            show_progress=False,
            workers=1,
        )
        return Built(self.raw, folder / "lake", folder / "wh" / "liquidations.duckdb")


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    root = tmp_path_factory.mktemp("build_safety")
    raw, lake = root / "raw", root / "lake"
    simulate_market(raw, ["BTCUSDT"], START, days=3, trades_per_day=TRADES_PER_DAY, show_progress=False)
    ingest_archive(
        raw / "data",
        lake,
        datasets=MARKET_DATASETS,
        end_date=START + timedelta(days=1),
        show_progress=False,
        workers=1,
    )
    warehouse = root / "wh" / "liquidations.duckdb"
    outcome = build_warehouse(lake, warehouse, truth=raw / "truth")
    assert outcome.success, [(n.name, n.message) for n in outcome.failures] or outcome.error
    return Built(raw, lake, warehouse)


def build_command(built: Built, *extra: str, command: str = "build") -> list[str]:
    args = [sys.executable, "-m", "liquidationheatmap", command, "--lake", str(built.lake)]
    args += ["--warehouse", str(built.warehouse)]
    if command == "build":
        args += ["--truth", str(built.raw / "truth")]
    else:
        args += ["--output", str(built.warehouse.with_name("lineage.html"))]
    return [*args, *extra]


def start(args: list[str], **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "COLUMNS": "200", **env},
    )


def finish(process: subprocess.Popen) -> tuple[int, str]:
    output, _ = process.communicate(timeout=BUILD_TIMEOUT)
    return process.returncode, output


def digest(warehouse: Path) -> str:
    """The served warehouse's bytes: its file and every Parquet file its views read."""
    sha = hashlib.sha256(Path(warehouse).read_bytes())
    folder = serving_folder(warehouse)
    files = sorted(manifest_files(read_manifest(warehouse)))
    assert files, f"{warehouse} serves no Parquet file: the test data should make some"
    for name in files:
        sha.update(name.encode())
        sha.update((folder / name).read_bytes())
    return sha.hexdigest()


def served_rows(warehouse: Path) -> dict[str, int]:
    """Row count of every table and view the served warehouse serves (opened read-only)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [
            n
            for (n,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'main'"
            ).fetchall()
        ]
        return {name: con.execute(f'select count(*) from "{name}"').fetchone()[0] for name in names}
    finally:
        con.close()


def published_rows(warehouse: Path) -> dict[str, int]:
    import json

    data = json.loads(build_results_path(warehouse).read_text())
    return {name: r["rows"] for name, r in data["published"]["relations"].items()}


def last_trade_date(warehouse: Path):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("select max(trade_date) from fct_volume_profile_daily").fetchone()[0]
    finally:
        con.close()
