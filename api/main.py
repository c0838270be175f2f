"""The FastAPI application: marts read-only, the pages, the OpenAPI page (assets served locally).

    uv run liquidationheatmap serve              # the CLI
    uv run uvicorn api.main:app [--reload] [--workers 4]
    uv run uvicorn --factory api.main:create_app

`app` is the application built from the settings (DUCKDB_PATH, CACHE_TTL_SECONDS, ...), made on
first access rather than at import, so importing this module reads no settings.
"""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from api.cache import CacheableRoutes, FastPathCache, ResponseCache
from api.core.config import ApiConfig, api_config
from api.errors import install_error_handlers
from api.routes import health, liquidations, margin, market, pages, scores, stream, symbols
from api.warehouse import file_identity

# Routes whose answer is a pure function of the request and the warehouse file (the margin routes
# also read the bracket seed, which is loaded once per process): the fast path answers repeats of
# these from the response cache before routing. /health, the pages and static files are not on it.
FAST_PATH_ROUTES = CacheableRoutes(
    exact=frozenset(
        {
            ("GET", "/symbols"),
            ("GET", "/liquidations/levels"),
            ("GET", "/liquidations/history"),
            ("GET", "/liquidations/heatmap"),
            ("GET", "/liquidations/clusters"),
            ("GET", "/volume-profile"),
            ("GET", "/model-scores"),
            ("POST", "/api/margin/calculate"),
        }
    ),
    prefixes=(("GET", "/api/margin/tiers/"),),
)

DESCRIPTION = """\
Estimated liquidation levels of Binance USD-M futures, from the dbt marts in the DuckDB warehouse.

Every route reads the warehouse read-only, one connection per request, so `liquidationheatmap build`
can replace it at any time; answers are cached until the warehouse file changes. Errors are JSON
`{"detail": ...}`: 404 unknown symbol, 422 bad parameter, 503 nothing built yet (run
`liquidationheatmap build`). Live mode (`liquidationheatmap live`): `GET /stream?symbol=` relays
liquidations, per-second prices and "marts updated" as Server-Sent Events.
Pages: `/` (index), `/map`, `/heatmap`, `/history`, `/compare`;
the dbt lineage site at `/lineage/`.
"""


def create_app(config: ApiConfig | None = None) -> FastAPI:
    config = config or api_config()
    app = FastAPIOffline(
        title="LiquidationHeatmap API",
        version="0.1.0",
        description=DESCRIPTION,
        static_url="/docs-assets",
    )
    app.state.config = config
    app.state.cache = ResponseCache(
        config.cache_max_entries, config.cache_max_bytes, config.cache_ttl_seconds
    )
    install_error_handlers(app)
    for router in (
        health.router,
        symbols.router,
        liquidations.router,
        market.router,
        scores.router,
        margin.router,
        stream.router,
        pages.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=config.frontend_dir), name="static")
    app.add_middleware(
        FastPathCache,
        cache=app.state.cache,
        identity=partial(file_identity, config.warehouse),
        routes=FAST_PATH_ROUTES,
    )
    return app


_app: FastAPI | None = None


def __getattr__(name: str) -> FastAPI:
    # `api.main:app` for uvicorn and the seed's users: the app `serve` runs, from the settings.
    global _app
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _app is None:
        _app = create_app()
    return _app
