"""The simulator's truth/ folder is ingested into the lake like archive files: typed Parquet per
file and day, the same manifest rows and verdicts, and the same rejection of a bad line."""

from __future__ import annotations

from pathlib import Path

import duckdb

from liquidationheatmap.ingest import ingest_archive

POSITIONS_HEADER = (
    "position_id,symbol,opened_at,side,entry_price,quantity,leverage,margin,liquidation_price,"
    "closed_at,close_reason,trader"
)
LIQUIDATIONS_HEADER = (
    "symbol,time,side,order_type,time_in_force,original_quantity,price,average_price,order_status,"
    "last_fill_quantity,accumulated_fill_quantity"
)


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _truth(data_dir: Path, positions: list[str]) -> None:
    _write(
        data_dir / "truth" / "positions" / "BTCUSDT" / "BTCUSDT-positions-2025-03-01.csv",
        [POSITIONS_HEADER, *positions],
    )
    _write(
        data_dir / "truth" / "liquidations" / "BTCUSDT" / "BTCUSDT-liquidations-2025-03-01.csv",
        [
            LIQUIDATIONS_HEADER,
            "BTCUSDT,1740825268211,SELL,LIMIT,IOC,0.081,79105.1,79362.2346,FILLED,0.016,0.081",
        ],
    )


def test_truth_files_land_in_the_lake_typed_with_their_manifest_rows(data_dir, lake):
    _truth(
        data_dir,
        [
            "583,BTCUSDT,1740781381246,short,81078,0.003,55,4.42,82223.25,1740787259260,closed,taker",
            # An open position that cannot be liquidated: no liquidation price, no closing time.
            "584,BTCUSDT,1740781381246,long,81078,0.003,1,243.2,,,open,market_maker",
        ],
    )

    report = ingest_archive(data_dir, lake, show_progress=False)

    assert (report.loaded, report.rejected) == (2, 0)
    con = duckdb.connect()
    rows = con.execute(
        f"select position_id, symbol, date, leverage, liquidation_price, closed_at, close_reason "
        f"from read_parquet('{lake}/positions/*/*/*.parquet', hive_partitioning = true) order by 1"
    ).fetchall()
    assert [(r[0], r[1], str(r[2]), r[3], r[4], r[5], r[6]) for r in rows] == [
        (583, "BTCUSDT", "2025-03-01", 55, 82223.25, 1740787259260, "closed"),
        (584, "BTCUSDT", "2025-03-01", 1, None, None, "open"),
    ]
    manifest = con.execute(
        f"select dataset, status, checksum_verdict, rows_loaded, output_paths "
        f"from read_parquet('{lake}/_manifest/*.parquet') order by dataset"
    ).fetchall()
    assert manifest == [
        ("liquidations", "loaded", "unverified", 1,
         ["liquidations/symbol=BTCUSDT/date=2025-03-01/BTCUSDT-liquidations-2025-03-01.parquet"]),
        ("positions", "loaded", "unverified", 2,
         ["positions/symbol=BTCUSDT/date=2025-03-01/BTCUSDT-positions-2025-03-01.parquet"]),
    ]  # fmt: skip

    again = ingest_archive(data_dir, lake, show_progress=False)

    assert (again.loaded, again.unchanged) == (0, 2)


def test_a_bad_truth_line_rejects_its_file_naming_the_line(data_dir, lake):
    _truth(
        data_dir,
        [
            "583,BTCUSDT,1740781381246,short,81078,0.003,55,4.42,82223.25,1740787259260,closed,taker",
            "584,BTCUSDT,1740781381246,long,81078,0.003,ten,243.2,,,open,market_maker",
        ],
    )

    report = ingest_archive(data_dir, lake, show_progress=False)

    assert (report.loaded, report.rejected) == (1, 1)
    (rejected,) = report.rejected_records
    assert rejected.dataset == "positions"
    assert rejected.reason.startswith("BTCUSDT-positions-2025-03-01.csv: 1 bad line, first at line 3")
    assert "leverage" in rejected.reason
    assert not (lake / "positions").exists()
