"""Ingest decodes Binance's files as they really are: the real sample, and each known quirk."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

from archive_builders import (
    AGG_HEADER,
    archive_dir,
    lake_parquet_files,
    lines,
    read_lake,
    read_lake_file,
    write_csv,
    write_zip,
)

from liquidationheatmap.ingest import ingest_archive, read_manifest

SAMPLE = Path("/work/shared/samples/binance")
SAMPLE_ZIP = SAMPLE / "data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2026-04.zip"


def test_real_funding_rate_sample_is_verified_and_split_into_its_30_days(tmp_path: Path, lake: Path) -> None:
    data = tmp_path / "raw"
    shutil.copytree(SAMPLE, data)
    report = ingest_archive(data, lake, show_progress=False)
    assert (report.loaded, report.rejected, report.unchanged, report.exit_code) == (1, 0, 0, 0)
    record = report.records[0]
    assert record.checksum_verdict == "verified"
    assert record.sha256 == "51cdeb4de7d5ef1d4eece80b6115e391bdf7a2d0803bf9ad8371ab23340b22d3"
    assert (record.dataset, record.symbol, record.market, record.frequency, record.period) == (
        "fundingRate", "BTCUSDT", "um", "monthly", "2026-04",
    )  # fmt: skip
    assert record.rows_loaded == 90
    assert record.first_event_time == datetime(2026, 4, 1, 0, 0)
    assert record.last_event_time == datetime(2026, 4, 30, 16, 0)
    assert len(record.output_paths) == 30
    assert (
        record.output_paths[0]
        == "fundingRate/symbol=BTCUSDT/date=2026-04-01/BTCUSDT-fundingRate-2026-04.parquet"
    )
    rows = read_lake(lake, "fundingRate", order="calc_time")
    assert len(rows) == 90
    assert rows[0] == (1775001600000, 8, -0.00003449, "BTCUSDT", date(2026, 4, 1))
    assert rows[3] == (1775088000003, 8, 0.00003521, "BTCUSDT", date(2026, 4, 2))
    assert rows[-1] == (1777564800000, 8, -0.00002904, "BTCUSDT", date(2026, 4, 30))


def test_headerless_and_header_aggtrades_files_decode_alike(data_dir: Path, lake: Path) -> None:
    folder = archive_dir(data_dir, "aggTrades", "BTCUSDT")
    # Up to 2022-08-10 Binance wrote no header row; later files have one.
    write_zip(folder, "BTCUSDT-aggTrades-2022-08-10", lines("1,20000.5,0.010,10,12,1660089600000,true"))
    write_zip(
        folder,
        "BTCUSDT-aggTrades-2022-08-11",
        lines(AGG_HEADER, "2,20001.0,0.020,13,13,1660176000000,false"),
    )
    report = ingest_archive(data_dir, lake, show_progress=False)
    assert (report.loaded, report.rejected, report.rows_loaded) == (2, 0, 2)
    assert read_lake(lake, "aggTrades", order="agg_trade_id") == [
        (1, 20000.5, 0.01, 10, 12, 1660089600000, True, "BTCUSDT", date(2022, 8, 10)),
        (2, 20001.0, 0.02, 13, 13, 1660176000000, False, "BTCUSDT", date(2022, 8, 11)),
    ]


def test_microsecond_times_are_stored_as_milliseconds(data_dir: Path, lake: Path) -> None:
    write_zip(
        archive_dir(data_dir, "aggTrades", "BTCUSDT"),
        "BTCUSDT-aggTrades-2025-01-01",
        lines(
            AGG_HEADER,
            "7,94000.1,0.5,70,71,1735689600123456,true",
            "8,94000.2,0.1,72,72,1735689601999999,false",
        ),
    )
    kline = "1735689600000000,1,2,0.5,1.5,10,1735689659999999,15,3,4,6,0"
    write_zip(archive_dir(data_dir, "klines", "BTCUSDT") / "1m", "BTCUSDT-1m-2025-01-01", lines(kline))
    report = ingest_archive(data_dir, lake, show_progress=False)
    assert (report.loaded, report.rejected) == (2, 0)
    assert [row[5] for row in read_lake(lake, "aggTrades", order="agg_trade_id")] == [
        1735689600123,
        1735689601999,
    ]
    assert read_lake(lake, "klines") == [
        (1735689600000, 1.0, 2.0, 0.5, 1.5, 10.0, 1735689659999, 15.0, 3, 4.0, 6.0, 0.0, "BTCUSDT", "1m",
         date(2025, 1, 1)),
    ]  # fmt: skip
    klines = next(r for r in report.records if r.dataset == "klines")
    assert (klines.kline_interval, klines.output_paths) == (
        "1m", ["klines/symbol=BTCUSDT/date=2025-01-01/BTCUSDT-1m-2025-01-01.parquet"],
    )  # fmt: skip


def test_duplicated_and_unsorted_rows_are_kept_in_file_order(data_dir: Path, lake: Path) -> None:
    body = [
        "5,100.0,1.0,50,50,1704067205000,true",
        "3,100.0,1.0,30,30,1704067203000,false",
        "5,100.0,1.0,50,50,1704067205000,true",
        "4,101.0,0.0,40,40,1704067204000,false",  # zero quantity (2023-05 files have them)
        "3,100.0,1.0,30,30,1704067203000,false",
    ]
    write_zip(
        archive_dir(data_dir, "aggTrades", "BTCUSDT"),
        "BTCUSDT-aggTrades-2024-01-01",
        lines(AGG_HEADER, *body),
    )
    report = ingest_archive(data_dir, lake, show_progress=False)
    assert (report.loaded, report.rows_loaded, report.records[0].rows_rejected) == (1, 5, 0)
    rows = read_lake_file(lake / report.records[0].output_paths[0])
    assert [(r[0], r[2]) for r in rows] == [(5, 1.0), (3, 1.0), (5, 1.0), (4, 0.0), (3, 1.0)]
    assert report.records[0].first_event_time == datetime(2024, 1, 1, 0, 0, 3)
    assert report.records[0].last_event_time == datetime(2024, 1, 1, 0, 0, 5)


def test_metrics_empty_ratio_columns_become_null(data_dir: Path, lake: Path) -> None:
    header = (
        "create_time,symbol,sum_open_interest,sum_open_interest_value,count_toptrader_long_short_ratio,"
        "sum_toptrader_long_short_ratio,count_long_short_ratio,sum_taker_long_short_vol_ratio"
    )
    write_zip(
        archive_dir(data_dir, "metrics", "BTCUSDT"),
        "BTCUSDT-metrics-2021-12-01",
        lines(
            header,
            "2021-12-01 00:05:00,BTCUSDT,74006.26600000,3131493738.89740000,,,,",
            "2021-12-01 00:10:00,BTCUSDT,74010.0,3131500000.5,1.36820310,1.25366800,1.50710938,1.31174499",
        ),
    )
    report = ingest_archive(data_dir, lake, show_progress=False)
    assert (report.loaded, report.rejected, report.rows_loaded) == (1, 0, 2)
    assert (report.records[0].first_event_time, report.records[0].last_event_time) == (
        datetime(2021, 12, 1, 0, 5), datetime(2021, 12, 1, 0, 10),
    )  # fmt: skip
    assert read_lake(lake, "metrics", order="create_time") == [
        (datetime(2021, 12, 1, 0, 5), "BTCUSDT", 74006.266, 3131493738.8974, None, None, None, None,
         date(2021, 12, 1)),
        (datetime(2021, 12, 1, 0, 10), "BTCUSDT", 74010.0, 3131500000.5, 1.3682031, 1.253668, 1.50710938,
         1.31174499, date(2021, 12, 1)),
    ]  # fmt: skip


def test_book_depth_percentage_minus_5_and_minus_5_00_are_the_same_number(data_dir: Path, lake: Path) -> None:
    write_zip(
        archive_dir(data_dir, "bookDepth", "BTCUSDT"),
        "BTCUSDT-bookDepth-2024-01-01",
        lines(
            "timestamp,percentage,depth,notional",
            "2024-01-01 00:00:08,-5,1200.5,50000000.25",
            "2024-01-01 00:00:38,-5.00,1201.0,50010000.0",
            "2024-01-01 00:00:38,5.00,900.0,38000000.0",
        ),
    )
    report = ingest_archive(data_dir, lake, show_progress=False)
    assert (report.loaded, report.rows_loaded) == (1, 3)
    assert [(r[0], r[1]) for r in read_lake(lake, "bookDepth")] == [
        (datetime(2024, 1, 1, 0, 0, 8), -5.0),
        (datetime(2024, 1, 1, 0, 0, 38), -5.0),
        (datetime(2024, 1, 1, 0, 0, 38), 5.0),
    ]


def test_coin_m_file_is_ingested_with_its_market_and_symbol(data_dir: Path, lake: Path) -> None:
    write_zip(
        archive_dir(data_dir, "aggTrades", "BTCUSD_PERP", market="cm"),
        "BTCUSD_PERP-aggTrades-2024-01-01",
        lines(AGG_HEADER, "11,42000.5,3,110,112,1704067200500,false"),
    )
    report = ingest_archive(data_dir, lake, show_progress=False)
    record = report.records[0]
    assert (record.status, record.market, record.symbol) == ("loaded", "cm", "BTCUSD_PERP")
    assert record.output_paths == [
        "aggTrades/symbol=BTCUSD_PERP/date=2024-01-01/BTCUSD_PERP-aggTrades-2024-01-01.parquet"
    ]
    assert read_lake(lake, "aggTrades") == [
        (11, 42000.5, 3.0, 110, 112, 1704067200500, False, "BTCUSD_PERP", date(2024, 1, 1))
    ]


def test_monthly_file_is_split_into_utc_days_keeping_row_order(data_dir: Path, lake: Path) -> None:
    body = [
        "1,10.0,1,1,1,1704067199999,true",  # 2024-01-01 00:00 UTC minus 1 ms: still 2023-12-31
        "2,11.0,1,2,2,1704153600000,false",  # 2024-01-02 00:00
        "3,12.0,1,3,3,1704067200000,true",  # 2024-01-01 00:00
        "4,13.0,1,4,4,1704153599999,false",  # 2024-01-01 23:59:59.999
        "5,14.0,1,5,5,1704153600001,true",  # 2024-01-02
    ]
    write_zip(
        archive_dir(data_dir, "aggTrades", "BTCUSDT", frequency="monthly"),
        "BTCUSDT-aggTrades-2024-01",
        lines(AGG_HEADER, *body),
    )
    report = ingest_archive(data_dir, lake, show_progress=False)
    record = report.records[0]
    assert (record.status, record.rows_loaded) == ("loaded", 5)
    assert record.output_paths == [
        "aggTrades/symbol=BTCUSDT/date=2023-12-31/BTCUSDT-aggTrades-2024-01.parquet",
        "aggTrades/symbol=BTCUSDT/date=2024-01-01/BTCUSDT-aggTrades-2024-01.parquet",
        "aggTrades/symbol=BTCUSDT/date=2024-01-02/BTCUSDT-aggTrades-2024-01.parquet",
    ]
    by_day = [[row[0] for row in read_lake_file(lake / path)] for path in record.output_paths]
    assert by_day == [[1], [3, 4], [2, 5]]


def test_zip_and_its_extracted_csv_load_once(data_dir: Path, lake: Path) -> None:
    folder = archive_dir(data_dir, "aggTrades", "BTCUSDT")
    text = lines(AGG_HEADER, "1,100.0,1,1,1,1704067200000,true", "2,100.5,2,2,2,1704067201000,false")
    zip_path = write_zip(folder, "BTCUSDT-aggTrades-2024-01-01", text)
    csv_path = write_csv(folder, "BTCUSDT-aggTrades-2024-01-01", text)
    report = ingest_archive(data_dir, lake, show_progress=False)
    by_name = {record.file_name: record for record in report.records}
    assert (by_name[zip_path.name].status, by_name[zip_path.name].rows_loaded) == ("loaded", 2)
    assert (by_name[csv_path.name].status, by_name[csv_path.name].rows_loaded) == ("unchanged", 0)
    assert by_name[csv_path.name].reason == (
        f"{csv_path.name}: not loaded; {zip_path.name} ({zip_path}) holds the same file "
        "and is ingested instead"
    )
    assert len(read_lake(lake, "aggTrades")) == 2
    assert report.exit_code == 0


def test_flat_folder_of_extracted_csv_files_is_unverified(data_dir: Path, lake: Path) -> None:
    write_csv(data_dir, "ETHUSDT-trades-2024-01-01", lines("id,price,qty,quote_qty,time,is_buyer_maker",
                                                          "9,2300.5,2,4601,1704067200000,true"))  # fmt: skip
    report = ingest_archive(data_dir, lake, show_progress=False)
    record = report.records[0]
    assert (record.status, record.checksum_verdict, record.dataset, record.symbol) == (
        "loaded", "unverified", "trades", "ETHUSDT",
    )  # fmt: skip
    assert read_lake(lake, "trades") == [
        (9, 2300.5, 2.0, 4601.0, 1704067200000, True, "ETHUSDT", date(2024, 1, 1))
    ]


def test_zip_without_checksum_file_loads_as_unverified(data_dir: Path, lake: Path) -> None:
    write_zip(
        archive_dir(data_dir, "aggTrades", "BTCUSDT"),
        "BTCUSDT-aggTrades-2024-01-01",
        lines("1,100.0,1,1,1,1704067200000,true"),
        checksum=None,
    )
    report = ingest_archive(data_dir, lake, show_progress=False)
    assert [(r.status, r.checksum_verdict, r.rows_loaded) for r in report.records] == [
        ("loaded", "unverified", 1)
    ]


def test_filters_pick_symbols_datasets_and_dates(data_dir: Path, lake: Path) -> None:
    for symbol in ("BTCUSDT", "ETHUSDT"):
        for day in ("2024-01-01", "2024-01-02", "2024-01-03"):
            write_zip(
                archive_dir(data_dir, "aggTrades", symbol),
                f"{symbol}-aggTrades-{day}",
                lines("1,100.0,1,1,1,1704067200000,true"),
            )
    write_zip(
        archive_dir(data_dir, "fundingRate", "BTCUSDT", frequency="monthly"),
        "BTCUSDT-fundingRate-2024-01",
        lines("1704067200000,8,0.0001"),
    )
    report = ingest_archive(
        data_dir,
        lake,
        symbols=["btcusdt"],
        datasets=["aggTrades"],
        start_date=date(2024, 1, 2),
        end_date=date(2024, 1, 2),
        show_progress=False,
    )
    assert [r.file_name for r in report.records] == ["BTCUSDT-aggTrades-2024-01-02.zip"]
    monthly = ingest_archive(
        data_dir, lake, start_date=date(2024, 1, 31), datasets=["fundingRate"], show_progress=False
    )
    assert [r.file_name for r in monthly.records] == ["BTCUSDT-fundingRate-2024-01.zip"]


def test_manifest_is_readable_by_duckdb_with_the_contract_columns(data_dir: Path, lake: Path) -> None:
    write_zip(
        archive_dir(data_dir, "aggTrades", "BTCUSDT"),
        "BTCUSDT-aggTrades-2024-01-01",
        lines("1,100.0,1,1,1,1704067200000,true"),
    )
    report = ingest_archive(data_dir, lake, show_progress=False)
    import duckdb

    with duckdb.connect() as conn:
        described = conn.execute(
            f"describe select * from read_parquet('{lake}/_manifest/manifest-*.parquet')"
        ).fetchall()
        assert [(row[0], row[1]) for row in described] == [
            ("run_id", "VARCHAR"), ("ingested_at", "TIMESTAMP"), ("source_path", "VARCHAR"),
            ("file_name", "VARCHAR"), ("dataset", "VARCHAR"), ("symbol", "VARCHAR"), ("market", "VARCHAR"),
            ("frequency", "VARCHAR"), ("period", "VARCHAR"), ("kline_interval", "VARCHAR"),
            ("size_bytes", "BIGINT"), ("sha256", "VARCHAR"), ("checksum_verdict", "VARCHAR"),
            ("rows_loaded", "BIGINT"), ("rows_rejected", "BIGINT"), ("first_event_time", "TIMESTAMP"),
            ("last_event_time", "TIMESTAMP"), ("status", "VARCHAR"), ("reason", "VARCHAR"),
            ("output_paths", "VARCHAR[]"),
        ]  # fmt: skip
    assert report.manifest_path == lake / "_manifest" / f"manifest-{report.run_id}.parquet"
    assert [(r.status, r.rows_loaded, r.reason) for r in read_manifest(lake)] == [("loaded", 1, None)]
    assert lake_parquet_files(lake) == [
        "aggTrades/symbol=BTCUSDT/date=2024-01-01/BTCUSDT-aggTrades-2024-01-01.parquet"
    ]
