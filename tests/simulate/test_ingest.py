"""Every simulated file passes ingest, and the lake holds exactly the rows the simulator wrote."""

from __future__ import annotations

import duckdb

from liquidationheatmap.ingest import ingest_archive


def test_every_simulated_file_ingests_without_rejection_and_lake_rows_equal_the_simulators(sim, tmp_path):
    lake = tmp_path / "lake"
    # The archive mirror only: truth/ beside it is not Binance data (ingest would reject its CSV names).
    report = ingest_archive(sim.out / "data", lake, show_progress=False, workers=1)
    rejected = [(r.file_name, r.reason) for r in report.records if r.status != "loaded"]
    assert rejected == []
    assert report.rejected == 0
    assert report.rows_rejected == 0
    assert len(report.records) == sum(
        len(files) for by_symbol in sim.files.values() for files in by_symbol.values()
    )
    for record in report.records:
        assert record.checksum_verdict == "verified", record.file_name
    with duckdb.connect() as con:
        for dataset, by_symbol in sim.rows.items():
            for symbol, rows in by_symbol.items():
                files = f"{lake}/{dataset}/*/*/*.parquet"
                (count,) = con.execute(
                    f"select count(*) from read_parquet('{files}', hive_partitioning=true) where symbol = ?",
                    [symbol],
                ).fetchone()
                assert count == rows, (dataset, symbol)
    assert sim.rows["metrics"]["BTCUSDT"] == 288 * 2
