"""The API keeps answering while `liquidationheatmap build` replaces the warehouse, then serves the new
data."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import httpx
import pytest
from pipeline_dataset import MARKET_DATASETS, make_app

from api.server import BackgroundServer
from liquidationheatmap.ingest import ingest_archive

ROUTES = [
    "/health",
    "/symbols",
    "/liquidations/levels",
    "/liquidations/heatmap?timeframe=1d",
    "/liquidations/history?aggregate=true",
    "/volume-profile",
]
CLIENTS = 3
MAX_REQUESTS_PER_CLIENT = 4000  # bounded even if the build hangs; the build ends the loop first


@pytest.mark.slow
def test_build_while_clients_query_fails_no_request_and_new_day_appears(dataset, tmp_path):
    copy = dataset.copy_to(tmp_path / "rebuild")
    report = ingest_archive(
        copy.raw / "data",
        copy.lake,
        datasets=MARKET_DATASETS,
        start_date=dataset.extra_day,
        show_progress=False,
        workers=1,
    )
    assert report.loaded >= 2  # the third day's aggTrades and metrics (and bookDepth)
    # No cache: every request opens the warehouse, which is what must survive the swap.
    app = make_app(copy.warehouse, cache_ttl_seconds=0)
    failures: list[str] = []
    answered: list[int] = []
    latest_seen: set[str] = set()
    building = threading.Event()
    building.set()

    def client_loop(offset: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            count = 0
            while building.is_set() and count < MAX_REQUESTS_PER_CLIENT:
                path = ROUTES[(offset + count) % len(ROUTES)]
                try:
                    response = http.get(path)
                    if response.status_code != 200:
                        failures.append(f"{path}: {response.status_code} {response.text[:200]}")
                    elif path == "/health":
                        latest_seen.add(response.json()["symbols"][0]["latest_data_at"])
                except httpx.HTTPError as error:
                    failures.append(f"{path}: {type(error).__name__} {error}")
                count += 1
            answered.append(count)

    with BackgroundServer(app) as server:
        threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        build = subprocess.run(
            [
                sys.executable,
                "-m",
                "liquidationheatmap",
                "build",
                "--lake",
                str(copy.lake),
                "--warehouse",
                str(copy.warehouse),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        )
        time.sleep(1.5)  # some requests on the new file too
        building.clear()
        for thread in threads:
            thread.join(timeout=60)
        seconds = time.monotonic() - started
        after = httpx.get(f"{server.url}/health").json()
        symbols = httpx.get(f"{server.url}/symbols").json()

    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    assert failures == []
    assert sum(answered) >= CLIENTS * 5, f"only {sum(answered)} requests in {seconds:.0f}s"
    new_latest = datetime.combine(dataset.extra_day, datetime.min.time()) + timedelta(hours=23, minutes=55)
    assert after["symbols"][0]["latest_data_at"] == new_latest.isoformat() + "Z"
    assert symbols["symbols"][0]["last_trade_date"] == dataset.extra_day.isoformat()
    # Clients saw the old marts during the build and the new ones after the swap, without a restart.
    assert latest_seen == {"2026-10-02T23:55:00Z", new_latest.isoformat() + "Z"}
