"""check: what a data folder holds, what is missing, and whether ingest would fail."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from liquidationheatmap import cli
from liquidationheatmap.archive_layout import ArchiveFile
from liquidationheatmap.ingest import ingest_archive
from liquidationheatmap.preflight import (
    DISK_MARGIN,
    check_warehouse,
    check_writable_dir,
    human_bytes,
    run_preflight,
)

SAMPLE = Path("/work/shared/samples/binance")


def _daily(dataset: str, day: str, symbol: str = "BTCUSDT", **kw) -> ArchiveFile:
    return ArchiveFile(dataset, symbol, "daily", day, **kw)


def _monthly(dataset: str, month: str, symbol: str = "BTCUSDT", **kw) -> ArchiveFile:
    return ArchiveFile(dataset, symbol, "monthly", month, **kw)


def _run(folder, tmp_path: Path, **kwargs):
    return run_preflight(folder.root, tmp_path / "wh" / "w.duckdb", tmp_path / "lake", **kwargs)


def test_groups_report_range_counts_and_missing_days_honouring_monthly_files(folder, tmp_path):
    folder.zip(_monthly("aggTrades", "2023-12"))
    for day in ("2024-01-01", "2024-01-02"):
        folder.zip(_daily("aggTrades", day))
    no_sum = folder.zip(_daily("aggTrades", "2024-01-05"), checksum=False)
    folder.csv(_daily("metrics", "2024-01-01", "ETHUSDT"), "2024-01-01 00:05:00,ETHUSDT,1,2,,,,\n")
    folder.csv(_daily("metrics", "2024-01-03", "ETHUSDT"), "2024-01-03 00:05:00,ETHUSDT,1,2,,,,\n")

    report = _run(folder, tmp_path)

    assert report.errors == []
    assert report.exit_code == 0
    assert [(g.label, g.symbol, g.market, g.first_day, g.last_day) for g in report.groups] == [
        ("aggTrades", "BTCUSDT", "um", date(2023, 12, 1), date(2024, 1, 5)),
        ("metrics", "ETHUSDT", "um", date(2024, 1, 1), date(2024, 1, 3)),
    ]
    agg, metrics = report.groups
    assert (agg.daily_files, agg.monthly_files, agg.zip_files, agg.csv_files) == (3, 1, 4, 0)
    assert agg.missing_days == [date(2024, 1, 3), date(2024, 1, 4)]
    assert [f.path for f in agg.without_checksum] == [no_sum]
    assert (metrics.daily_files, metrics.csv_files, metrics.missing_days) == (2, 2, [date(2024, 1, 2)])
    assert report.warnings == [
        "aggTrades BTCUSDT (um): 2 missing day(s) between 2023-12-01 and 2024-01-05",
        "aggTrades BTCUSDT (um): 1 file(s) without .CHECKSUM will load as unverified",
        "metrics ETHUSDT (um): 1 missing day(s) between 2024-01-01 and 2024-01-03",
        "metrics ETHUSDT (um): 2 file(s) without .CHECKSUM will load as unverified",
    ]


def test_day_in_a_monthly_and_a_daily_file_is_an_overlap_and_a_csv_beside_its_zip_a_skipped_copy(
    folder, tmp_path
):
    folder.zip(_daily("trades", "2024-02-03"), flat=True)
    copy = folder.csv(_daily("trades", "2024-02-03"))
    folder.zip(_monthly("trades", "2024-02"), flat=True)

    report = _run(folder, tmp_path)

    (group,) = report.groups
    assert [f.path.name for f in group.files] == [
        "BTCUSDT-trades-2024-02.zip",
        "BTCUSDT-trades-2024-02-03.zip",
    ]
    assert group.overlapping_days == [date(2024, 2, 3)]
    assert group.missing_days == []
    assert report.duplicates == [(copy, folder.root / "BTCUSDT-trades-2024-02-03.zip")]
    assert report.warnings == [
        "trades BTCUSDT (um): 1 day(s) covered by both a monthly and a daily file; the lake will hold their "
        "rows twice",
        f"copies ingest skips (it takes the zip): {copy}",
    ]
    assert report.exit_code == 0


def test_klines_interval_and_coin_m_market_come_from_the_folders(folder, tmp_path):
    folder.zip(_daily("klines", "2024-01-01", "BTCUSD_PERP", interval="1m", market="cm"))
    folder.zip(_daily("klines", "2024-01-01", "BTCUSD_PERP", interval="1h", market="cm"))

    report = _run(folder, tmp_path)

    assert [(g.label, g.symbol, g.market) for g in report.groups] == [
        ("klines 1h", "BTCUSD_PERP", "cm"),
        ("klines 1m", "BTCUSD_PERP", "cm"),
    ]


def test_unrecognised_zip_and_csv_names_are_named_and_fail_the_check(folder, tmp_path):
    folder.zip(_daily("aggTrades", "2024-01-01"))
    snapshot = folder.raw("BTCUSDT-liquidationSnapshot-2024-01-01.zip")
    monthly_metrics = folder.raw("BTCUSDT-metrics-2024-01.zip")
    renamed = folder.raw("notes/trades export.csv")
    readme = folder.raw("notes/README.txt")

    report = _run(folder, tmp_path)

    assert report.unrecognised == [
        (snapshot, "unknown dataset 'liquidationSnapshot' in file name"),
        (monthly_metrics, "metrics is only published daily"),
        (renamed, "not a Binance archive file name (expected SYMBOL-dataset-YYYY-MM[-DD].zip)"),
    ]
    assert report.errors == [
        f"unrecognised file {path}: {why}; ingest would reject it (move it out of {folder.root})"
        for path, why in report.unrecognised
    ]
    assert report.ignored == [readme]  # ingest reads only .zip and .csv
    assert report.exit_code == 1
    assert report.recognised_files == 1


def test_missing_folder_fails_with_a_clear_message(tmp_path):
    report = run_preflight(tmp_path / "nope", tmp_path / "w.duckdb", tmp_path / "lake")

    assert report.errors == [f"data folder {tmp_path / 'nope'} does not exist"]
    assert report.exit_code == 1


def test_a_file_given_as_data_folder_fails(tmp_path):
    (tmp_path / "file").write_text("x")

    report = run_preflight(tmp_path / "file", tmp_path / "w.duckdb", tmp_path / "lake")

    assert report.errors == [f"data folder {tmp_path / 'file'} is a file, not a folder"]


def test_folder_without_archive_files_fails(folder, tmp_path):
    folder.root.mkdir(parents=True)

    report = _run(folder, tmp_path)

    assert report.errors == [
        f"no Binance archive files found under {folder.root} (expected names like "
        "BTCUSDT-aggTrades-2024-01-01.zip or .csv, in the archive layout or a flat folder)"
    ]
    assert report.exit_code == 1


def test_empty_and_truncated_files_fail_the_check(folder, tmp_path):
    good = folder.zip(_daily("aggTrades", "2024-01-01"))
    truncated = folder.raw("BTCUSDT-aggTrades-2024-01-02.zip", good.read_bytes()[:40])
    empty = folder.raw("BTCUSDT-aggTrades-2024-01-03.csv", b"")

    report = _run(folder, tmp_path)

    assert [path for path, _ in report.unreadable] == [truncated, empty]
    assert report.unreadable[0][1].startswith("not a readable zip (")
    assert report.unreadable[0][1].endswith("); truncated or corrupt download?")
    assert report.unreadable[1][1] == "empty file (0 bytes)"
    assert report.errors[1] == f"{empty}: empty file (0 bytes); ingest would reject it"
    assert report.exit_code == 1
    assert report.recognised_files == 1


def test_checksum_mismatch_fails_only_when_checksums_are_verified(folder, tmp_path):
    path = folder.zip(_daily("aggTrades", "2024-01-01"))
    folder.zip(_daily("aggTrades", "2024-01-02"))
    path.with_name(path.name + ".CHECKSUM").write_text(f"{'a' * 64}  {path.name}\n")

    quick = _run(folder, tmp_path)
    verified = _run(folder, tmp_path, verify_checksums=True)

    assert quick.exit_code == 0
    assert verified.checksum_mismatches == [path]
    assert verified.checksums_verified == 1
    assert verified.errors == [f"{path}: sha256 does not match {path.name}.CHECKSUM; ingest would reject it"]
    assert verified.exit_code == 1


def test_hidden_files_other_files_and_orphan_checksums_are_warnings(folder, tmp_path):
    zip_path = folder.zip(_daily("aggTrades", "2024-01-01"))
    part = folder.raw(f"{zip_path.parent.relative_to(folder.root)}/.BTCUSDT-aggTrades-2024-01-02.zip.x1.part")
    folder.raw(".cache/BTCUSDT-aggTrades-2024-01-09.zip")
    notes = folder.raw("notes.md")
    orphan = folder.raw("BTCUSDT-aggTrades-2024-01-07.zip.CHECKSUM")

    report = _run(folder, tmp_path)

    assert report.ignored == [folder.root / ".cache", part, notes]
    assert report.orphan_checksums == [orphan]
    assert report.unrecognised == []
    assert report.recognised_files == 1
    assert report.warnings == [
        f".CHECKSUM files without their zip: {orphan}",
        f"ignored (hidden, or neither .zip nor .csv): {folder.root / '.cache'}, {part}, {notes}",
    ]
    assert report.exit_code == 0


def test_lake_inside_the_data_folder_is_not_scanned(folder, tmp_path):
    folder.zip(_daily("aggTrades", "2024-01-01"))
    folder.raw("lake/aggTrades/symbol=BTCUSDT/date=2024-01-01/BTCUSDT-aggTrades-2024-01-01.parquet")

    report = run_preflight(folder.root, tmp_path / "w.duckdb", folder.root / "lake")

    assert (report.recognised_files, report.unrecognised, report.ignored) == (1, [], [])
    assert report.exit_code == 0


def test_lake_estimate_is_source_bytes_times_ratio_plus_a_footer_per_day(folder, tmp_path):
    daily = folder.zip(_daily("aggTrades", "2024-01-01"))
    csv = folder.csv(_daily("bookDepth", "2024-01-01"), "2024-01-01 00:00:10,-5,1.0,42000.0\n" * 100)
    monthly = folder.zip(_monthly("fundingRate", "2024-02"))

    report = _run(folder, tmp_path)

    expected = (
        int(daily.stat().st_size * 0.6) + 1024
        + int(csv.stat().st_size * 0.3) + 1024
        + int(monthly.stat().st_size * 1.2) + 29 * 1024
    )  # fmt: skip
    assert report.estimated_lake_bytes == expected
    assert report.needed_bytes == int(expected * DISK_MARGIN)
    assert report.already_in_lake_bytes == 0


def test_files_the_lake_already_holds_need_no_new_room(folder, tmp_path):
    loaded = folder.zip(_daily("aggTrades", "2024-01-01"))
    lake = tmp_path / "lake"
    ingested = ingest_archive(folder.root, lake, show_progress=False, workers=1)
    assert ingested.loaded == 1
    new = folder.zip(_daily("aggTrades", "2024-01-02"), text="2,100.0,0.5,2,2,1704153600000,false\n" * 50)

    report = run_preflight(folder.root, tmp_path / "w.duckdb", lake)

    assert report.already_in_lake_bytes == int(loaded.stat().st_size * 0.6) + 1024
    assert report.needed_bytes == int((int(new.stat().st_size * 0.6) + 1024) * DISK_MARGIN)


def test_lake_larger_than_free_space_fails(folder, tmp_path):
    free = shutil.disk_usage(tmp_path).free
    huge = folder.root / "BTCUSDT-aggTrades-2024-01-01.csv"
    huge.parent.mkdir(parents=True)
    with huge.open("wb") as handle:  # sparse: a large apparent size, no disk used
        handle.truncate(int(free / 0.15 * 2))

    report = _run(folder, tmp_path)

    assert report.free_bytes is not None
    assert report.needed_bytes > report.free_bytes
    assert len(report.errors) == 1
    assert report.errors[0].startswith(f"not enough disk space at {tmp_path}: the lake needs about ")
    assert report.errors[0].endswith(f" (estimate with a 10% margin), {human_bytes(report.free_bytes)} free")


def test_writable_check_leaves_nothing_behind(tmp_path):
    before = sorted(tmp_path.iterdir())

    missing = check_writable_dir(tmp_path / "a" / "b")
    present = check_writable_dir(tmp_path)

    assert (missing.ok, missing.message) == (
        True,
        f"{tmp_path / 'a' / 'b'} does not exist yet; it can be created in {tmp_path}",
    )
    assert (present.ok, present.message) == (True, f"{tmp_path} is writable")
    assert sorted(tmp_path.iterdir()) == before


def test_warehouse_under_a_file_or_unwritable_place_or_a_folder_fails(tmp_path):
    (tmp_path / "plain").write_text("x")

    under_file = check_warehouse(tmp_path / "plain" / "w.duckdb")
    under_proc = check_warehouse(Path("/proc/liquidationheatmap/w.duckdb"))
    a_folder = check_warehouse(tmp_path)

    assert (under_file.ok, under_file.message) == (
        False,
        f"{tmp_path / 'plain'} is a file, so {tmp_path / 'plain'} cannot be a folder",
    )
    assert under_proc.ok is False
    assert under_proc.message.startswith("cannot write in /proc: ")
    assert (a_folder.ok, a_folder.message) == (
        False,
        f"{tmp_path} is a folder; the warehouse path must name a file",
    )


def test_unwritable_warehouse_fails_the_check(folder, tmp_path):
    folder.zip(_daily("aggTrades", "2024-01-01"))

    report = run_preflight(folder.root, Path("/proc/liquidationheatmap/w.duckdb"), tmp_path / "lake")

    assert len(report.errors) == 1
    assert report.errors[0].startswith("warehouse is not writable: cannot write in /proc: ")
    assert report.exit_code == 1


def test_real_sample_is_ready_for_ingest(tmp_path):
    report = run_preflight(SAMPLE, tmp_path / "w.duckdb", tmp_path / "lake", verify_checksums=True)

    assert report.errors == []
    assert report.warnings == []
    (group,) = report.groups
    assert (group.label, group.symbol, group.market) == ("fundingRate", "BTCUSDT", "um")
    assert (group.first_day, group.last_day) == (date(2026, 4, 1), date(2026, 4, 30))
    assert (group.daily_files, group.monthly_files, group.without_checksum, group.missing_days) == (
        0,
        1,
        [],
        [],
    )
    assert group.source_bytes == 960
    assert report.checksums_verified == 1
    assert report.estimated_lake_bytes == int(960 * 1.2) + 30 * 1024


def test_command_prints_the_report_and_exits_zero_on_the_sample(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    status = cli.main(["check", "--data-dir", str(SAMPLE), "--warehouse", "wh/w.duckdb", "--lake", "lake"])

    out = capsys.readouterr().out
    assert status == 0
    assert "fundingRate   BTCUSDT   2026-04-01   2026-04-30" in out
    assert "lake lake: 960 B of source files make about 31.9 KB of Parquet; needs 35.1 KB" in out
    assert "ready for ingest: 1 file(s) recognised." in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs"]  # no lake or warehouse folder made


def test_command_names_missing_days_and_unrecognised_files_and_exits_one(
    folder, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    for day in ("2024-01-01", "2024-01-04"):
        folder.zip(_daily("aggTrades", day))
    stray = folder.raw("BTCUSDT-aggTrades-2024-01-01 (1).zip")

    status = cli.main(["check", "--data-dir", str(folder.root), "--warehouse", "w.duckdb", "--lake", "lake"])

    out = capsys.readouterr().out
    assert status == 1
    assert "missing days, aggTrades BTCUSDT: 2024-01-02..2024-01-03" in out
    assert f"error: unrecognised file {stray}: not a Binance archive file name" in out
    assert "1 problem(s): ingest would fail; fix them first." in out
