"""Typed dependencies: the app's configuration, its response cache, and a per-request warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from api.cache import ResponseCache
from api.core.config import ApiConfig
from api.warehouse import WarehouseSession


def get_config(request: Request) -> ApiConfig:
    return request.app.state.config


def get_cache(request: Request) -> ResponseCache:
    return request.app.state.cache


ConfigDep = Annotated[ApiConfig, Depends(get_config)]
CacheDep = Annotated[ResponseCache, Depends(get_cache)]


def get_warehouse(config: ConfigDep, cache: CacheDep) -> Iterator[WarehouseSession]:
    """A read-only view of the warehouse for one request; its connection is closed afterwards."""
    session = WarehouseSession(config.warehouse, cache, threads=config.duckdb_threads)
    try:
        yield session
    finally:
        session.close()


WarehouseDep = Annotated[WarehouseSession, Depends(get_warehouse)]
