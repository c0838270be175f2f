"""One build per warehouse at a time, and readers that never see a swap half done.

Two OS file locks (`fcntl.flock`) beside the warehouse, held by an open file of the process, so the
kernel releases them when the process ends however it ends (kill -9 included): a crash leaves no
lock behind, only a lock file that nobody holds.

- `<warehouse>.lock`, exclusive for a whole `build` or `docs` (and the live loop's builds): whoever
  holds it owns the working database and the publication. The holder writes its PID, start time and
  command into the file, so a second build can say whom it waits for.
- `<warehouse>.publish.lock`, exclusive only for the moment a build swaps the published warehouse
  and its results file in; `validate` and `score` take it shared while they read both, so they never
  read a new warehouse with the old results (or the reverse) and never wait for a whole build.

The lock files are never removed: removing a file that another process is about to lock would let
two processes lock two different files of the same name.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Holder:
    """Who holds a warehouse's build lock (as it wrote itself into the lock file)."""

    pid: int
    started_at: str
    command: str

    def describe(self) -> str:
        return f"PID {self.pid} (`{self.command}`, started {self.started_at})"


class BuildLocked(RuntimeError):
    """Another process holds the warehouse's build lock and the caller would not wait."""

    def __init__(self, warehouse: Path, holder: Holder | None) -> None:
        self.warehouse = warehouse
        self.holder = holder
        who = holder.describe() if holder else "another process"
        super().__init__(f"{warehouse} is being built by {who}; wait for it or run again without --no-wait")


def lock_path(warehouse: Path) -> Path:
    return Path(warehouse).with_name(Path(warehouse).name + ".lock")


def publish_lock_path(warehouse: Path) -> Path:
    return Path(warehouse).with_name(Path(warehouse).name + ".publish.lock")


def read_holder(warehouse: Path) -> Holder | None:
    """The holder recorded in the lock file (None when unreadable, e.g. being written)."""
    try:
        data = json.loads(lock_path(warehouse).read_text(encoding="utf-8"))
        return Holder(int(data["pid"]), str(data["started_at"]), str(data["command"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _try_lock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def build_lock(
    warehouse: Path,
    command: str,
    *,
    wait: bool = True,
    timeout: float | None = None,
    on_wait: Callable[[Holder | None], None] | None = None,
) -> Iterator[Holder]:
    """Hold the warehouse's build lock for the block.

    Held by another process: with `wait`, call `on_wait(holder)` once and block until it is free
    (or `timeout` seconds passed: BuildLocked); without, raise BuildLocked at once.
    """
    warehouse = Path(warehouse)
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd, fcntl.LOCK_EX):
            holder = read_holder(warehouse)
            if not wait:
                raise BuildLocked(warehouse, holder)
            if on_wait is not None:
                on_wait(holder)
            deadline = None if timeout is None else time.monotonic() + timeout
            while not _try_lock(fd, fcntl.LOCK_EX):
                if deadline is not None and time.monotonic() > deadline:
                    raise BuildLocked(warehouse, read_holder(warehouse))
                time.sleep(POLL_SECONDS)
        me = Holder(os.getpid(), datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), command)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me.__dict__).encode(), 0)
        try:
            yield me
        finally:
            os.ftruncate(fd, 0)  # no stale holder once released (a crash leaves it, unlocked: harmless)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def is_build_locked(warehouse: Path) -> bool:
    """True while some process holds the warehouse's build lock."""
    path = lock_path(warehouse)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        if _try_lock(fd, fcntl.LOCK_SH):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        return True
    finally:
        os.close(fd)


@contextlib.contextmanager
def publish_lock(warehouse: Path, *, shared: bool) -> Iterator[None]:
    """The short lock around a swap (exclusive) or a read of warehouse + results (shared).

    A reader that cannot create the lock file (a read-only folder) reads without it: nobody can be
    building there either.
    """
    path = publish_lock_path(warehouse)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        if not shared:
            raise
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
