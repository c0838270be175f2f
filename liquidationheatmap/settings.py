"""Settings from environment variables and an optional `.env` file (see `.env.example`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """One place for every setting; each field maps to the upper-case environment variable."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    duckdb_path: Path = Path("data/processed/liquidations.duckdb")
    binance_data_path: Path = Path("data/raw")
    lake_path: Path = Path("data/lake")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    default_model: str = "binance_standard"
    default_symbol: str = "BTCUSDT"
    cache_ttl_seconds: int = 60
    log_level: str = "INFO"
    log_file: Path = Path("logs/liquidationheatmap.log")
    # Live mode (docs/live.md): Redis for pub/sub (none: record only), the recorder's state file that
    # /health reads, and how often recorded files are published into the lake.
    redis_url: str | None = None
    live_state_path: Path = Path("data/live/recorder.json")
    live_roll_minutes: float = 5.0


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
