"""Serving behaviour: no data yet, the response cache and its invalidation, pages, docs, lineage, serve."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import duckdb
import httpx
from fastapi.testclient import TestClient
from pipeline_dataset import make_app

from api.cache import ResponseCache

DATA_ROUTES = [
    "/symbols",
    "/liquidations/levels",
    "/liquidations/history",
    "/liquidations/heatmap",
    "/liquidations/clusters",
    "/volume-profile",
    "/model-scores",
]


def test_before_any_build_data_routes_answer_503_saying_to_build(tmp_path):
    missing = tmp_path / "nothing.duckdb"
    with TestClient(make_app(missing)) as client:
        health = client.get("/health")
        answers = {path: client.get(path) for path in DATA_ROUTES}
    assert health.status_code == 200
    assert health.json()["status"] == "no_data"
    for path, response in answers.items():
        assert response.status_code == 503, path
        assert response.json()["detail"] == (
            f"no warehouse at {missing}: no data has been built yet; "
            "run `liquidationheatmap build` (or `liquidationheatmap demo`)"
        )
        assert response.headers["retry-after"] == "30"


def test_margin_calculator_works_without_a_warehouse(tmp_path):
    with TestClient(make_app(tmp_path / "nothing.duckdb")) as client:
        body = client.post(
            "/api/margin/calculate",
            json={
                "symbol": "BTCUSDT",
                "side": "long",
                "entry_price": 50_000,
                "quantity": 0.02,
                "leverage": 2,
            },
        ).json()
    assert round(body["liquidation_price"], 2) == 25_100.40


def test_a_warehouse_that_is_not_duckdb_answers_503_naming_the_file(tmp_path):
    broken = tmp_path / "broken.duckdb"
    broken.write_text("not a database")
    with TestClient(make_app(broken)) as client:
        response = client.get("/symbols")
    assert response.status_code == 503
    assert response.json()["detail"].startswith(f"cannot open the warehouse {broken}")


def test_cached_answers_are_replaced_when_the_warehouse_file_is_swapped(dataset, tmp_path):
    copy = dataset.copy_to(tmp_path / "swap")
    app = make_app(copy.warehouse, cache_ttl_seconds=3600)
    with TestClient(app) as client:
        first = client.get("/symbols").json()
        hits_before = app.state.cache.hits
        again = client.get("/symbols").json()
        assert app.state.cache.hits == hits_before + 1 and again == first
        # A new build lands as a new file moved over the old one (as build_warehouse does).
        staged = copy.warehouse.with_name("staged.duckdb")
        shutil.copy2(copy.warehouse, staged)
        connection = duckdb.connect(str(staged))
        connection.execute("insert into dim_symbols (symbol, price_bin_size) values ('ETHUSDT', 5.0)")
        connection.close()
        os.replace(staged, copy.warehouse)
        after = client.get("/symbols").json()
    assert [s["symbol"] for s in first["symbols"]] == ["BTCUSDT"]
    assert [(s["symbol"], s["price_bin_size"]) for s in after["symbols"]] == [
        ("BTCUSDT", 100.0),
        ("ETHUSDT", 5.0),
    ]


def test_response_cache_evicts_least_recently_used_beyond_its_bounds():
    cache = ResponseCache(max_entries=2, max_bytes=10, ttl_seconds=60)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # a is now the most recent
    cache.put("c", b"1234")  # 3 entries > 2: b (least recent) goes
    assert cache.get("b") is None and cache.get("a") == b"1234" and cache.get("c") == b"1234"
    cache.put("d", b"12345678")  # 4 + 4 + 8 bytes > 10: evicts until it fits
    assert len(cache) == 1 and cache.size_bytes == 8
    cache.put("huge", b"x" * 11)  # larger than the whole cache: not stored
    assert cache.get("huge") is None and cache.get("d") == b"12345678"


def test_response_cache_entries_expire_after_the_ttl():
    cache = ResponseCache(max_entries=10, max_bytes=1000, ttl_seconds=0.05)
    cache.put("k", b"v")
    assert cache.get("k") == b"v"
    time.sleep(0.08)
    assert cache.get("k") is None and len(cache) == 0


def test_pages_are_served_and_load_plotly_from_the_wheel_not_a_cdn(client):
    for path in ["/", "/map", "/heatmap", "/history", "/compare"]:
        response = client.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        sources = re.findall(r'src="([^"]+)"', response.text)
        assert all(source.startswith("/") for source in sources), (path, sources)
    plotly_js = client.get("/vendor/plotly.min.js")
    assert plotly_js.status_code == 200 and len(plotly_js.content) > 1_000_000
    assert plotly_js.text.lstrip().startswith("/**\n* plotly.js v")
    assert client.get("/static/common.js").status_code == 200


def test_every_page_is_a_whole_document_with_the_shared_navigation(client):
    for path, page in {
        "/": "index",
        "/map": "map",
        "/heatmap": "heatmap",
        "/history": "history",
        "/compare": "compare",
    }.items():
        text = client.get(path).text
        assert text.startswith("<!doctype html>") and text.rstrip().endswith("</html>"), path
        assert f'<body data-page="{page}">' in text and "$" not in text.split("<main>")[0], path
        assert re.search(r"<title>[^<$]+ · LiquidationHeatmap</title>", text), path
        links = re.findall(r'<a data-page="(\w+)" href="([^"]+)">', text)
        assert [name for name, _ in links] == ["map", "heatmap", "history", "compare", "docs", "lineage"]
        assert text.count("<main>") == 1 and text.count("<header") == 1, path


def test_openapi_page_loads_swagger_ui_from_the_server_itself(client):
    page = client.get("/docs").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "/docs-assets/swagger-ui-bundle.js" in assets and "/docs-assets/swagger-ui.css" in assets
    assert not [a for a in assets if a.startswith("http")]
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/openapi.json").json()["paths"]["/liquidations/heatmap"]["get"][
        "responses"
    ].keys() >= {
        "200",
        "404",
        "422",
        "503",
    }


def test_lineage_says_how_to_generate_it_until_it_exists(dataset, tmp_path):
    page = tmp_path / "static_index.html"
    with TestClient(make_app(dataset.warehouse, lineage_pages=(page,))) as client:
        missing = client.get("/lineage/")
        page.write_text("<html><body>dbt lineage</body></html>")
        present = client.get("/lineage/")
        redirect = client.get("/lineage", follow_redirects=False)
    assert missing.status_code == 404 and "liquidationheatmap docs" in missing.text
    assert present.status_code == 200 and present.text == "<html><body>dbt lineage</body></html>"
    assert redirect.status_code == 308 and redirect.headers["location"] == "/lineage/"


def test_serve_command_prints_its_url_and_answers_there(dataset):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "liquidationheatmap",
            "serve",
            "--port",
            "0",
            "--warehouse",
            str(dataset.warehouse),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        line = ""
        deadline = time.monotonic() + 60
        while "serving" not in line and time.monotonic() < deadline:
            line = process.stdout.readline()
        url = re.search(r"serving (http://127\.0\.0\.1:\d+)", line).group(1)
        body = None
        for _ in range(100):  # the socket is bound before the URL is printed; uvicorn starts just after
            try:
                body = httpx.get(f"{url}/health", timeout=5).json()
                break
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert body["status"] == "ok" and body["warehouse"] == str(dataset.warehouse)
