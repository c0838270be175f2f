"""Rows and summaries the recorder derives from events, keyed on exchange time.

- `SecondSummary`: per symbol and exchange second, open/high/low/close/volume of the trades (Redis).
- `MarkKlines`: 1-minute mark-price klines from the `@markPrice@1s` stream, in Binance's
  markPriceKlines column layout (the volume columns are 0, as in Binance's markPriceKlines files;
  `count` is the number of 1 s updates in the minute).
- `OpenInterestRows`: 5-minute metrics rows from `/fapi/v1/openInterest` polls. A row labels the
  start of its period (Binance's label since 2026-06-25) and holds the first open interest polled at
  or after the period's end; it is written only for a period the recorder was polling through, and
  its ratio columns are empty (live data has none).
- `FundingRows`: a settlement each time `nextFundingTime` moves on: the settlement at the old
  `nextFundingTime` with the `lastFundingRate` seen after it.
"""

from __future__ import annotations

from dataclasses import dataclass

MINUTE_MS = 60_000
BUCKET_MS = 300_000


@dataclass
class _Bar:
    second: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    trades: int


class SecondSummary:
    """Per-symbol running bar of the current exchange second; `add` returns the bars it closes."""

    def __init__(self) -> None:
        self._bars: dict[str, _Bar] = {}

    def add(self, symbol: str, time_ms: int, price: float, quantity: float) -> dict | None:
        second = time_ms // 1000
        bar = self._bars.get(symbol)
        if bar is not None and second < bar.second:
            return None  # a late trade of a second already published: the line does not go back
        closed = None
        if bar is None or second > bar.second:
            closed = self._close(symbol)
            self._bars[symbol] = _Bar(second, price, price, price, price, quantity, 1)
            return closed
        bar.high = max(bar.high, price)
        bar.low = min(bar.low, price)
        bar.close = price
        bar.volume += quantity
        bar.trades += 1
        return None

    def _close(self, symbol: str) -> dict | None:
        bar = self._bars.pop(symbol, None)
        if bar is None:
            return None
        return {
            "symbol": symbol, "time": bar.second * 1000, "open": bar.open, "high": bar.high,
            "low": bar.low, "close": bar.close, "volume": bar.volume, "trades": bar.trades,
        }  # fmt: skip

    def flush(self) -> list[dict]:
        return [s for s in (self._close(symbol) for symbol in list(self._bars)) if s]


class MarkKlines:
    """Open 1-minute bars per symbol; `add` returns the rows of the minutes it closes."""

    def __init__(self) -> None:
        self._open: dict[str, dict] = {}

    def add(self, symbol: str, time_ms: int, price: float) -> list[dict]:
        minute = time_ms // MINUTE_MS * MINUTE_MS
        bar = self._open.get(symbol)
        if bar is not None and minute < bar["open_time"]:
            return []
        if bar is None or minute > bar["open_time"]:
            closed = [self._row(bar)] if bar else []
            self._open[symbol] = {"symbol": symbol, "open_time": minute, "o": price, "h": price, "l": price,
                                  "c": price, "n": 1}  # fmt: skip
            return closed
        bar["h"], bar["l"], bar["c"] = max(bar["h"], price), min(bar["l"], price), price
        bar["n"] += 1
        return []

    @staticmethod
    def _row(bar: dict) -> dict:
        return {
            "symbol": bar["symbol"], "open_time": bar["open_time"], "open": bar["o"], "high": bar["h"],
            "low": bar["l"], "close": bar["c"], "volume": 0.0, "close_time": bar["open_time"] + MINUTE_MS - 1,
            "quote_volume": 0.0, "count": bar["n"], "taker_buy_volume": 0.0, "taker_buy_quote_volume": 0.0,
            "ignore": 0.0,
        }  # fmt: skip

    def flush(self) -> list[dict]:
        """Close every open minute (shutdown: a partial last minute is still a true high/low so far)."""
        rows = [self._row(bar) for bar in self._open.values()]
        self._open.clear()
        return rows


class OpenInterestRows:
    """5-minute metrics rows from open-interest polls (exchange `time`).

    Periods the polls missed (a slow or rate-limited poll, a REST outage) are listed by `missing`,
    to be filled from `/futures/data/openInterestHist`; `first_period` is the first period the
    recorder was polling in, so it never claims periods from before it started.
    """

    def __init__(self) -> None:
        self._last_poll: dict[str, int] = {}
        self.first_period: dict[str, int] = {}
        self.emitted: dict[str, set[int]] = {}
        self.checked_until: dict[str, int] = {}  # every period before this one is emitted or given up

    def add(self, symbol: str, time_ms: int, open_interest: float, mark_price: float) -> dict | None:
        previous = self._last_poll.get(symbol)
        if previous is not None and time_ms <= previous:
            return None
        self._last_poll[symbol] = time_ms
        if previous is None:
            self.first_period[symbol] = time_ms // BUCKET_MS * BUCKET_MS
            self.checked_until[symbol] = self.first_period[symbol]
            return None
        boundary = time_ms // BUCKET_MS * BUCKET_MS
        if previous >= boundary:
            return None  # still the same period
        if previous < boundary - BUCKET_MS:
            return None  # not polled during the period that just ended: `missing` lists it
        return self.row(symbol, boundary - BUCKET_MS, open_interest, open_interest * mark_price)

    def row(self, symbol: str, start: int, open_interest: float, value: float) -> dict | None:
        emitted = self.emitted.setdefault(symbol, set())
        if start in emitted or start < self.checked_until.get(symbol, start):
            return None
        emitted.add(start)
        return {
            "create_time": start,  # the period's start (Binance's label since 2026-06-25)
            "symbol": symbol,
            "sum_open_interest": open_interest,
            "sum_open_interest_value": value,
        }

    def missing(self, symbol: str) -> list[int]:
        """Starts of ended periods since the first poll that have no row yet."""
        last = self._last_poll.get(symbol)
        if last is None:
            return []
        ended = last // BUCKET_MS * BUCKET_MS  # periods starting before this have ended
        emitted = self.emitted.get(symbol, set())
        start = self.checked_until[symbol]
        return [p for p in range(start, ended, BUCKET_MS) if p not in emitted]

    def settle(self, symbol: str) -> None:
        """After a backfill attempt: periods before the last ended one are done (row or gap)."""
        last = self._last_poll.get(symbol)
        if last is not None:
            self.checked_until[symbol] = last // BUCKET_MS * BUCKET_MS
            self.emitted[symbol] = {
                p for p in self.emitted.get(symbol, set()) if p >= self.checked_until[symbol]
            }


class FundingRows:
    """Funding settlements from premiumIndex polls."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def add(self, symbol: str, next_funding_time: int, last_funding_rate: float) -> dict | None:
        previous = self._next.get(symbol)
        self._next[symbol] = next_funding_time
        if previous is None or next_funding_time <= previous:
            return None
        hours = max(1, round((next_funding_time - previous) / 3_600_000))
        return {"symbol": symbol, "calc_time": previous, "funding_interval_hours": hours,
                "last_funding_rate": last_funding_rate}  # fmt: skip
