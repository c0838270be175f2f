"""`docs` takes the same build lock: two docs, or docs during a build, run one after the other."""

from __future__ import annotations

import pytest
from conftest import START, build_command, finish, last_trade_date, start
from test_concurrent_builds import Reader, _wait_for_lock

from liquidationheatmap.publish import working_database

# Several real builds each; on a busy shared machine one build can take minutes.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_two_docs_started_together_run_one_after_the_other(built, tmp_path):
    copy = built.copy_with_new_day(tmp_path)
    first, second = start(build_command(copy, command="docs")), start(build_command(copy, command="docs"))
    (code_a, out_a), (code_b, out_b) = finish(first), finish(second)

    assert (code_a, code_b) == (0, 0), out_a[-3000:] + out_b[-3000:]
    waited = [out for out in (out_a, out_b) if "docs: waiting for PID" in out]
    assert len(waited) == 1, (out_a, out_b)
    assert "(`docs`, started" in waited[0]
    assert copy.warehouse.with_name("lineage.html").stat().st_size > 100_000
    assert not copy.warehouse.with_name(copy.warehouse.name + ".docs").exists()


def test_docs_during_a_build_waits_for_it_or_stops_with_no_wait(built, tmp_path):
    copy = built.copy_with_new_day(tmp_path)
    reader = Reader(copy.warehouse)
    reader.start()
    build = start(build_command(copy))
    _wait_for_lock(copy.warehouse, build)
    refused = start(build_command(copy, "--no-wait", command="docs"))
    code_refused, out_refused = finish(refused)
    docs = start(build_command(copy, command="docs"))
    code_build, out_build = finish(build)
    code_docs, out_docs = finish(docs)
    reader.running.clear()
    reader.join(timeout=30)

    assert code_refused == 2, out_refused
    lines = [line for line in out_refused.splitlines() if line.strip()]
    assert len(lines) == 1 and f"is being built by PID {build.pid} (`build`" in lines[0], out_refused
    assert code_build == 0, out_build[-3000:]
    assert code_docs == 0, out_docs[-3000:]
    assert f"docs: waiting for PID {build.pid} (`build`" in out_docs
    # docs wrote its page after the build had published (it waited on the lock)
    assert copy.warehouse.with_name("lineage.html").stat().st_mtime_ns > copy.warehouse.stat().st_mtime_ns
    assert reader.problems == [] and reader.reads > 10
    assert last_trade_date(copy.warehouse) == START.replace(day=3)
    assert working_database(copy.warehouse).exists()
