"""Query parameters shared by the routes: validated here (422 with a message), not in handlers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal, NamedTuple

from fastapi import Query
from pydantic import AfterValidator

from api.core.config import MODELS, TIMEFRAMES

ModelName = Literal["binance_standard", "funding_adjusted", "large_trades", "learned_leverage", "ensemble"]
Timeframe = Literal["1h", "4h", "12h", "1d", "7d", "30d", "24h", "3d", "90d", "180d", "1y"]
Side = Literal["long", "short"]
HeatmapSide = Literal["both", "long", "short"]
Interval = Literal["5m", "15m", "1h", "4h", "1d"]
INTERVAL_MINUTES: dict[str, int] = {"5m": 5, "15m": 15, "1h": 60, "4h": 240, "1d": 1440}

assert set(MODELS) == set(ModelName.__args__) and set(TIMEFRAMES) == set(Timeframe.__args__)

SYMBOL_PATTERN = r"^[A-Za-z0-9]{2,30}$"
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def normalise_symbol(value: str | None) -> str | None:
    return value.upper() if value is not None else None


SymbolQuery = Annotated[
    str | None,
    Query(
        pattern=SYMBOL_PATTERN,
        description="Binance USD-M symbol, e.g. BTCUSDT (default: the DEFAULT_SYMBOL setting)",
    ),
    AfterValidator(normalise_symbol),
]
ModelQuery = Annotated[
    ModelName | None,
    Query(description="Liquidation model (default: the DEFAULT_MODEL setting, binance_standard)"),
]


class TimeBound(NamedTuple):
    """A parsed start/end: naive UTC, and whether the input named a whole day."""

    at: datetime
    date_only: bool


def parse_time_bound(value: str | None) -> TimeBound | None:
    """ISO date (2026-10-01) or datetime (2026-10-01T06:00, offsets converted to UTC)."""
    if value is None:
        return None
    text = value.strip()
    if _DATE_ONLY.match(text):
        try:
            return TimeBound(datetime.combine(date.fromisoformat(text), time()), True)
        except ValueError as error:
            raise ValueError(f"not a valid date: {value!r} ({error})") from None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise ValueError(
            f"not an ISO date or datetime: {value!r} (use 2026-10-01 or 2026-10-01T06:00:00Z)"
        ) from None
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValueError(f"datetime out of range once converted to UTC: {value!r}") from None
    return TimeBound(parsed, False)


TimeQuery = Annotated[
    str | None,
    Query(
        max_length=40,
        description="ISO date (2026-10-01: the whole day) or datetime (2026-10-01T06:00:00Z), UTC",
    ),
    AfterValidator(parse_time_bound),
]


def end_exclusive(bound: TimeBound) -> datetime:
    """The exclusive upper limit: the day after a date-only end (so the day is included)."""
    if not bound.date_only:
        return bound.at
    try:
        return bound.at + timedelta(days=1)
    except OverflowError:
        return datetime.max
