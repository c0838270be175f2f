"""Latency of the API on loopback: p50/p99 per endpoint at 1, 8 and 32 concurrent clients, cold and cached.

    uv run python scripts/bench_api.py --sample     # simulate 2 days -> ingest -> build, then bench
    uv run python scripts/bench_api.py --warehouse data/processed/liquidations.duckdb

The server runs as `liquidationheatmap serve` in its own process (so the clients do not share its GIL):
once with the response cache off (CACHE_TTL_SECONDS=0: every request opens the warehouse and queries
it, "cold") and once with it on, warmed by one request per endpoint first ("cached"). Each client
sends --requests requests back to back. Figures depend on the machine; this one is a shared 2-core box.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
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


def run_clients(url: str, endpoint: tuple, clients: int, requests: int) -> tuple[list[float], float, int]:
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
                response = http.request(method, path, json=body)
                mine.append(time.perf_counter() - started)
                failed += response.status_code != 200
        with lock:
            latencies.extend(mine)
            errors += failed

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    return latencies, time.perf_counter() - started, errors


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


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
    parser.add_argument("--requests", type=int, default=20, help="requests per client per run (default 20)")
    args = parser.parse_args()
    console = Console()
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
        table = Table(title=f"API latency on loopback ({warehouse.stat().st_size / 2**20:.0f} MiB warehouse)")
        for column in ("endpoint", "mode", "clients", "requests", "p50 ms", "p99 ms", "req/s", "errors"):
            table.add_column(column, justify="left" if column in ("endpoint", "mode") else "right")
        for mode, ttl in (("cold", 0), ("cached", 3600)):
            server = Server(warehouse, ttl)
            try:
                for name, endpoint in ENDPOINTS.items():
                    if mode == "cached":
                        run_clients(server.url, endpoint, 1, 1)  # warm the cache
                    for clients in args.clients:
                        latencies, seconds, errors = run_clients(server.url, endpoint, clients, args.requests)
                        table.add_row(
                            name,
                            mode,
                            str(clients),
                            str(len(latencies)),
                            f"{percentile(latencies, 50) * 1000:.1f}",
                            f"{percentile(latencies, 99) * 1000:.1f}",
                            f"{len(latencies) / seconds:.0f}",
                            str(errors),
                        )
                        console.print(f"{name} {mode} x{clients} done", style="dim")
            finally:
                server.stop()
        console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
