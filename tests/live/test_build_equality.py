"""A build on the lake the recorder wrote equals a build on the archive files of the same day.

Both lakes hold the same day: one recorded live from the replay (aggTrades, 5-minute open interest
with empty ratio columns, funding, liquidations), one ingested from the simulator's archive files
(aggTrades, metrics, fundingRate) with the simulator's liquidations. The marts of the model that
uses no long/short ratios (binance_standard) and the volume profile must agree.

Mark price: the replay's `@markPrice@1s` is the simulator's mid at its 5-minute snapshots, coarser
than the simulator's own 1-minute mark candles, so the recorded markPriceKlines cannot equal the
archive's; both builds here test levels against trade prices (the recorded mark candles are set
aside), which is what the comparison is about: the recorder's trades, open interest and funding.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from live_harness import record_replay

from liquidationheatmap.dbt_runner import build_warehouse
from liquidationheatmap.ingest.runner import ingest_archive
from liquidationheatmap.live.fake_exchange import Replay

MARTS = {
    "fct_liquidation_heatmap": "model = 'binance_standard'",
    "fct_liquidation_levels": "model = 'binance_standard'",
    "fct_liquidation_history": "model = 'binance_standard'",
    "fct_volume_profile_daily": "true",
    "fct_data_coverage": "true",
}


def _mart(warehouse: Path, name: str, where: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.execute(f"select * from {name} where {where}").df()
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("_")])
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    keys = [c for c in frame.columns if c not in floats]
    return frame.sort_values([*keys, *floats]).reset_index(drop=True)


@pytest.mark.timeout(900)
def test_build_on_recorded_lake_equals_build_on_archive(
    replay: Replay, simulated_day: Path, tmp_path: Path
) -> None:
    recorded = record_replay(replay, tmp_path / "live")
    assert any((recorded.lake / "markPriceKlines").rglob("*.parquet")), "no mark candles recorded"
    shutil.rmtree(recorded.lake / "markPriceKlines")
    archive_lake = tmp_path / "archive" / "lake"
    report = ingest_archive(
        simulated_day, archive_lake, datasets=["aggTrades", "metrics", "fundingRate"], show_progress=False
    )
    assert report.rejected == 0
    archive_truth = tmp_path / "archive" / "truth"
    shutil.copytree(simulated_day / "truth" / "liquidations", archive_truth / "liquidations")

    live_wh, archive_wh = tmp_path / "live.duckdb", tmp_path / "archive.duckdb"
    live_build = build_warehouse(recorded.lake, live_wh, truth=recorded.truth, threads=1)
    assert live_build.success, [(n.name, n.message) for n in live_build.failures] or live_build.error
    archive_build = build_warehouse(archive_lake, archive_wh, truth=archive_truth, threads=1)
    assert archive_build.success, [(n.name, n.message) for n in archive_build.failures] or archive_build.error

    for name, where in MARTS.items():
        live, archive = _mart(live_wh, name, where), _mart(archive_wh, name, where)
        assert len(live) > 0, f"{name} is empty"
        pd.testing.assert_frame_equal(live, archive, check_exact=False, rtol=1e-9, obj=name)
