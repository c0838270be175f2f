"""The live path end to end in real headless Chromium: replay -> recorder -> Redis -> GET /stream ->
the heatmap page, which marks a replayed liquidation within a second of the server sending it."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "api"))

from live_harness import SYMBOL, record_replay
from pipeline_dataset import shared_dataset

from api.core.config import api_config
from api.main import create_app
from api.server import BackgroundServer
from liquidationheatmap.live.fake_exchange import Replay

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]


@pytest.fixture
def chromium(needs_program) -> Iterator[object]:
    executable = needs_program("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_heatmap_page_marks_a_replayed_liquidation_within_a_second(
    replay: Replay, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, redis_url: str, chromium
) -> None:
    dataset = shared_dataset(tmp_path_factory)
    state = tmp_path / "live" / "recorder.json"
    app = create_app(
        api_config(warehouse=dataset.warehouse, lineage_pages=(), redis_url=redis_url, recorder_state=state)
    )
    with BackgroundServer(app) as server:
        page = chromium.new_page()
        page.goto(f"{server.url}/heatmap?symbol={SYMBOL}")
        page.wait_for_function("window.LH_LIVE && window.LH_LIVE.live === true", timeout=30_000)
        runs: list = []
        worker = threading.Thread(
            target=lambda: runs.append(record_replay(replay, tmp_path / "live", redis_url=redis_url))
        )
        worker.start()
        try:
            page.wait_for_function("window.LH_LIVE.liquidations.length > 0", timeout=60_000)
            first = page.evaluate("window.LH_LIVE.liquidations[0]")
            page.wait_for_function(
                "document.getElementById('live').dataset.liquidations !== '0'", timeout=5_000
            )
            marks = page.evaluate(
                "document.getElementById('plot').data"
                ".filter((t) => t.meta === 'live' && t.mode === 'markers').flatMap((t) => t.y)"
            )
            # The recorder writes its state file once a second, so /health may lag the page by up
            # to that: ask again (bounded) until it counts the message.
            for _ in range(50):
                health = page.evaluate("fetch('/health').then((r) => r.json())")
                if health["recorder"]["streams"].get("!forceOrder@arr", {}).get("messages", 0) >= 1:
                    break
                page.wait_for_timeout(100)
        finally:
            worker.join(180)
        [run] = runs
    sent = {int(row[1]): at for row, at in ((list(k), v) for k, v in run.exchange.force_sent_at.items())}
    assert first["time"] in sent
    latency = first["arrived_at"] / 1000 - sent[first["time"]]
    assert latency < 1.0, f"the liquidation reached the page {latency:.3f} s after the server sent it"
    assert first["price"] in marks, "the liquidation is not marked on the heatmap"
    assert health["recorder"]["streams"]["!forceOrder@arr"]["messages"] >= 1


def test_a_marts_updated_message_redraws_the_heatmap_without_a_reload(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, redis_url: str, chromium
) -> None:
    """What `live` publishes after each build that lands (lh:marts): the page asks for the heatmap
    again, in the same page (no navigation), and keeps its live marks' source open."""
    import json

    import redis

    from liquidationheatmap.live.publisher import MARTS_CHANNEL

    dataset = shared_dataset(tmp_path_factory)
    app = create_app(
        api_config(
            warehouse=dataset.warehouse,
            lineage_pages=(),
            redis_url=redis_url,
            recorder_state=tmp_path / "live" / "recorder.json",
        )
    )
    with BackgroundServer(app) as server:
        page = chromium.new_page()
        page.goto(f"{server.url}/heatmap?symbol={SYMBOL}")
        page.wait_for_function("window.LH_LIVE && window.LH_LIVE.live === true", timeout=30_000)
        page.wait_for_load_state("networkidle")
        page.evaluate("window.__not_reloaded = true")  # a reload would lose it
        client = redis.Redis.from_url(redis_url)
        try:
            with page.expect_request(lambda r: "/liquidations/heatmap" in r.url, timeout=10_000) as request:
                # The page subscribed before it reported live; publish until the relay has a listener.
                for _ in range(20):
                    if client.publish(MARTS_CHANNEL, json.dumps({"event": "marts_updated", "seconds": 1.0})):
                        break
                    page.wait_for_timeout(250)
            assert f"symbol={SYMBOL}" in request.value.url
        finally:
            client.close()
        assert page.evaluate("window.__not_reloaded === true"), "the page reloaded instead of redrawing"
        assert page.evaluate("window.LH_LIVE.live") is True
