"""Re-ingesting changes nothing; a replaced file replaces exactly its own output; writes are atomic."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from archive_builders import (
    AGG_HEADER,
    archive_dir,
    lake_parquet_files,
    lines,
    read_lake,
    read_lake_file,
    write_zip,
)

from liquidationheatmap.ingest import ingest_archive, read_manifest
from liquidationheatmap.ingest.lake_writer import LakeBusy, lake_lock


def _monthly(data_dir: Path, *rows: str) -> Path:
    return write_zip(
        archive_dir(data_dir, "aggTrades", "BTCUSDT", frequency="monthly"),
        "BTCUSDT-aggTrades-2024-01",
        lines(AGG_HEADER, *rows),
    )


def test_reingesting_same_files_reports_unchanged_and_adds_no_rows(data_dir: Path, lake: Path) -> None:
    _monthly(data_dir, "1,10.0,1,1,1,1704067200000,true", "2,11.0,1,2,2,1704153600000,false")
    write_zip(archive_dir(data_dir, "aggTrades", "ETHUSDT"), "ETHUSDT-aggTrades-2024-01-01",
              lines("7,2300.0,1,7,7,1704067200000,true"))  # fmt: skip
    first = ingest_archive(data_dir, lake, show_progress=False)
    files_before = {path: os.stat(lake / path).st_mtime_ns for path in lake_parquet_files(lake)}
    second = ingest_archive(data_dir, lake, show_progress=False)
    assert (first.loaded, first.rows_loaded) == (2, 3)
    assert (second.loaded, second.unchanged, second.rejected, second.rows_loaded, second.exit_code) == (
        0,
        2,
        0,
        0,
        0,
    )
    assert {path: os.stat(lake / path).st_mtime_ns for path in lake_parquet_files(lake)} == files_before
    assert len(read_lake(lake, "aggTrades")) == 3
    monthly = next(r for r in second.records if r.symbol == "BTCUSDT")
    assert (
        monthly.reason
        == f"BTCUSDT-aggTrades-2024-01.zip: already in the lake (run {first.run_id}, same sha256)"
    )
    assert monthly.output_paths == next(r for r in first.records if r.symbol == "BTCUSDT").output_paths
    assert [(r.run_id, r.status) for r in read_manifest(lake) if r.symbol == "BTCUSDT"] == [
        (first.run_id, "loaded"),
        (second.run_id, "unchanged"),
    ]


def test_replaced_file_replaces_exactly_its_earlier_output(data_dir: Path, lake: Path) -> None:
    _monthly(data_dir, "1,10.0,1,1,1,1704067200000,true", "2,11.0,1,2,2,1704153600000,false",
             "3,12.0,1,3,3,1704240000000,true")  # fmt: skip
    other = write_zip(archive_dir(data_dir, "aggTrades", "ETHUSDT"), "ETHUSDT-aggTrades-2024-01-02",
                      lines("7,2300.0,1,7,7,1704153600000,true"))  # fmt: skip
    ingest_archive(data_dir, lake, show_progress=False)
    # Binance publishes a new version of the monthly file: days 2 and 4 only, other rows.
    _monthly(data_dir, "20,21.0,1,20,20,1704153600000,false", "40,41.0,1,40,40,1704326400000,true")
    report = ingest_archive(data_dir, lake, show_progress=False)
    by_name = {r.file_name: r for r in report.records}
    assert (by_name["BTCUSDT-aggTrades-2024-01.zip"].status, by_name[other.name].status) == (
        "loaded",
        "unchanged",
    )
    assert lake_parquet_files(lake) == [
        "aggTrades/symbol=BTCUSDT/date=2024-01-02/BTCUSDT-aggTrades-2024-01.parquet",
        "aggTrades/symbol=BTCUSDT/date=2024-01-04/BTCUSDT-aggTrades-2024-01.parquet",
        "aggTrades/symbol=ETHUSDT/date=2024-01-02/ETHUSDT-aggTrades-2024-01-02.parquet",
    ]
    assert [(row[0], row[7]) for row in read_lake(lake, "aggTrades", order="agg_trade_id")] == [
        (7, "ETHUSDT"), (20, "BTCUSDT"), (40, "BTCUSDT"),
    ]  # fmt: skip
    assert not (lake / "aggTrades/symbol=BTCUSDT/date=2024-01-01").exists()


def test_rejected_new_version_keeps_the_earlier_good_output(data_dir: Path, lake: Path) -> None:
    _monthly(data_dir, "1,10.0,1,1,1,1704067200000,true")
    ingest_archive(data_dir, lake, show_progress=False)
    _monthly(data_dir, "1,oops,1,1,1,1704067200000,true")
    report = ingest_archive(data_dir, lake, show_progress=False)
    assert (report.rejected, report.exit_code) == (1, 1)
    assert [row[0] for row in read_lake(lake, "aggTrades")] == [1]


def test_lake_file_deleted_by_hand_is_reingested(data_dir: Path, lake: Path) -> None:
    _monthly(data_dir, "1,10.0,1,1,1,1704067200000,true", "2,11.0,1,2,2,1704153600000,false")
    first = ingest_archive(data_dir, lake, show_progress=False)
    (lake / first.records[0].output_paths[0]).unlink()
    again = ingest_archive(data_dir, lake, show_progress=False)
    assert (again.loaded, again.rows_loaded) == (1, 2)
    assert len(read_lake(lake, "aggTrades")) == 2


def test_staging_leftovers_of_a_killed_run_are_invisible_and_cleared(data_dir: Path, lake: Path) -> None:
    _monthly(data_dir, "1,10.0,1,1,1,1704067200000,true")
    leftover = lake / "_tmp" / "20240101T000000Z-dead00" / "x.zip.work" / "day.parquet.part"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"PAR1 half a file")
    assert lake_parquet_files(lake) == []  # readers glob *.parquet under <lake>/<dataset>/ only
    report = ingest_archive(data_dir, lake, show_progress=False)
    assert report.loaded == 1
    assert not (lake / "_tmp").exists()
    assert sorted(p.name for p in lake.iterdir()) == [".ingest.lock", "_manifest", "aggTrades"]


def test_second_ingest_on_a_busy_lake_is_refused(data_dir: Path, lake: Path) -> None:
    _monthly(data_dir, "1,10.0,1,1,1,1704067200000,true")
    with lake_lock(lake), pytest.raises(LakeBusy, match="another ingest is writing this lake"):
        ingest_archive(data_dir, lake, show_progress=False)


def test_lake_inside_the_data_folder_is_not_read_as_input(data_dir: Path) -> None:
    write_zip(archive_dir(data_dir, "aggTrades", "BTCUSDT"), "BTCUSDT-aggTrades-2024-01-01",
              lines("1,10.0,1,1,1,1704067200000,true"))  # fmt: skip
    lake = data_dir / "lake"
    ingest_archive(data_dir, lake, skip_bad_rows=True, show_progress=False)
    again = ingest_archive(data_dir, lake, show_progress=False)
    assert [(r.file_name, r.status) for r in again.records] == [
        ("BTCUSDT-aggTrades-2024-01-01.zip", "unchanged")
    ]


def test_killed_ingest_leaves_no_partial_parquet_and_a_rerun_completes(data_dir: Path, lake: Path) -> None:
    rows = [f"{i},{100 + i % 7}.5,1,{i},{i},{1704067200000 + i * 6000},true" for i in range(200_000)]
    _monthly(data_dir, *rows)  # 200k rows over 14 days: long enough to be killed mid-write
    script = (
        "import sys; from pathlib import Path; from liquidationheatmap.ingest import ingest_archive; "
        "ingest_archive(Path(sys.argv[1]), Path(sys.argv[2]), show_progress=False)"
    )
    process = subprocess.Popen([sys.executable, "-c", script, str(data_dir), str(lake)])
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if any((lake / "_tmp").rglob("*.part")):
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    process.wait(timeout=60)
    for path in lake_parquet_files(lake):  # whatever got published is whole
        assert read_lake_file(lake / path)
    report = ingest_archive(data_dir, lake, show_progress=False)
    assert report.records[0].status == "loaded" or process.returncode == 0
    assert len(read_lake(lake, "aggTrades")) == 200_000
