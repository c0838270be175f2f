"""`liquidationheatmap live`: record + an incremental build every few minutes + serve, and its Redis.

One process: the recorder's asyncio loop in the main thread, the API (uvicorn) in a thread, each
build in a worker thread through dbt_runner.build_warehouse (the function `build` uses). After a
successful build, "marts updated" goes out on Redis and the pages redraw. With REDIS_URL unset a
local `redis-server` is started on 127.0.0.1 (a free port, no persistence) when the binary exists.
SIGINT/SIGTERM: the recorder publishes what it holds, a running build finishes (it is atomic
anyway), the server and the local Redis stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from liquidationheatmap.live.recorder import Recorder, RecorderConfig, publish_marts_updated

log = logging.getLogger(__name__)
REDIS_BINARY = "redis-server"
NO_REDIS_HINT = (
    "no Redis: live pages are off (recording goes on). Install Debian's redis-server "
    "(`apt-get install redis-server`) or set REDIS_URL=redis://HOST:PORT/0"
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalRedis:
    """`redis-server` on 127.0.0.1 and a free port, without persistence; stopped on exit."""

    def __init__(
        self, binary: str | None = None, workdir: Path | None = None, port: int | None = None
    ) -> None:
        self.binary = binary or shutil.which(REDIS_BINARY) or "/usr/bin/redis-server"
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @staticmethod
    def available(binary: str | None = None) -> bool:
        return bool(binary and Path(binary).exists()) or shutil.which(REDIS_BINARY) is not None

    def __enter__(self) -> LocalRedis:
        command = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                   "--appendonly", "no", "--protected-mode", "yes"]  # fmt: skip
        if self.workdir:
            self.workdir.mkdir(parents=True, exist_ok=True)
            command += ["--dir", str(self.workdir)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.process.stderr.read().decode()[-500:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return self
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError(f"redis-server did not listen on 127.0.0.1:{self.port}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class LiveOptions:
    recorder: RecorderConfig
    warehouse: Path
    host: str = "127.0.0.1"
    port: int = 8000
    build_minutes: float = 5.0
    on_listening: Callable[[str], None] | None = None
    serve: bool = True


async def _build_every(recorder: Recorder, options: LiveOptions, builds: list) -> None:
    from liquidationheatmap.dbt_runner import BuildLocked, NoDataError, build_warehouse

    config = recorder.config
    while not recorder.stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(recorder.stop.wait(), options.build_minutes * 60)
        if recorder.stop.is_set():
            return
        await recorder.roll()  # what was recorded so far goes into this build
        began = time.monotonic()
        try:
            # Under the warehouse's build lock, named "live"; a build someone else is running
            # (a manual `build`, a cron job) is not waited for: this round is skipped.
            outcome = await asyncio.to_thread(
                build_warehouse,
                config.lake,
                options.warehouse,
                truth=config.truth,
                console=None,
                wait=False,
                command="live",
            )
        except (NoDataError, BuildLocked) as error:
            log.info("build skipped: %s", error)
            continue
        except Exception as error:  # a failed build leaves the last good warehouse; try next time
            log.error("build failed: %s", error)
            continue
        seconds = time.monotonic() - began
        builds.append((outcome.success, seconds))
        if outcome.success:
            log.info("build done in %.1f s", seconds)
            await publish_marts_updated(recorder.publisher, {"seconds": round(seconds, 1)})
        else:
            log.error("build failed (%s); the last good warehouse is served", outcome.error or "dbt errors")


async def run_live(options: LiveOptions) -> dict:
    """Run until SIGINT/SIGTERM (or the recorder's max_seconds). Returns counters and builds."""
    recorder = Recorder(options.recorder)
    builds: list = []
    server = None
    if options.serve:
        from api.core.config import api_config
        from api.main import create_app
        from api.server import BackgroundServer

        app = create_app(
            api_config(
                warehouse=options.warehouse,
                redis_url=options.recorder.redis_url,
                recorder_state=options.recorder.state_path,
            )
        )
        server = BackgroundServer(app, options.host, options.port)
        server.__enter__()
        if options.on_listening:
            options.on_listening(server.url)
    builder = asyncio.create_task(_build_every(recorder, options, builds))
    try:
        counters = await recorder.run()
    finally:
        builder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await builder
        if server is not None:
            server.__exit__()
    return {"counters": counters, "builds": builds, "url": server.url if server else None}
