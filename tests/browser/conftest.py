"""Fixtures for the browser tests: the pipeline-built warehouse (shared with tests/api), the API on
127.0.0.1, and Debian's headless Chromium driven by Playwright (found by `needs_program`, tests/conftest.py:
without it these tests are skipped, or fail under CI=true)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "api"))

from pipeline_dataset import Dataset, shared_dataset

from api.core.config import api_config
from api.main import create_app
from api.server import BackgroundServer
from liquidationheatmap.settings import PROJECT_ROOT

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return shared_dataset(tmp_path_factory)


@pytest.fixture(scope="session")
def server(dataset: Dataset) -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(api_config(warehouse=dataset.warehouse, lineage_pages=()))) as running:
        yield running


@pytest.fixture(scope="session")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    missing = tmp_path_factory.mktemp("no-build") / "liquidations.duckdb"
    with BackgroundServer(create_app(api_config(warehouse=missing, lineage_pages=()))) as running:
        yield running


@pytest.fixture(scope="module")
def browser(needs_program):
    # Per module, not per session: Playwright's sync API keeps an event loop running on this thread
    # while it is open, and later tests that call asyncio.run() (tests/live) would fail.
    executable = needs_program("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
