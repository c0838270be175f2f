"""kill -9 at any moment and a full disk leave the last good warehouse served and the next build
working, without clean-up by hand."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess

import httpx
import pytest
from conftest import (
    START,
    build_command,
    digest,
    finish,
    last_trade_date,
    published_rows,
    served_rows,
    start,
)

from api.core.config import api_config
from api.main import create_app
from api.server import BackgroundServer
from liquidationheatmap.build_lock import is_build_locked
from liquidationheatmap.dbt_runner import read_state
from liquidationheatmap.publish import (
    CRASH_ENV,
    manifest_files,
    publishing_path,
    read_manifest,
    serving_folder,
    working_database,
)

# Several real builds each; on a busy shared machine one build can take minutes.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _serves(warehouse) -> dict:
    with BackgroundServer(create_app(api_config(warehouse=warehouse, cache_ttl_seconds=0))) as server:
        health = httpx.get(f"{server.url}/health", timeout=30)
        levels = httpx.get(f"{server.url}/liquidations/levels", timeout=30)
    assert health.status_code == 200 and levels.status_code == 200, (health.text, levels.text)
    assert health.json()["status"] == "ok"
    return health.json()


def _killed_at(copy, point: str) -> str:
    code, output = finish(start(build_command(copy), **{CRASH_ENV: point}))
    assert code == -signal.SIGKILL, f"{point}: exit {code}\n{output[-3000:]}"
    assert not is_build_locked(copy.warehouse)  # the kernel dropped the dead build's lock
    return output


def test_kill_9_at_each_step_keeps_the_last_good_warehouse_and_the_next_build_recovers(built, tmp_path):
    copy = built.copy_with_new_day(tmp_path)
    before = digest(copy.warehouse)
    old_day = last_trade_date(copy.warehouse)

    # During dbt, right after the new day's trades were loaded into the working database.
    _killed_at(copy, "node:int_trades__deduplicated")
    assert digest(copy.warehouse) == before
    assert read_state(copy.warehouse)["state"] == "building"
    _serves(copy.warehouse)

    # Writing the changed Parquet partitions: the next build (this one) completed the interrupted
    # one, saying so, and testing every row. The new file is under its final name (complete, synced)
    # but served by nothing yet.
    output = _killed_at(copy, "publish:writing")
    assert "the previous build of" in output and "tests every row" in output
    assert digest(copy.warehouse) == before
    _serves(copy.warehouse)

    # During the copy of the small marts into the new warehouse file.
    _killed_at(copy, "publish:copying")
    assert publishing_path(copy.warehouse).exists()  # half written, and never served
    assert digest(copy.warehouse) == before
    _serves(copy.warehouse)

    # The new file complete and verified, not yet swapped in.
    _killed_at(copy, "publish:verified")
    assert digest(copy.warehouse) == before
    assert last_trade_date(copy.warehouse) == old_day
    _serves(copy.warehouse)

    # Right after the swap: the new, verified warehouse is served.
    _killed_at(copy, "publish:swapped")
    assert last_trade_date(copy.warehouse) == START.replace(day=3)
    _serves(copy.warehouse)

    code, output = finish(start(build_command(copy)))
    assert code == 0, output[-3000:]
    assert not publishing_path(copy.warehouse).exists()  # the stale half-written file was removed
    # Only the files of the served warehouse and of the one it replaced are left, none half written.
    folder = serving_folder(copy.warehouse)
    left = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    served = manifest_files(read_manifest(copy.warehouse))
    assert served <= left and not any(name.endswith(".tmp") for name in left)
    assert left <= served | set(read_manifest(copy.warehouse)["previous_files"])
    assert read_state(copy.warehouse)["state"] == "published"
    assert published_rows(copy.warehouse) == served_rows(copy.warehouse)
    health = _serves(copy.warehouse)
    assert health["symbols"][0]["latest_data_at"] == f"{START.replace(day=3)}T23:55:00Z"


@contextlib.contextmanager
def _small_filesystem(folder, size_bytes: int):
    """A tmpfs of `size_bytes` mounted on `folder` (root only); None when it cannot be mounted."""
    folder.mkdir(parents=True)
    mounted = (
        os.geteuid() == 0
        and shutil.which("mount")
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(folder)], capture_output=True
        ).returncode
        == 0
    )
    try:
        yield folder if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def _file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_mid_build_is_one_clear_line_and_the_warehouse_is_unchanged(built, tmp_path):
    copy = built.copy_with_new_day(tmp_path / "source")
    folder = copy.warehouse.parent
    used = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    with _small_filesystem(tmp_path / "small", used + 2 * 2**20) as small:
        if small is not None:  # the warehouse on a filesystem with 2 MiB to spare
            shutil.copytree(folder, small / "wh")
            copy = type(copy)(copy.raw, copy.lake, small / "wh" / "liquidations.duckdb")
            process = start(build_command(copy))
        else:  # not root: the build may write no file larger than its working database is now
            limit = working_database(copy.warehouse).stat().st_size + 2**20
            process = subprocess.Popen(
                build_command(copy),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                preexec_fn=_file_size_limit(limit),
            )
        before = digest(copy.warehouse)
        code, output = finish(process)

        assert code == 1, output[-3000:]
        errors = [line for line in output.splitlines() if line.startswith("build:")]
        assert len(errors) == 1, output[-3000:]
        assert "disk full writing " + str(copy.warehouse.parent) in errors[0]
        assert "MiB free there" in errors[0] and "needs about" in errors[0]
        assert f"the warehouse {copy.warehouse} is unchanged" in errors[0]
        assert digest(copy.warehouse) == before
        _serves(copy.warehouse)
        if small is not None:  # room again: the next build completes the one the full disk stopped
            subprocess.run(["mount", "-o", f"remount,size={200 * 2**20}", str(small)], check=True)
            code, output = finish(start(build_command(copy)))
            assert code == 0, output[-3000:]
            assert last_trade_date(copy.warehouse) == START.replace(day=3)
