"""Live recorder benchmark: sustained message rate on one core, memory over time, and the latency
from a forceOrder frame at the server to the SSE event at a client.

    uv run python scripts/bench_live.py                 # 10-minute memory run (the default)
    uv run python scripts/bench_live.py --minutes 2     # shorter

Everything runs on 127.0.0.1: a blast server (its own process) sends Binance-format aggTrade frames
on /market/stream and answers the REST polls; the recorder (this process, pinned to one core)
writes a throwaway lake; Redis is Debian's redis-server on a free port; `liquidationheatmap serve`
(its own process) relays Redis on GET /stream, read by an SSE client thread here.

1. rate: the server sends --burst frames as fast as it can; rate = frames / (last - first receive).
2. memory: the server paces --rate frames/s for --minutes; RSS sampled every 10 s.
3. latency: during the memory run the server sends 10 forceOrder frames a second with the wall
   time of sending in `T`; the SSE client takes `now - T` for each liquidation event.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SYMBOL = "BTCUSDT"


# --- the blast server (child process) ---------------------------------------------------------------
def _serve(port_queue, burst: int, rate: float, seconds: float, liquidations_per_second: float) -> None:
    from websockets.asyncio.server import serve

    async def handler(ws) -> None:
        ident = 1
        protocol = ws.protocol

        def frame(i: int, now_ms: int) -> bytes:
            data = {
                "e": "aggTrade",
                "E": now_ms,
                "s": SYMBOL,
                "a": i,
                "p": "50000.0",
                "q": "0.001",
                "f": i,
                "l": i,
                "T": now_ms,
                "m": i % 2 == 0,
            }
            return json.dumps({"stream": "btcusdt@aggTrade", "data": data}, separators=(",", ":")).encode()

        # 1. burst
        now_ms = int(time.time() * 1000)
        for _ in range(burst):
            protocol.send_text(frame(ident, now_ms))
            ident += 1
            if ident % 500 == 0:
                ws.send_data()
                await asyncio.sleep(0)
        ws.send_data()
        await ws.send('{"bench":"burst-done"}')
        await asyncio.sleep(2)
        # 2. paced, with liquidations carrying their send time
        begin = time.monotonic()
        sent = 0
        next_liquidation = begin
        while time.monotonic() - begin < seconds:
            due = int((time.monotonic() - begin) * rate)
            now_ms = int(time.time() * 1000)
            while sent < due:
                protocol.send_text(frame(ident, now_ms))
                ident += 1
                sent += 1
            if time.monotonic() >= next_liquidation:
                next_liquidation += 1 / liquidations_per_second
                sent_ms = int(time.time() * 1000)
                order = {
                    "s": SYMBOL,
                    "S": "SELL",
                    "o": "LIMIT",
                    "f": "IOC",
                    "q": "0.01",
                    "p": "49000",
                    "ap": "49000",
                    "X": "FILLED",
                    "l": "0.01",
                    "z": "0.01",
                    "T": sent_ms,
                }
                text = json.dumps(
                    {"stream": "!forceOrder@arr", "data": {"e": "forceOrder", "E": sent_ms, "o": order}}
                )
                protocol.send_text(text.encode())
            ws.send_data()
            await asyncio.sleep(0.005)
        await ws.send('{"bench":"done"}')
        await asyncio.sleep(3600)

    def process_request(connection, request):
        parts = urlsplit(request.path)
        if parts.path.startswith("/market/"):
            return None
        now = int(time.time() * 1000)
        if parts.path == "/fapi/v1/openInterest":
            body = {"openInterest": "1000.0", "symbol": SYMBOL, "time": now}
        elif parts.path == "/fapi/v1/premiumIndex":
            body = {
                "symbol": SYMBOL,
                "markPrice": "50000.0",
                "lastFundingRate": "0.0001",
                "nextFundingTime": now // 28_800_000 * 28_800_000 + 28_800_000,
                "time": now,
            }
        elif parts.path == "/fapi/v1/aggTrades":
            body = []
        else:
            body = []
        response = connection.respond(HTTPStatus.OK, json.dumps(body))
        response.headers["Content-Type"] = "application/json"
        return response

    async def main() -> None:
        async with serve(
            handler,
            "127.0.0.1",
            0,
            process_request=process_request,
            compression=None,
            max_queue=None,
            write_limit=1 << 24,
        ) as server:
            port_queue.put(server.sockets[0].getsockname()[1])
            await asyncio.Future()

    asyncio.run(main())


def _rss_mib() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--burst", type=int, default=200_000, help="frames sent as fast as possible")
    parser.add_argument("--rate", type=float, default=2_000.0, help="paced frames/s for the memory run")
    parser.add_argument("--minutes", type=float, default=10.0, help="memory run length (default 10)")
    args = parser.parse_args()

    from liquidationheatmap.live import recorder as recorder_module
    from liquidationheatmap.live.recorder import Recorder, RecorderConfig
    from liquidationheatmap.live.session import LocalRedis, free_port

    with contextlib_suppress():
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # the recorder gets one core
    seconds = args.minutes * 60
    queue: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(
        target=_serve, args=(queue, args.burst, args.rate, seconds, 10.0), daemon=True
    )
    server.start()
    port = queue.get(timeout=30)
    work = Path(tempfile.mkdtemp(prefix="bench-live-"))
    marks: dict[str, float] = {}
    received = {"n": 0, "first": None, "last": None, "cpu_first": None, "cpu_last": None}
    original = Recorder.handle

    def counting(self, frame, at):
        if isinstance(frame, str) and frame.startswith('{"bench"'):
            marks[json.loads(frame)["bench"]] = time.time()
            return None
        if "burst-done" not in marks:
            received["n"] += 1
            now, cpu = time.monotonic(), time.thread_time()
            if received["first"] is None:
                received["first"], received["cpu_first"] = now, cpu
            received["last"], received["cpu_last"] = now, cpu
        return original(self, frame, at)

    recorder_module.Recorder.handle = counting
    latencies: list[float] = []
    with LocalRedis(workdir=work / "redis") as redis:
        api_port = free_port()
        env = {
            **os.environ,
            "REDIS_URL": redis.url,
            "DUCKDB_PATH": str(work / "none.duckdb"),
            "LOG_FILE": str(work / "api.log"),
        }
        api = subprocess.Popen(
            [sys.executable, "-m", "liquidationheatmap", "serve", "--port", str(api_port)],
            env=env,
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stop_sse = threading.Event()

        def sse() -> None:
            import httpx

            for _ in range(100):
                try:
                    with httpx.stream(
                        "GET", f"http://127.0.0.1:{api_port}/stream?symbol={SYMBOL}", timeout=None
                    ) as r:
                        event = None
                        for line in r.iter_lines():
                            if stop_sse.is_set():
                                return
                            if line.startswith("event: "):
                                event = line[7:]
                            elif line.startswith("data: ") and event == "liquidation":
                                sent_ms = json.loads(line[6:])["time"]
                                # only once the burst's backlog is drained (1 s after its end marker)
                                if "burst-done" in marks and sent_ms / 1000 > marks["burst-done"] + 1:
                                    latencies.append(time.time() * 1000 - sent_ms)
                except httpx.HTTPError:
                    time.sleep(0.2)

        client = threading.Thread(target=sse, daemon=True)
        client.start()
        time.sleep(2)
        config = RecorderConfig(
            [SYMBOL],
            f"ws://127.0.0.1:{port}",
            f"http://127.0.0.1:{port}",
            work / "lake",
            work / "truth",
            work / "state.json",
            redis_url=redis.url,
            roll_seconds=60,
            oi_interval=30,
            max_seconds=seconds + 60,
        )
        samples: list[tuple[float, float]] = []

        async def run() -> None:
            recorder = Recorder(config)
            task = asyncio.create_task(recorder.run())
            began = time.monotonic()
            while not task.done():
                await asyncio.sleep(10)
                samples.append((time.monotonic() - began, _rss_mib()))
                print(
                    f"  {samples[-1][0]:6.0f} s  RSS {samples[-1][1]:7.1f} MiB  "
                    f"liquidations seen {len(latencies)}",
                    flush=True,
                )
                if "done" in marks:
                    recorder.stop.set()
            await task

        asyncio.run(run())
        stop_sse.set()
        api.terminate()
        api.wait(10)
    server.terminate()
    rate = received["n"] / (received["last"] - received["first"]) if received["n"] > 1 else float("nan")
    cpu = received["cpu_last"] - received["cpu_first"] if received["n"] > 1 else float("nan")
    print(
        f"\nsustained rate ({received['n']:,} frames burst, recorder pinned to one core): "
        f"{rate:,.0f} messages/s "
        f"wall; {received['n'] / cpu:,.0f} messages per CPU-second of the recorder's thread"
    )
    if samples:
        early = statistics.mean(r for _, r in samples[: max(1, len(samples) // 5)])
        late = statistics.mean(r for _, r in samples[-max(1, len(samples) // 5) :])
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"memory over {args.minutes:g} min at {args.rate:,.0f} msg/s: first fifth {early:.1f} MiB, "
            f"last fifth {late:.1f} MiB, peak {peak:.1f} MiB"
        )
    if latencies:
        latencies.sort()
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
        print(
            f"forceOrder at server -> SSE at client ({len(latencies)} events): p50 {p(0.5):.0f} ms, "
            f"p99 {p(0.99):.0f} ms, max {latencies[-1]:.0f} ms"
        )
    return 0


class contextlib_suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], (AttributeError, OSError))


if __name__ == "__main__":
    sys.exit(main())
