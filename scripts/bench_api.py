"""Latency of the API on loopback: p50/p99 per endpoint at 1, 8 and 32 concurrent clients, cold and cached.

    uv run python scripts/bench_api.py --sample     # simulate 2 days -> ingest -> build, then bench
    uv run python scripts/bench_api.py --warehouse data/processed/liquidations.duckdb
    uv run python scripts/bench_api.py --sample --client python   # the Python client, no wrk
    uv run --with httptools --with uvloop python scripts/bench_api.py --sample   # uvicorn's C parts

The server runs as `liquidationheatmap serve` in its own process: once with the response cache off
(CACHE_TTL_SECONDS=0: every request opens the warehouse and queries it, "cold") and once with it on,
warmed by one request per endpoint first ("cached").

The load comes from `wrk` (Debian: apt-get install wrk) when it is installed: C, event-driven, so
32 connections cost the shared cores little. Each run lasts --seconds; connections send requests
back to back (closed loop); latencies are wrk's own distribution. A generated Lua script sends the
POST body and checks every answer: its status must be 200 and its body exactly as long as the one
answer fetched before the run, else it counts as an error. Without wrk (or with --client python)
each client is a thread with its own httpx.Client sending --requests requests; those threads compete
with the server for the same cores, so at 32 clients they measure mostly CPU queueing. The table's
title names the client that produced it. Figures depend on the machine; this one is a shared
2-core box.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

MARGIN_BODY = {"symbol": "BTCUSDT", "side": "long", "entry_price": 50_000, "quantity": 0.02, "leverage": 2}
ENDPOINTS = {
    "heatmap 7d": ("GET", "/liquidations/heatmap?timeframe=7d", None),
    "heatmap 30d": ("GET", "/liquidations/heatmap?timeframe=30d", None),
    "levels": ("GET", "/liquidations/levels", None),
    "margin calculate": ("POST", "/api/margin/calculate", MARGIN_BODY),
}


def build_sample(root: Path, days: int, trades_per_day: int) -> Path:
    from liquidationheatmap.dbt_runner import build_warehouse
    from liquidationheatmap.ingest import ingest_archive
    from liquidationheatmap.simulate import simulate_market

    simulate_market(root / "raw", ["BTCUSDT"], date(2026, 10, 1), days=days, trades_per_day=trades_per_day)
    ingest_archive(
        root / "raw" / "data", root / "lake", datasets=["aggTrades", "metrics", "fundingRate", "bookDepth"]
    )
    outcome = build_warehouse(root / "lake", root / "liquidations.duckdb")
    if not outcome.success:
        raise SystemExit(f"build failed: {outcome.error}")
    return root / "liquidations.duckdb"


class Server:
    def __init__(self, warehouse: Path, cache_ttl: int) -> None:
        env = {**os.environ, "CACHE_TTL_SECONDS": str(cache_ttl), "COLUMNS": "300", "LOG_LEVEL": "WARNING"}
        command = [
            sys.executable,
            "-m",
            "liquidationheatmap",
            "serve",
            "--port",
            "0",
            "--warehouse",
            str(warehouse),
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        deadline = time.monotonic() + 60
        line = ""
        while "serving" not in line:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"server did not start: {line}")
            line = self.process.stdout.readline()
        self.url = re.search(r"serving (http://[\d.]+:\d+)", line).group(1)
        threading.Thread(target=self.process.stdout.read, daemon=True).start()  # keep the pipe drained
        for _ in range(200):
            try:
                httpx.get(f"{self.url}/health", timeout=5)
                return
            except httpx.TransportError:
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


@dataclass
class Run:
    latencies_ms: tuple[float, float]  # p50, p99
    requests: int
    seconds: float
    errors: int


def server_stack() -> str:
    """What uvicorn's "auto" picks in this interpreter (the server runs under the same one)."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"{http} + {loop}"


def request_body(body: dict | None) -> dict:
    """The body exactly as wrk sends it (the same bytes, so the same cache key for every client)."""
    if body is None:
        return {}
    return {"content": json.dumps(body).encode(), "headers": {"content-type": "application/json"}}


def expected_answer(url: str, endpoint: tuple) -> int:
    """The body length of one real answer (status 200 required): what every measured answer must match."""
    method, path, body = endpoint
    response = httpx.request(method, url + path, timeout=60, **request_body(body))
    if response.status_code != 200:
        raise SystemExit(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
    return len(response.content)


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def run_python(url: str, endpoint: tuple, clients: int, requests: int, expected_length: int) -> Run:
    method, path, body = endpoint
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def client() -> None:
        nonlocal errors
        mine, failed = [], 0
        with httpx.Client(base_url=url, timeout=60) as http:
            for _ in range(requests):
                started = time.perf_counter()
                response = http.request(method, path, **request_body(body))
                mine.append(time.perf_counter() - started)
                failed += response.status_code != 200 or len(response.content) != expected_length
        with lock:
            latencies.extend(mine)
            errors += failed

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    seconds = time.perf_counter() - started
    return Run(
        (percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000), len(latencies), seconds, errors
    )


WRK_SCRIPT = """\
-- written by scripts/bench_api.py: the request, and a check of every answer
wrk.method = {method}
wrk.body = {body}
{content_type}
local expected = {expected}
local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
end

function response(status, headers, body)
  if status ~= 200 or #body ~= expected then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("bad")
  end
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %.1f %.1f\\n", summary.requests, summary.duration,
    failed + e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII text is also a valid Lua string literal


def run_wrk(
    url: str, endpoint: tuple, clients: int, seconds: float, expected_length: int, scratch: Path
) -> Run:
    method, path, body = endpoint
    script = scratch / "bench.lua"
    script.write_text(
        WRK_SCRIPT.format(
            method=lua_string(method),
            body=lua_string(json.dumps(body)) if body is not None else "nil",
            content_type='wrk.headers["Content-Type"] = "application/json"' if body is not None else "",
            expected=expected_length,
        )
    )
    command = [
        "wrk",
        f"--threads={min(2, clients)}",
        f"--connections={clients}",
        f"--duration={seconds:g}s",
        "--timeout=30s",
        f"--script={script}",
        url + path,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    found = re.search(r"^BENCH (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+)$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"wrk failed ({result.returncode}): {result.stdout}{result.stderr}")
    requests, micros, errors = (int(found.group(i)) for i in (1, 2, 3))
    p50, p99 = (float(found.group(i)) / 1000 for i in (4, 5))
    return Run((p50, p99), requests, micros / 1e6, errors)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--warehouse", type=Path, default=None, help="warehouse to serve (default DUCKDB_PATH)"
    )
    parser.add_argument(
        "--sample", action="store_true", help="build a small simulated warehouse in a temp folder"
    )
    parser.add_argument("--days", type=int, default=2, help="--sample: simulated days (default 2)")
    parser.add_argument(
        "--trades-per-day", type=int, default=20_000, help="--sample: aggTrades a day (default 20k)"
    )
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32], help="concurrency levels")
    parser.add_argument(
        "--client",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk if installed (auto), or the Python threads",
    )
    parser.add_argument("--seconds", type=float, default=5, help="wrk: seconds per run (default 5)")
    parser.add_argument(
        "--requests", type=int, default=20, help="Python client: requests per client per run (default 20)"
    )
    args = parser.parse_args()
    console = Console()
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
        if client == "python":
            console.print(
                "[yellow]wrk is not installed (apt-get install wrk): using the Python client, whose "
                "threads share the cores with the server, so the figures at 8 and 32 clients are slower"
            )
    elif client == "wrk" and not shutil.which("wrk"):
        console.print("[red]--client wrk: wrk is not installed (apt-get install wrk)")
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-api-") as scratch:
        if args.sample:
            warehouse = build_sample(Path(scratch), args.days, args.trades_per_day)
        else:
            from liquidationheatmap.settings import get_settings

            warehouse = (args.warehouse or get_settings().duckdb_path).resolve()
        if not warehouse.exists():
            console.print(
                f"[red]no warehouse at {warehouse}: run `liquidationheatmap build` or pass --sample"
            )
            return 2
        how = (
            f"wrk, {args.seconds:g} s per run"
            if client == "wrk"
            else f"Python httpx threads, {args.requests} requests per client"
        )
        table = Table(
            title=f"API latency on loopback ({warehouse.stat().st_size / 2**20:.0f} MiB warehouse; "
            f"server: uvicorn {server_stack()}; client: {how})"
        )
        for column in ("endpoint", "mode", "clients", "requests", "p50 ms", "p99 ms", "req/s", "errors"):
            table.add_column(column, justify="left" if column in ("endpoint", "mode") else "right")
        for mode, ttl in (("cold", 0), ("cached", 3600)):
            server = Server(warehouse, ttl)
            try:
                for name, endpoint in ENDPOINTS.items():
                    expected_length = expected_answer(server.url, endpoint)  # also warms the cache
                    for clients in args.clients:
                        if client == "wrk":
                            run = run_wrk(
                                server.url, endpoint, clients, args.seconds, expected_length, Path(scratch)
                            )
                        else:
                            run = run_python(server.url, endpoint, clients, args.requests, expected_length)
                        table.add_row(
                            name,
                            mode,
                            str(clients),
                            str(run.requests),
                            f"{run.latencies_ms[0]:.1f}",
                            f"{run.latencies_ms[1]:.1f}",
                            f"{run.requests / run.seconds:.0f}",
                            str(run.errors),
                        )
                        console.print(f"{name} {mode} x{clients} done", style="dim")
            finally:
                server.stop()
        console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
