"""Fixtures for the API tests: the pipeline-built warehouse, an app on it, a client, a live server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pipeline_dataset import Dataset, make_app, shared_dataset

from api.server import BackgroundServer


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return shared_dataset(tmp_path_factory)


@pytest.fixture(scope="session")
def app(dataset: Dataset) -> FastAPI:
    return make_app(dataset.warehouse, lineage_pages=())


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def server(app: FastAPI) -> Iterator[BackgroundServer]:
    with BackgroundServer(app) as running:
        yield running
