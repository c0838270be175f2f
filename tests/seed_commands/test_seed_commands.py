"""The commands and URLs the seed's README taught its users still work, each as a thin entry point
over today's code: `uvicorn api.main:app`, the old page names, the three scripts, raw history rows."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "api"))

from pipeline_dataset import START, SYMBOL, Dataset, shared_dataset

from liquidationheatmap.settings import PROJECT_ROOT

SCRIPTS = PROJECT_ROOT / "scripts"
LEGACY_PAGES = {
    "/heatmap.html": ("/heatmap", "<h1>Liquidation heatmap</h1>"),
    "/coinglass_heatmap.html": ("/heatmap", '<select id="side"'),
    "/liquidation_map.html": ("/map", "<h1>Liquidation map</h1>"),
    "/historical_liquidations.html": ("/history", "<h1>Historical liquidations"),
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return shared_dataset(tmp_path_factory)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(**values: Path | str) -> dict[str, str]:
    env = dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    env.update({key: str(value) for key, value in values.items()})
    return env


def _run_script(name: str, *args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [[], ["--workers", "2"], ["--reload", "--reload-dir", "api"]],
    ids=["plain", "workers", "reload"],
)
def test_uvicorn_serves_api_main_app_from_the_settings(dataset, options):
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *options,
        ],
        cwd=PROJECT_ROOT,
        env=_env(DUCKDB_PATH=dataset.warehouse, CACHE_TTL_SECONDS="0"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"uvicorn exited: {process.stderr.read()[-2000:]}"
            try:
                health = httpx.get(f"{base}/health", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "uvicorn did not answer within 60 s"
                time.sleep(0.2)
        assert health.status_code == 200
        symbols = httpx.get(f"{base}/symbols", timeout=30)
        assert symbols.status_code == 200 and SYMBOL in symbols.text  # the warehouse DUCKDB_PATH names
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_the_seeds_page_urls_lead_to_todays_pages_and_keep_the_query(dataset):
    from fastapi.testclient import TestClient
    from pipeline_dataset import make_app

    with TestClient(make_app(dataset.warehouse, lineage_pages=())) as client:
        for old, (new, marker) in LEGACY_PAGES.items():
            moved = client.get(f"{old}?symbol=ETHUSDT", follow_redirects=False)
            assert (moved.status_code, moved.headers["location"]) == (308, f"{new}?symbol=ETHUSDT"), old
            page = client.get(old)
            assert page.status_code == 200 and marker in page.text, old


@pytest.mark.slow
def test_history_without_aggregate_returns_raw_five_minute_records(dataset):
    from fastapi.testclient import TestClient
    from pipeline_dataset import make_app

    with TestClient(make_app(dataset.warehouse, lineage_pages=())) as client:
        # The seed README's URL as written: a month the test market does not cover, so no rows.
        seed = client.get("/liquidations/history?symbol=BTCUSDT&start=2024-10-01&end=2024-10-31")
        day = START.isoformat()
        raw = client.get(f"/liquidations/history?symbol=BTCUSDT&start={day}&end={day}").json()
        hourly = client.get(
            f"/liquidations/history?symbol=BTCUSDT&start={day}&end={day}&aggregate=true"
        ).json()
    assert seed.status_code == 200
    assert (seed.json()["aggregate"], seed.json()["rows"]) == (False, [])
    assert raw["aggregate"] is False and raw["interval"] is None
    minutes = {row["bucket_start"][14:16] for row in raw["rows"]}
    assert len(minutes) > 1 and minutes <= {f"{m:02d}" for m in range(0, 60, 5)}
    assert all(row["bucket_start"].startswith(day) for row in raw["rows"])
    assert len(raw["rows"]) > len(hourly["rows"])
    assert sum(r["liquidated_notional"] for r in raw["rows"]) == pytest.approx(
        sum(r["liquidated_notional"] for r in hourly["rows"]), rel=1e-9
    )


@pytest.mark.slow
def test_the_seeds_scripts_check_ingest_and_build_then_validate(dataset, tmp_path):
    warehouse, lake = tmp_path / "wh" / "liquidations.duckdb", tmp_path / "lake"
    env = _env(BINANCE_DATA_PATH=dataset.raw, LAKE_PATH=lake)
    data = str(dataset.raw / "data")

    check = _run_script(
        "check_ingestion_ready.py", "--db", str(warehouse), "--data-dir", data, cwd=tmp_path, env=env
    )
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    assert "ready for ingest:" in check.stdout and not lake.exists()

    day = START.isoformat()
    ingest = _run_script(
        "ingest_aggtrades.py", "--symbol", SYMBOL, "--start-date", day, "--end-date", day,
        "--data-dir", data, "--db", str(warehouse), cwd=tmp_path, env=env,
    )  # fmt: skip
    assert ingest.returncode == 0, ingest.stdout[-3000:] + ingest.stderr[-3000:]
    assert "build done" in ingest.stdout
    with duckdb.connect(str(warehouse), read_only=True) as con:
        days = con.execute("select distinct bucket_start::date from fct_liquidation_history").fetchall()
    assert [d.isoformat() for (d,) in days] == [day]

    validate = _run_script("validate_aggtrades.py", "--db", str(warehouse), cwd=tmp_path, env=env)
    assert validate.returncode == 0, validate.stdout[-2000:] + validate.stderr[-2000:]
    assert "aggTrades" in validate.stdout and "tests:" in validate.stdout
