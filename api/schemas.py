"""Pydantic request and response models: the API's contract, as the OpenAPI page shows it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.params import HeatmapSide, Interval, ModelName, Side, Timeframe


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# The marts hold naive UTC timestamps; answers carry the offset (RFC 3339: 2026-10-02T23:55:00Z).
UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]

# ---- health, symbols ------------------------------------------------------------------------------


class SymbolFreshness(BaseModel):
    symbol: str
    latest_data_at: UtcDatetime | None = Field(
        description="Latest 5-minute bucket the marts were measured at"
    )


class RecorderStream(BaseModel):
    connected: bool
    last_message_age_seconds: float | None = Field(description="Seconds since the stream's last message")
    messages: int
    gaps_today: int = Field(description="Recorded coverage gaps today (UTC) on this stream")


class RecorderHealth(BaseModel):
    running: bool = Field(description="The recorder wrote its state within the last 10 s")
    state_age_seconds: float
    redis_connected: bool | None
    streams: dict[str, RecorderStream]


class Health(BaseModel):
    status: Literal["ok", "no_data"]
    detail: str
    warehouse: str
    built_at: UtcDatetime | None = Field(description="When the warehouse was last built (file time, UTC)")
    marts: dict[str, bool] = Field(description="Which marts exist in the warehouse")
    symbols: list[SymbolFreshness]
    recorder: RecorderHealth | None = Field(
        default=None, description="Live recorder state per stream (null when no recorder has run)"
    )


class SymbolInfo(BaseModel):
    symbol: str
    price_bin_size: float
    first_trade_date: date | None
    last_trade_date: date | None
    current_price: float | None
    measured_at: UtcDatetime | None
    models: list[str] = Field(description="Models with liquidation levels for this symbol")


class SymbolList(BaseModel):
    symbols: list[SymbolInfo]


# ---- liquidations ---------------------------------------------------------------------------------


class Level(BaseModel):
    side: Side
    leverage: int
    price_bin: float = Field(description="Lower edge of the price bin (USDT)")
    liquidation_price: float = Field(description="Notional-weighted mean liquidation price inside the bin")
    live_notional: float = Field(description="USDT still open at the measurement time")


class Levels(BaseModel):
    symbol: str
    model: ModelName
    measured_at: UtcDatetime | None
    current_price: float | None
    price_bin_size: float
    total_long_notional: float
    total_short_notional: float
    levels: list[Level] = Field(description="Longs below the current price, shorts above, by side then price")


class HistoryRow(BaseModel):
    bucket_start: UtcDatetime
    side: Side
    liquidated_notional: float
    liquidated_count: int


class History(BaseModel):
    symbol: str
    model: ModelName
    aggregate: bool
    interval: Interval | None = Field(description="Grouping interval when aggregate=true; raw rows are 5m")
    start: UtcDatetime | None
    end: UtcDatetime | None = Field(description="Exclusive end")
    total_long_notional: float
    total_short_notional: float
    rows: list[HistoryRow]


class Candles(BaseModel):
    time: list[UtcDatetime]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]


class TrueLiquidationRow(BaseModel):
    bucket_start: UtcDatetime = Field(description="Start of the timeframe's resolution bucket")
    side: Side = Field(description="The liquidated position's side")
    price_bin: float = Field(description="Lower edge of the price bin")
    price: float = Field(description="Notional-weighted mean fill price, USDT")
    notional: float = Field(description="Liquidated notional, USDT")
    count: int = Field(description="Forced orders")


class TrueLiquidations(BaseModel):
    symbol: str
    timeframe: Timeframe
    side: HeatmapSide
    resolution_minutes: int
    total_notional: float
    rows: list[TrueLiquidationRow] = Field(
        description="Recorded liquidations per bucket, price bin and side (empty without truth)"
    )


class Heatmap(BaseModel):
    symbol: str
    model: ModelName
    timeframe: Timeframe
    side: HeatmapSide
    resolution_minutes: int
    price_bin_size: float
    times: list[UtcDatetime] = Field(description="Start of each time bucket (columns of z)")
    prices: list[float] = Field(description="Lower edge of each price bin (rows of z)")
    z: list[list[float]] = Field(
        description="Live notional (USDT) per price bin (row) and time bucket (column)"
    )
    max_notional: float
    current_price: float | None
    candles: Candles = Field(description="Price candles on the same time buckets")


class Zone(BaseModel):
    side: Side
    zone_id: int
    centroid_price: float
    price_low: float
    price_high: float
    total_notional: float
    member_count: int


class Clusters(BaseModel):
    symbol: str
    model: ModelName
    current_price: float | None
    eps: float | None = Field(description="DBSCAN eps in log-price units as used (per side, first zone's)")
    min_samples: int | None
    zones: list[Zone]


class VolumeBin(BaseModel):
    price_bin: float
    total_volume: float
    buy_volume: float
    sell_volume: float


class VolumeProfile(BaseModel):
    symbol: str
    date: date
    price_bin_size: float
    total_volume: float
    bins: list[VolumeBin]


class ModelScore(BaseModel):
    symbol: str
    model: str
    kind: str = Field(description="model, or reference (uniform, proximity, oracle)")
    side: str
    window_id: int = Field(
        description="walk-forward evaluation window (1, 2, ...); 0 = every complete window's test span pooled"
    )
    period: str
    period_start: UtcDatetime | None = Field(default=None, description="start of the scored test span (UTC)")
    period_end: UtcDatetime | None = Field(
        default=None, description="end of the scored test span (exclusive)"
    )
    horizon_hours: int | None = Field(
        description="window of the placement metrics; null for calibration and hourly_correlation"
    )
    metric: str
    value: float | None = Field(description="null where the metric is undefined; n says why")
    low: float | None = Field(default=None, description="90 % day-block bootstrap interval (overlap, skill)")
    high: float | None = None
    n: float | None


class ModelScores(BaseModel):
    scores: list[ModelScore]


# ---- margin -------------------------------------------------------------------------------------


class MarginRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"symbol": "BTCUSDT", "side": "long", "entry_price": 50000, "quantity": 0.02, "leverage": 2}
            ]
        }
    )

    symbol: str = Field(pattern=r"^[A-Za-z0-9]{2,30}$", description="e.g. BTCUSDT")
    side: Side
    entry_price: float = Field(ge=1e-8, le=1e9, description="Entry price (USDT)")
    quantity: float = Field(ge=1e-8, le=1e9, description="Position size in the base asset")
    leverage: float = Field(
        ge=1, le=150, description="Initial leverage: isolated margin = notional / leverage"
    )
    extra_margin: float = Field(default=0.0, ge=0, le=1e12, description="Margin added to the position (USDT)")
    table_version: str | None = Field(
        default=None,
        max_length=40,
        description="Bracket table to use (see /api/margin/tiers/{symbol}); default the newest",
    )


class Bracket(BaseModel):
    bracket: int
    notional_floor: float
    notional_cap: float
    max_leverage: int
    maint_margin_ratio: float
    maint_amount: float


class MarginResult(BaseModel):
    symbol: str
    side: Side
    table_version: str
    uses_default_table: bool = Field(
        description="The symbol has no bracket table of its own (BTCUSDT's used)"
    )
    notional: float = Field(description="quantity x entry_price")
    wallet_balance: float = Field(description="Isolated margin: notional / leverage + extra_margin")
    liquidation_price: float | None = Field(description="null: the margin covers a move to zero")
    bracket: Bracket
    maint_margin_ratio: float
    maint_amount: float
    maintenance_margin: float = Field(description="At the liquidation price: Q x LP x MMR - cum")


class TierTable(BaseModel):
    table_version: str
    valid_from: date
    valid_to: date | None
    is_newest: bool
    brackets: list[Bracket]


class MarginTiers(BaseModel):
    symbol: str
    uses_default_table: bool
    tables: list[TierTable]
