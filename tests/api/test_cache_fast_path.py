"""The response-cache fast path (api.cache.FastPathCache): what it stores, under which key, and when
an answer stops being served from it."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import time

import duckdb
import httpx
from fastapi.testclient import TestClient
from pipeline_dataset import make_app

from api.cache import CacheableRoutes, FastPathCache, ResponseCache, StoredResponse
from api.core.config import api_config
from api.main import create_app
from api.server import BackgroundServer

HEATMAP = "/liquidations/heatmap?symbol=BTCUSDT&model=binance_standard&timeframe=30d"
MARGIN = {"symbol": "BTCUSDT", "side": "long", "entry_price": 50_000, "quantity": 0.02, "leverage": 2}
PER_CONNECTION_HEADERS = {b"date", b"server"}  # added by uvicorn to every answer, not by the app


def counts(app) -> tuple[int, int]:
    return app.state.cache.hits, app.state.cache.misses


def stored(app) -> list[StoredResponse]:
    """The whole responses the fast path holds (the routes' own entries are bodies and lookups)."""
    return [entry.value for entry in fast_path_entries(app).values()]


def fast_path_entries(app) -> dict:
    return {
        key: entry
        for key, entry in app.state.cache._entries.items()
        if isinstance(entry.value, StoredResponse)
    }


def swap_in_eth(warehouse) -> None:
    """A new build lands: a copy with ETHUSDT in dim_symbols is moved over the file (as build does)."""
    staged = warehouse.with_name("staged.duckdb")
    shutil.copy2(warehouse, staged)
    connection = duckdb.connect(str(staged))
    connection.execute("insert into dim_symbols (symbol, price_bin_size) values ('ETHUSDT', 5.0)")
    connection.close()
    os.replace(staged, warehouse)


def test_a_hit_sends_the_same_status_headers_and_bytes_as_the_miss_over_tcp(dataset):
    app = make_app(dataset.warehouse, cache_ttl_seconds=3600, lineage_pages=())
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url) as http:
        miss = http.get(HEATMAP)
        before = counts(app)
        hit = http.get(HEATMAP)
        after = counts(app)
        post_miss = http.post("/api/margin/calculate", json=MARGIN)
        post_hit = http.post("/api/margin/calculate", json=MARGIN)

    def app_headers(response: httpx.Response) -> list[tuple[bytes, bytes]]:
        return [(k.lower(), v) for k, v in response.headers.raw if k.lower() not in PER_CONNECTION_HEADERS]

    assert miss.status_code == hit.status_code == 200
    assert hit.content == miss.content and len(hit.content) == int(hit.headers["content-length"])
    assert (
        app_headers(hit)
        == app_headers(miss)
        == [
            (b"content-length", str(len(miss.content)).encode()),
            (b"content-type", b"application/json"),
        ]
    )
    # Answered by the fast path alone: one hit, no miss, and the route's own cache never asked.
    assert after == (before[0] + 1, before[1])
    assert post_hit.content == post_miss.content and app_headers(post_hit) == app_headers(post_miss)
    assert round(post_hit.json()["liquidation_price"], 2) == 25_100.40


def test_query_parameters_in_another_order_hit_the_same_entry_and_other_values_do_not(dataset):
    app = make_app(dataset.warehouse, cache_ttl_seconds=3600, lineage_pages=())
    with TestClient(app) as client:
        first = client.get("/liquidations/heatmap?timeframe=30d&side=long")
        hits = app.state.cache.hits
        reordered = client.get("/liquidations/heatmap?side=long&timeframe=30d")
        assert app.state.cache.hits == hits + 1
        other = client.get("/liquidations/heatmap?timeframe=7d&side=long")
    assert reordered.content == first.content
    assert other.json()["timeframe"] == "7d" and first.json()["timeframe"] == "30d"
    assert len(stored(app)) == 2


def test_the_post_body_is_part_of_the_key(dataset):
    app = make_app(dataset.warehouse, cache_ttl_seconds=3600, lineage_pages=())
    with TestClient(app) as client:
        two_x = client.post("/api/margin/calculate", json=MARGIN)
        hits = app.state.cache.hits
        four_x = client.post("/api/margin/calculate", json={**MARGIN, "leverage": 4})
        assert app.state.cache.hits == hits  # another body: a miss, computed by the route
        again = client.post("/api/margin/calculate", json={**MARGIN, "leverage": 4})
        assert app.state.cache.hits == hits + 1
    # WB = 0.02 * 50,000 / leverage; LP = (WB - 0.02 * 50,000) / (0.02 * (0.004 - 1))
    assert round(two_x.json()["liquidation_price"], 2) == 25_100.40
    assert round(four_x.json()["liquidation_price"], 2) == 37_650.60
    assert again.content == four_x.content


def test_a_warehouse_swap_replaces_cached_answers_and_cached_404s(dataset, tmp_path):
    copy = dataset.copy_to(tmp_path / "swap")
    app = make_app(copy.warehouse, cache_ttl_seconds=3600, lineage_pages=())
    eth = {**MARGIN, "symbol": "ETHUSDT"}
    with TestClient(app) as client:
        symbols = client.get("/symbols").json()
        unknown = client.post("/api/margin/calculate", json=eth)
        hits = app.state.cache.hits
        unknown_again = client.post("/api/margin/calculate", json=eth)
        assert app.state.cache.hits == hits + 1  # the 404 itself was served from the cache
        swap_in_eth(copy.warehouse)
        symbols_after = client.get("/symbols").json()
        known = client.post("/api/margin/calculate", json=eth)
    assert [s["symbol"] for s in symbols["symbols"]] == ["BTCUSDT"]
    assert [s["symbol"] for s in symbols_after["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    assert unknown.status_code == unknown_again.status_code == 404
    assert unknown.json()["detail"] == "unknown symbol ETHUSDT: bracket tables exist for BTCUSDT"
    assert known.status_code == 200 and known.json()["uses_default_table"] is True


def test_entries_expire_after_the_ttl(dataset):
    app = make_app(dataset.warehouse, cache_ttl_seconds=0.3, lineage_pages=())
    with TestClient(app) as client:
        first = client.get("/liquidations/levels")
        (key, entry), *_ = fast_path_entries(app).items()
        hits = app.state.cache.hits
        client.get("/liquidations/levels")
        assert app.state.cache.hits == hits + 1 and fast_path_entries(app)[key] is entry
        time.sleep(0.4)
        again = client.get("/liquidations/levels")
        renewed = fast_path_entries(app)[key]
    # Expired: answered by the route again and stored anew, with the same bytes.
    assert renewed is not entry and renewed.expires_at >= entry.expires_at + 0.4
    assert again.content == first.content and renewed.value.body == first.content


def test_with_a_ttl_of_zero_nothing_is_stored(dataset):
    app = make_app(dataset.warehouse, cache_ttl_seconds=0, lineage_pages=())
    with TestClient(app) as client:
        answers = [client.get(HEATMAP) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200] and answers[0].content == answers[1].content
    assert len(app.state.cache) == 0 and app.state.cache.hits == 0


def test_the_cache_stays_within_its_entry_and_byte_bounds(dataset):
    config = dataclasses.replace(
        api_config(warehouse=dataset.warehouse, cache_ttl_seconds=3600, lineage_pages=()),
        cache_max_entries=4,
        cache_max_bytes=100_000,
    )
    app = create_app(config)
    with TestClient(app) as client:
        heatmap_7d = client.get("/liquidations/heatmap?timeframe=7d")  # over 100 kB: never stored
        again_7d = client.get("/liquidations/heatmap?timeframe=7d")
        for leverage in range(2, 12):
            assert (
                client.post("/api/margin/calculate", json={**MARGIN, "leverage": leverage}).status_code == 200
            )
    assert len(heatmap_7d.content) > 100_000 and again_7d.content == heatmap_7d.content
    assert len(app.state.cache) == 4 and app.state.cache.size_bytes <= 100_000
    # The newest four margin answers survive, least recently used first out.
    assert sorted(entry.body for entry in stored(app)) == sorted(
        client.post("/api/margin/calculate", json={**MARGIN, "leverage": leverage}).content
        for leverage in range(8, 12)
    )


def test_validation_errors_are_cached_with_the_same_body(dataset):
    app = make_app(dataset.warehouse, cache_ttl_seconds=3600, lineage_pages=())
    with TestClient(app) as client:
        first = client.get("/liquidations/heatmap?timeframe=2d")
        hits = app.state.cache.hits
        second = client.get("/liquidations/heatmap?timeframe=2d")
    assert first.status_code == second.status_code == 422
    assert second.content == first.content and first.json()["detail"][0]["loc"] == ["query", "timeframe"]
    assert app.state.cache.hits == hits + 1


def test_a_503_before_any_build_flips_to_data_as_soon_as_the_warehouse_appears(dataset, tmp_path):
    path = tmp_path / "later.duckdb"
    app = make_app(path, cache_ttl_seconds=3600, lineage_pages=())
    with TestClient(app) as client:
        before = [client.get("/liquidations/levels") for _ in range(2)]
        assert app.state.cache.hits == 1  # the second 503 came from the cache, keyed by "no file"
        shutil.copy2(dataset.warehouse, path)
        after = client.get("/liquidations/levels")
    assert [b.status_code for b in before] == [503, 503] and before[1].headers["retry-after"] == "30"
    assert after.status_code == 200 and after.json()["symbol"] == "BTCUSDT"


def test_a_503_from_a_file_that_exists_is_never_cached(tmp_path):
    broken = tmp_path / "broken.duckdb"
    broken.write_text("not a database")
    app = make_app(broken, cache_ttl_seconds=3600, lineage_pages=())
    with TestClient(app) as client:
        answers = [client.get("/symbols") for _ in range(2)]
    assert [a.status_code for a in answers] == [503, 503]
    assert app.state.cache.hits == 0 and stored(app) == []


# The rules below are about answers the real app never gives (a 500, a build landing between the
# two identity checks): a small ASGI app drives the same FastPathCache and ResponseCache.


def call(app, path: str, body: bytes = b"") -> tuple[int, bytes]:
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST" if body else "GET",
        "path": path,
        "query_string": b"",
        "headers": [],
    }
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


class Scripted:
    """An ASGI app answering each call with the next (status, body) and running a side effect."""

    def __init__(self, answers: list[tuple[int, bytes]], during=lambda: None) -> None:
        self.answers = answers
        self.during = during
        self.calls = 0

    async def __call__(self, scope, receive, send) -> None:
        request = await receive()
        status, body = self.answers[self.calls]
        self.calls += 1
        self.during()
        headers = [(b"content-length", str(len(body + request["body"])).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body + request["body"]})


ROUTES = CacheableRoutes(exact=frozenset({("GET", "/r"), ("POST", "/p")}), prefixes=(("GET", "/t/"),))


def test_server_errors_are_never_stored():
    inner = Scripted([(500, b"boom"), (200, b"ok"), (200, b"later")])
    app = FastPathCache(inner, cache=ResponseCache(10, 10_000, 60), identity=lambda: (1, 1), routes=ROUTES)
    assert [call(app, "/r") for _ in range(3)] == [(500, b"boom"), (200, b"ok"), (200, b"ok")]
    assert inner.calls == 2


def test_an_answer_computed_while_the_warehouse_changed_is_not_stored():
    identity = [(1, 1)]
    inner = Scripted([(200, b"old"), (200, b"new"), (200, b"unused")], during=lambda: identity.append((2, 2)))
    app = FastPathCache(
        inner, cache=ResponseCache(10, 10_000, 60), identity=lambda: identity[-1], routes=ROUTES
    )
    first = call(app, "/r")  # identity (1, 1) before, (2, 2) after: served, not stored
    inner.during = lambda: None
    second = call(app, "/r")
    third = call(app, "/r")
    assert (first, second, third) == ((200, b"old"), (200, b"new"), (200, b"new")) and inner.calls == 2


def test_only_the_listed_routes_and_a_bounded_body_go_through_the_cache():
    inner = Scripted([(200, b"a"), (200, b"b"), (200, b"c"), (200, b"d"), (200, b"e"), (200, b"f")])
    cache = ResponseCache(10, 10_000, 60)
    app = FastPathCache(inner, cache=cache, identity=lambda: (1, 1), routes=ROUTES, max_body=8)
    assert [call(app, "/other") for _ in range(2)] == [(200, b"a"), (200, b"b")]  # not listed
    assert [call(app, "/t/") for _ in range(1)] == [(200, b"c")]  # the bare prefix is no route
    assert [call(app, "/p", b"x" * 9) for _ in range(2)] == [(200, b"d" + b"x" * 9), (200, b"e" + b"x" * 9)]
    assert [call(app, "/p", b"small") for _ in range(2)] == [(200, b"fsmall"), (200, b"fsmall")]
    assert inner.calls == 6 and len(cache) == 1
