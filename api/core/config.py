"""API configuration: the project's one Settings (liquidationheatmap.settings) plus what only the API needs.

There is no second Settings class: the warehouse path, cache TTL, defaults and host/port come from
`get_settings()` (environment variables / .env). `ApiConfig` is the frozen view the app is built with,
so a test or `serve --warehouse PATH` can point one app at another warehouse without touching the
process environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from liquidationheatmap.dbt_runner import TARGET_DIR
from liquidationheatmap.settings import PROJECT_ROOT, Settings, get_settings

MODELS: tuple[str, ...] = (
    "binance_standard",
    "funding_adjusted",
    "large_trades",
    "learned_leverage",
    "ensemble",
)
TIMEFRAMES: tuple[str, ...] = ("1h", "4h", "12h", "1d", "7d", "30d", "24h", "3d", "90d", "180d", "1y")
FRONTEND_DIR = PROJECT_ROOT / "frontend"
# `liquidationheatmap docs` writes dbt's page here and copies it to data/processed/lineage.html.
LINEAGE_CANDIDATES: tuple[Path, ...] = (TARGET_DIR / "static_index.html", Path("data/processed/lineage.html"))
# Response cache bounds: entries and total bytes (a 30-day heatmap is the largest answer, about 1-2 MB).
CACHE_MAX_ENTRIES = 512
CACHE_MAX_BYTES = 128 * 1024 * 1024


@dataclass(frozen=True)
class ApiConfig:
    warehouse: Path
    cache_ttl_seconds: float
    default_symbol: str
    default_model: str
    lineage_pages: tuple[Path, ...] = LINEAGE_CANDIDATES
    frontend_dir: Path = FRONTEND_DIR
    cache_max_entries: int = CACHE_MAX_ENTRIES
    cache_max_bytes: int = CACHE_MAX_BYTES
    duckdb_threads: int = 2
    redis_url: str | None = None  # live mode: GET /stream relays its channels (none: 204)
    recorder_state: Path | None = None  # live mode: the recorder's state file, read by /health


def api_config(
    settings: Settings | None = None,
    *,
    warehouse: Path | None = None,
    cache_ttl_seconds: float | None = None,
    lineage_pages: tuple[Path, ...] | None = None,
    redis_url: str | None = None,
    recorder_state: Path | None = None,
) -> ApiConfig:
    """The API's configuration from the project settings, with optional overrides."""
    settings = settings or get_settings()
    default_model = settings.default_model if settings.default_model in MODELS else MODELS[0]
    return ApiConfig(
        warehouse=Path(warehouse or settings.duckdb_path).resolve(),
        cache_ttl_seconds=float(
            settings.cache_ttl_seconds if cache_ttl_seconds is None else cache_ttl_seconds
        ),
        default_symbol=settings.default_symbol,
        default_model=default_model,
        lineage_pages=lineage_pages if lineage_pages is not None else LINEAGE_CANDIDATES,
        redis_url=redis_url or settings.redis_url,
        recorder_state=Path(recorder_state or settings.live_state_path).resolve(),
    )
