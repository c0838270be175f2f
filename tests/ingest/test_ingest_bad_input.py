"""Bad input gets a clear verdict (file, first bad line, count) and loses nothing else."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from archive_builders import (
    AGG_HEADER,
    archive_dir,
    lake_parquet_files,
    lines,
    read_lake,
    write_csv,
    write_zip,
)

from liquidationheatmap.cli import main
from liquidationheatmap.ingest import ingest_archive

GOOD = "1,100.0,1,1,1,1704067200000,true"


def _good_file(data_dir: Path) -> Path:
    return write_zip(
        archive_dir(data_dir, "aggTrades", "ETHUSDT"), "ETHUSDT-aggTrades-2024-01-01", lines(GOOD)
    )


def _verdicts(report) -> dict[str, tuple[str, str | None]]:
    return {record.file_name: (record.status, record.reason) for record in report.records}


def test_truncated_zip_is_rejected_and_the_other_file_loads(data_dir: Path, lake: Path) -> None:
    folder = archive_dir(data_dir, "aggTrades", "BTCUSDT")
    path = write_zip(folder, "BTCUSDT-aggTrades-2024-01-01", lines(AGG_HEADER, *[GOOD] * 500), checksum=None)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # an interrupted download
    _good_file(data_dir)
    report = ingest_archive(data_dir, lake, show_progress=False)
    assert _verdicts(report) == {
        "BTCUSDT-aggTrades-2024-01-01.zip": (
            "rejected", "BTCUSDT-aggTrades-2024-01-01.zip: corrupt or truncated zip (File is not a zip file)",
        ),
        "ETHUSDT-aggTrades-2024-01-01.zip": ("loaded", None),
    }  # fmt: skip
    assert (report.exit_code, report.rows_loaded) == (1, 1)
    assert lake_parquet_files(lake) == [
        "aggTrades/symbol=ETHUSDT/date=2024-01-01/ETHUSDT-aggTrades-2024-01-01.parquet"
    ]


def test_zip_with_corrupted_data_fails_its_crc_and_is_rejected(data_dir: Path, lake: Path) -> None:
    folder = archive_dir(data_dir, "aggTrades", "BTCUSDT")
    import zipfile

    path = folder / "BTCUSDT-aggTrades-2024-01-01.zip"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("BTCUSDT-aggTrades-2024-01-01.csv", lines(GOOD, GOOD))
    raw = bytearray(path.read_bytes())
    raw[raw.index(b"100.0")] = ord("9")  # flip one stored byte: the CRC no longer matches
    path.write_bytes(bytes(raw))
    report = ingest_archive(data_dir, lake, show_progress=False)
    assert _verdicts(report) == {
        path.name: (
            "rejected",
            f"{path.name}: corrupt or truncated zip (Bad CRC-32 for file 'BTCUSDT-aggTrades-2024-01-01.csv')",
        )
    }
    assert report.exit_code == 1


def test_checksum_mismatch_rejects_the_file(data_dir: Path, lake: Path) -> None:
    path = write_zip(
        archive_dir(data_dir, "aggTrades", "BTCUSDT"),
        "BTCUSDT-aggTrades-2024-01-01",
        lines(GOOD),
        checksum="bad",
    )
    _good_file(data_dir)
    report = ingest_archive(data_dir, lake, show_progress=False)
    record = next(r for r in report.records if r.file_name == path.name)
    assert (record.status, record.checksum_verdict, record.rows_loaded) == ("rejected", "mismatch", 0)
    assert record.reason == (
        f"{path.name}: checksum mismatch: {path.name}.CHECKSUM states {'0' * 64}, "
        f"the file's sha256 is {record.sha256}"
    )
    assert (report.loaded, report.rejected, report.exit_code) == (1, 1, 1)
    assert [row[7] for row in read_lake(lake, "aggTrades")] == ["ETHUSDT"]


def test_empty_file_and_header_only_file_are_rejected(data_dir: Path, lake: Path) -> None:
    folder = archive_dir(data_dir, "aggTrades", "BTCUSDT")
    write_csv(folder, "BTCUSDT-aggTrades-2024-01-01", "")
    write_zip(folder, "BTCUSDT-aggTrades-2024-01-02", lines(AGG_HEADER))
    report = ingest_archive(data_dir, lake, show_progress=False)
    assert _verdicts(report) == {
        "BTCUSDT-aggTrades-2024-01-01.csv": (
            "rejected", "BTCUSDT-aggTrades-2024-01-01.csv: empty file (0 bytes)",
        ),
        "BTCUSDT-aggTrades-2024-01-02.zip": (
            "rejected", "BTCUSDT-aggTrades-2024-01-02.zip: empty file (header only, no data rows)",
        ),
    }  # fmt: skip
    assert lake_parquet_files(lake) == []


def test_wrong_number_of_fields_names_first_line_and_count(data_dir: Path, lake: Path) -> None:
    write_zip(
        archive_dir(data_dir, "aggTrades", "BTCUSDT"),
        "BTCUSDT-aggTrades-2024-01-01",
        lines(
            AGG_HEADER, GOOD, "2,100.0,1,2,2,1704067200001", GOOD, "3,100.0,1,3,3,1704067200002,true,extra"
        ),
    )
    _good_file(data_dir)
    report = ingest_archive(data_dir, lake, show_progress=False)
    record = next(r for r in report.records if r.symbol == "BTCUSDT")
    assert (record.status, record.rows_loaded, record.rows_rejected, record.output_paths) == (
        "rejected",
        0,
        2,
        [],
    )
    assert (
        record.reason
        == "BTCUSDT-aggTrades-2024-01-01.zip: 2 bad lines, first at line 3: expected 7 fields, found 6"
    )
    assert (report.loaded, report.exit_code) == (1, 1)


def test_non_numeric_price_names_the_column_and_value(data_dir: Path, lake: Path) -> None:
    write_zip(
        archive_dir(data_dir, "aggTrades", "BTCUSDT"),
        "BTCUSDT-aggTrades-2024-01-01",
        lines(GOOD, "2,abc,1,2,2,1704067200001,false", GOOD, "4,,1,4,4,1704067200003,true"),
    )
    report = ingest_archive(data_dir, lake, show_progress=False)
    record = report.records[0]
    assert (record.status, record.rows_rejected) == ("rejected", 2)
    assert record.reason == (
        'BTCUSDT-aggTrades-2024-01-01.zip: 2 bad lines, first at line 2: column price: "abc" is not a number'
    )


def test_unknown_file_name_is_rejected_whatever_the_filters(data_dir: Path, lake: Path) -> None:
    write_csv(data_dir, "my-trades-export", "1,2,3\n")
    write_zip(data_dir, "BTCUSDT-liquidationSnapshot-2024-01-01", "x\n", checksum=None)
    _good_file(data_dir)
    report = ingest_archive(data_dir, lake, symbols=["ETHUSDT"], show_progress=False)
    assert _verdicts(report) == {
        "my-trades-export.csv": (
            "rejected",
            "my-trades-export.csv: not a Binance archive file name "
            "(expected SYMBOL-dataset-YYYY-MM[-DD].zip)",
        ),
        "BTCUSDT-liquidationSnapshot-2024-01-01.zip": (
            "rejected",
            "BTCUSDT-liquidationSnapshot-2024-01-01.zip: unknown dataset 'liquidationSnapshot' in file name",
        ),
        "ETHUSDT-aggTrades-2024-01-01.zip": ("loaded", None),
    }  # fmt: skip
    assert (report.rejected, report.exit_code) == (2, 1)


def test_header_of_another_dataset_is_rejected(data_dir: Path, lake: Path) -> None:
    # COIN-M trades carry base_qty where USD-M has quote_qty: same position, other meaning.
    write_zip(
        archive_dir(data_dir, "trades", "BTCUSD_PERP", market="cm"),
        "BTCUSD_PERP-trades-2024-01-01",
        lines("id,price,qty,base_qty,time,is_buyer_maker", "1,42000,1,0.0023,1704067200000,true"),
    )
    report = ingest_archive(data_dir, lake, show_progress=False)
    assert report.records[0].reason == (
        "BTCUSD_PERP-trades-2024-01-01.zip: line 1: header id,price,qty,base_qty,time,is_buyer_maker is not "
        "Binance's trades header id,price,qty,quote_qty,time,is_buyer_maker"
    )


def test_time_with_another_digit_count_than_the_file_is_a_bad_line(data_dir: Path, lake: Path) -> None:
    write_zip(
        archive_dir(data_dir, "aggTrades", "BTCUSDT"),
        "BTCUSDT-aggTrades-2024-01-01",
        lines(GOOD, "2,100.0,1,2,2,1704067200001000,false", "3,100.0,1,3,3,1704067200,true", GOOD),
    )
    report = ingest_archive(data_dir, lake, show_progress=False)
    assert report.records[0].reason == (
        "BTCUSDT-aggTrades-2024-01-01.zip: 2 bad lines, first at line 2: "
        "column transact_time: 1704067200001000 is not a 13-digit time "
        "like the rest of this file (milliseconds)"
    )
    assert lake_parquet_files(lake) == []


def test_skip_bad_rows_loads_good_rows_and_writes_bad_lines_beside_the_manifest(
    data_dir: Path, lake: Path
) -> None:
    write_zip(
        archive_dir(data_dir, "aggTrades", "BTCUSDT"),
        "BTCUSDT-aggTrades-2024-01-01",
        lines(
            AGG_HEADER,
            GOOD,
            "2,abc,1,2,2,1704067200001,false",
            "3,100.0,1,3,3,1704067200002",
            "4,100.0,1,4,4,1704067200003000,true",
            "5,100.5,2,5,5,1704067200004,false",
        ),
    )
    report = ingest_archive(data_dir, lake, skip_bad_rows=True, show_progress=False)
    record = report.records[0]
    bad_file = lake / "_manifest" / "bad_lines" / f"BTCUSDT-aggTrades-2024-01-01-{report.run_id}.csv"
    assert (record.status, record.rows_loaded, record.rows_rejected, report.exit_code) == ("loaded", 2, 3, 0)
    assert record.reason == (
        "BTCUSDT-aggTrades-2024-01-01.zip: 3 bad lines, first at line 3: "
        'column price: "abc" is not a number; '
        f"skipped, written to _manifest/bad_lines/{bad_file.name}"
    )
    assert [row[0] for row in read_lake(lake, "aggTrades", order="agg_trade_id")] == [1, 5]
    with bad_file.open(newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["line_number", "error", "line"],
            ["3", 'column price: "abc" is not a number', "2,abc,1,2,2,1704067200001,false"],
            ["4", "expected 7 fields, found 6", "3,100.0,1,3,3,1704067200002"],
            [
                "5",
                "column transact_time: 1704067200003000 is not a 13-digit time like the rest of this file "
                "(milliseconds)",
                "4,100.0,1,4,4,1704067200003000,true",
            ],
        ]


def test_cli_exits_non_zero_and_lists_rejected_files(data_dir: Path, lake: Path, capsys) -> None:
    write_zip(
        archive_dir(data_dir, "aggTrades", "BTCUSDT"),
        "BTCUSDT-aggTrades-2024-01-01",
        lines(GOOD),
        checksum="bad",
    )
    _good_file(data_dir)
    status = main(["ingest", "--data-dir", str(data_dir), "--lake", str(lake), "--workers", "2"])
    out = capsys.readouterr().out
    assert status == 1
    assert "1 file(s) rejected:" in out
    assert "BTCUSDT-aggTrades-2024-01-01.zip: checksum mismatch:" in " ".join(out.split())
    assert "1 loaded, 0 unchanged, 1 rejected" in " ".join(out.split())
    assert read_lake(lake, "aggTrades") == [
        (1, 100.0, 1.0, 1, 1, 1704067200000, True, "ETHUSDT", date(2024, 1, 1))
    ]


def test_cli_rejects_an_unknown_dataset_name(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest", "--datasets", "aggTrades,forceOrders"])
    assert exit_info.value.code == 2
    assert "unknown dataset(s) forceOrders" in capsys.readouterr().err


def test_windows_line_endings_and_blank_lines_keep_true_line_numbers(data_dir: Path, lake: Path) -> None:
    text = "\r\n".join(
        [AGG_HEADER, GOOD, "2,x,1,2,2,1704067200001,true", "", "3,100.0,1,3,3,1704067200002,false"]
    )
    write_csv(data_dir, "BTCUSDT-aggTrades-2024-01-01", text + "\r\n")
    report = ingest_archive(data_dir, lake, skip_bad_rows=True, show_progress=False)
    record = report.records[0]
    assert (record.status, record.rows_loaded, record.rows_rejected) == ("loaded", 2, 1)
    bad_file = lake / "_manifest" / "bad_lines" / f"BTCUSDT-aggTrades-2024-01-01-{report.run_id}.csv"
    with bad_file.open(newline="") as handle:
        assert list(csv.reader(handle))[1] == [
            "3",
            'column price: "x" is not a number',
            "2,x,1,2,2,1704067200001,true",
        ]


def test_skip_bad_rows_still_rejects_a_file_with_no_good_row(data_dir: Path, lake: Path) -> None:
    write_csv(
        data_dir,
        "BTCUSDT-aggTrades-2024-01-01",
        lines("1,a,1,1,1,1704067200000,true", "2,b,1,2,2,1704067200001"),
    )
    report = ingest_archive(data_dir, lake, skip_bad_rows=True, show_progress=False)
    assert [(r.status, r.rows_loaded, r.rows_rejected, r.reason) for r in report.records] == [
        (
            "rejected",
            0,
            2,
            "BTCUSDT-aggTrades-2024-01-01.csv: no good rows (2 bad lines, written to "
            f"_manifest/bad_lines/BTCUSDT-aggTrades-2024-01-01-{report.run_id}.csv)",
        )
    ]
    assert (report.exit_code, lake_parquet_files(lake)) == (1, [])


def test_cli_refuses_a_missing_folder_and_a_reversed_date_range(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nowhere"
    assert main(["ingest", "--data-dir", str(missing), "--lake", str(tmp_path / "lake")]) == 2
    assert f"{missing}: data folder not found" in " ".join(capsys.readouterr().out.split())
    status = main(
        ["ingest", "--data-dir", str(tmp_path), "--start-date", "2024-02-01", "--end-date", "2024-01-01"]
    )
    assert status == 2
    assert "--start-date 2024-02-01 is after --end-date 2024-01-01" in " ".join(
        capsys.readouterr().out.split()
    )
