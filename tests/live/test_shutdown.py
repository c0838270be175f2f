"""SIGTERM to `liquidationheatmap record` mid-stream: what it held is published, nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from live_harness import SPEED, SYMBOL

from liquidationheatmap.live.fake_exchange import FakeExchangeThread, Replay


def test_sigterm_publishes_buffered_rows_and_leaves_no_partial_file(replay: Replay, tmp_path: Path) -> None:
    lake, truth = tmp_path / "lake", tmp_path / "truth"
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env["LOG_FILE"] = str(tmp_path / "record.log")
    with FakeExchangeThread(replay, speed=SPEED / 2, mark_every_seconds=10) as exchange:
        command = [
            sys.executable, "-m", "liquidationheatmap", "record", "--symbols", SYMBOL,
            "--base-url", exchange.base_url, "--rest-url", exchange.rest_url, "--lake", str(lake),
            "--truth", str(truth), "--state", str(tmp_path / "state.json"), "--roll-minutes", "0.02",
            "--oi-seconds", "0.02", "--seconds", "120",
        ]  # fmt: skip
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while len(list((lake / "aggTrades").glob("*/*/*.parquet"))) < 2:
                assert process.poll() is None, process.stdout.read().decode()[-2000:]
                assert time.monotonic() < deadline, "no aggTrades file published within 60 s"
                time.sleep(0.05)
            time.sleep(0.7)  # mid-roll: rows are buffered that no file holds yet
            process.send_signal(signal.SIGTERM)
            output = process.communicate(timeout=30)[0].decode()
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, output[-2000:]
    leftovers = [p for p in tmp_path.rglob("*") if p.suffix in (".part", ".tmp") or "_live_tmp" in p.parts]
    assert not leftovers
    for path in lake.rglob("*.parquet"):
        pq.read_metadata(path)  # every published file is whole
    ids = [
        r[0]
        for r in duckdb.sql(
            f"select agg_trade_id from read_parquet('{lake}/aggTrades/*/*/*.parquet')"
        ).fetchall()
    ]
    assert len(ids) == len(set(ids))
    received = sorted(exchange.sent_trades[SYMBOL])
    # everything up to the last trade recorded is there, without a hole (the last rows were flushed)
    assert sorted(ids) == [i for i in received if i <= max(ids)]
    assert max(ids) >= received[0] + 2
    assert "stopped" in output
