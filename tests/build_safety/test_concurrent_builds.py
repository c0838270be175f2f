"""Two builds of one warehouse at once: exactly one builds at a time, and readers never notice."""

from __future__ import annotations

import re
import threading
import time

import duckdb
import pytest
from conftest import START, build_command, finish, last_trade_date, published_rows, served_rows, start

from liquidationheatmap.build_lock import is_build_locked, read_holder
from liquidationheatmap.publish import publishing_path

# Several real builds each; on a busy shared machine one build can take minutes.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
MAX_READS = 20_000  # bounded even if a build hangs


class Reader(threading.Thread):
    """Queries the served warehouse the way the API does (ATTACH read-only, per query) until stopped;
    records every error and every answer that saw an empty or missing mart."""

    def __init__(self, warehouse) -> None:
        super().__init__(daemon=True)
        self.warehouse = warehouse
        self.running = threading.Event()
        self.running.set()
        self.problems: list[str] = []
        self.reads = 0

    def run(self) -> None:
        quoted = str(self.warehouse).replace("'", "''")
        while self.running.is_set() and self.reads < MAX_READS:
            con = duckdb.connect(":memory:")
            try:
                con.execute(f"attach '{quoted}' as warehouse (read_only)")
                # Two small marts (tables in the file) and the heatmap (Parquet files), each read
                # through: a sum reads every value, where a count would read only metadata.
                levels, candles, cells = con.execute(
                    "select (select count(*) from warehouse.fct_liquidation_levels), "
                    "(select count(*) from warehouse.int_trades__per_bucket), "
                    "(select count(live_notional) from warehouse.fct_liquidation_heatmap "
                    "where live_notional > 0)"
                ).fetchone()
                if levels == 0 or candles == 0 or cells == 0:
                    self.problems.append(f"empty marts: {levels} levels, {candles} candles, {cells} cells")
            except duckdb.Error as error:
                self.problems.append(str(error).splitlines()[0])
            finally:
                con.close()
            self.reads += 1
            time.sleep(0.01)


def _wait_for_lock(warehouse, process, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not is_build_locked(warehouse):
        assert process.poll() is None, process.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "the build never took its lock"
        time.sleep(0.05)


def test_two_builds_started_together_build_one_after_the_other_and_readers_never_fail(built, tmp_path):
    copy = built.copy_with_new_day(tmp_path)
    before = served_rows(copy.warehouse)
    reader = Reader(copy.warehouse)
    reader.start()
    first, second = start(build_command(copy)), start(build_command(copy))
    (code_a, out_a), (code_b, out_b) = finish(first), finish(second)
    reader.running.clear()
    reader.join(timeout=30)

    assert (code_a, code_b) == (0, 0), out_a[-3000:] + out_b[-3000:]
    waited = [out for out in (out_a, out_b) if "build: waiting for PID" in out]
    assert len(waited) == 1, (out_a[-2000:], out_b[-2000:])  # exactly one had to wait for the other
    other = second.pid if waited[0] is out_a else first.pid
    assert re.search(
        rf"waiting for PID {other} \(`build`, started \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)", waited[0]
    )
    assert reader.problems == [] and reader.reads > 10
    after = served_rows(copy.warehouse)
    assert set(after) >= set(before) and all(after[name] > 0 for name in before if before[name] > 0)
    assert published_rows(copy.warehouse) == after  # the results file records what is served
    assert last_trade_date(copy.warehouse) == START.replace(day=3)
    assert not publishing_path(copy.warehouse).exists()


def test_a_second_build_with_no_wait_stops_at_once_naming_the_first(built, tmp_path):
    copy = built.copy_with_new_day(tmp_path)
    first = start(build_command(copy))
    _wait_for_lock(copy.warehouse, first)
    holder = read_holder(copy.warehouse)
    began = time.monotonic()
    second = start(build_command(copy, "--no-wait"))
    code, output = finish(second)
    refused_in = time.monotonic() - began
    code_first, out_first = finish(first)

    assert code == 2, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert f"is being built by PID {first.pid} (`build`, started {holder.started_at})" in lines[0]
    assert refused_in < 30  # it did not wait for the build (which takes minutes here)
    assert code_first == 0, out_first[-3000:]
    assert last_trade_date(copy.warehouse) == START.replace(day=3)
