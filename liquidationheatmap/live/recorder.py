"""`liquidationheatmap record`: one combined websocket connection + REST polling -> lake + Redis.

The loop never blocks on disk or Redis: rows are buffered and published every `roll_seconds` from a
worker thread (sink.py), Redis messages go through publisher.py's queue. A disconnect (error, close,
ping timeout) is followed by a reconnect with exponential backoff on the same combined URL (which
resubscribes every stream); its time span is a recorded gap of the markPrice and forceOrder streams,
and aggTrades ids missing across it are fetched over REST `/fapi/v1/aggTrades` at the next roll when
there are at most `backfill_limit` of them (else they are a recorded gap with their id range).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from liquidationheatmap.live.aggregate import FundingRows, MarkKlines, OpenInterestRows, SecondSummary
from liquidationheatmap.live.publisher import MARTS_CHANNEL, Publisher, liquidation_channel, price_channel
from liquidationheatmap.live.rest import RestClient, RestUnavailable
from liquidationheatmap.live.sink import LakeSink
from liquidationheatmap.live.streams import (
    FORCE_ORDER_STREAM,
    AggTrade,
    BadFrame,
    ForceOrder,
    MarkPrice,
    combined_url,
    parse_frame,
    rest_agg_trade,
)

log = logging.getLogger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per poll would drown the log
RECONNECT_START = 0.5
RECONNECT_MAX = 30.0
FINAL_BACKFILL_SECONDS = 10.0
REST_PAGE = 1000
_RECENT_LIQUIDATIONS = 10_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class RecorderConfig:
    symbols: list[str]
    base_url: str
    rest_url: str
    lake: Path
    truth: Path
    state_path: Path
    redis_url: str | None = None
    roll_seconds: float = 300.0
    oi_interval: float = 30.0
    backfill_limit: int = 10_000
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    max_seconds: float | None = None  # stop by itself after this long (tests, benchmarks)


@dataclass
class StreamState:
    connected: bool = False
    last_message_ms: int | None = None
    messages: int = 0
    gaps_today: int = 0
    gap_day: str = ""

    def gap(self, day: str) -> None:
        if day != self.gap_day:
            self.gap_day, self.gaps_today = day, 0
        self.gaps_today += 1


class TradeIds:
    """aggTrade ids of one symbol: duplicates out, holes found (ids are consecutive per symbol)."""

    def __init__(self) -> None:
        self.frontier: int | None = None  # every id below it is recorded or declared a gap
        self.times: dict[int, int] = {}  # ids at or above the frontier -> transact time

    def add(self, trade: AggTrade) -> bool:
        ident = trade.agg_trade_id
        if self.frontier is None:
            self.frontier = ident
        if ident < self.frontier or ident in self.times:
            return False
        self.times[ident] = trade.transact_time
        return True

    def holes(self) -> list[tuple[int, int]]:
        if not self.times or self.frontier is None:
            return []
        if max(self.times) - self.frontier + 1 == len(self.times):
            return []  # consecutive from the frontier: nothing missing (the usual case, no sort)
        ranges, expected = [], self.frontier
        for ident in sorted(self.times):
            if ident > expected:
                ranges.append((expected, ident - 1))
            expected = ident + 1
        return ranges

    def neighbours(self, first: int, last: int) -> tuple[int, int]:
        before = self.times.get(first - 1, 0)
        after = self.times.get(last + 1, 0)
        return before, after

    def advance(self) -> None:
        if self.times:
            self.frontier = max(self.times) + 1
            self.times.clear()


@dataclass
class Counters:
    malformed: int = 0
    unknown_symbol: int = 0
    duplicates: int = 0
    backfilled: int = 0
    connections: int = 0
    rate_limited: int = 0
    rolls: int = 0
    rows: dict[str, int] = field(default_factory=dict)


class Recorder:
    def __init__(self, config: RecorderConfig) -> None:
        self.config = config
        self.symbols = [s.upper() for s in config.symbols]
        self.url = combined_url(config.base_url, self.symbols)
        self.sink = LakeSink(config.lake, config.truth, self.url)
        self.publisher = Publisher(config.redis_url)
        self.stop = asyncio.Event()
        self._rest_stop = asyncio.Event()  # set after the final roll's backfill, not at the signal
        self.rest = RestClient(config.rest_url, self._rest_stop)
        self.first_poll = asyncio.Event()
        self.ids = {s: TradeIds() for s in self.symbols}
        self.seconds = SecondSummary()
        self.klines = MarkKlines()
        self.oi_rows = OpenInterestRows()
        self.funding_rows = FundingRows()
        self.mark: dict[str, float] = {}
        self.recent_liquidations: deque[tuple] = deque(maxlen=_RECENT_LIQUIDATIONS)
        self.recent_set: set[tuple] = set()
        streams = [f"{s.lower()}@aggTrade" for s in self.symbols] + [
            f"{s.lower()}@markPrice@1s" for s in self.symbols
        ]
        self.streams = {name: StreamState() for name in [*streams, FORCE_ORDER_STREAM]}
        self.counters = Counters()
        self.disconnected_at: int | None = None
        self._roll_lock = asyncio.Lock()
        self.started_ms = now_ms()

    # --- running -------------------------------------------------------------------------------------
    async def run(self) -> Counters:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.stop.set)
        if not self.publisher.enabled:
            log.warning("no Redis URL (--redis-url or REDIS_URL): recording only, nothing is published")
        self.publisher.start()
        tasks = [
            asyncio.create_task(self._websocket(), name="websocket"),
            asyncio.create_task(self._poll_rest(), name="rest"),
            asyncio.create_task(self._roll_every(), name="roll"),
            asyncio.create_task(self._write_state_every(), name="state"),
        ]
        try:
            if self.config.max_seconds is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), self.config.max_seconds)
            else:
                await self.stop.wait()
        finally:
            self.stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:  # a bounded last backfill, then the last rows are published: nothing buffered is lost
                await asyncio.wait_for(self._backfill_all(), FINAL_BACKFILL_SECONDS)
            except TimeoutError:
                log.warning("final backfill cut short after %.0f s", FINAL_BACKFILL_SECONDS)
            self._rest_stop.set()
            await self.roll(backfill=False)
            self.sink.close()
            for state in self.streams.values():
                state.connected = False
            self._write_state()
            await self.publisher.close()
            await self.rest.close()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)
        return self.counters

    async def _websocket(self) -> None:
        # Poll REST once first, so the funding and open-interest state is known from the start.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.first_poll.wait(), 5.0)
        delay = RECONNECT_START
        while not self.stop.is_set():
            try:
                async with websockets.connect(
                    self.url,
                    ping_interval=self.config.ping_interval,
                    ping_timeout=self.config.ping_timeout,
                    open_timeout=10,
                    close_timeout=2,
                    max_size=1 << 22,
                    max_queue=4096,
                ) as ws:
                    self.counters.connections += 1
                    log.info("connected to %s", self.url)
                    self._connected(True)
                    got = False
                    async for frame in ws:
                        self.handle(frame, now_ms())
                        if not got:
                            got, delay = True, RECONNECT_START
                    log.warning("stream closed by the server (%s)", ws.close_code)
            except (ConnectionClosed, InvalidHandshake, InvalidURI, OSError, TimeoutError) as error:
                log.warning("stream lost: %s: %s; reconnecting in %.1f s", type(error).__name__, error, delay)
            self._connected(False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)
            delay = min(delay * 2, RECONNECT_MAX)

    def _connected(self, up: bool) -> None:
        received = now_ms()
        if not up:
            if self.disconnected_at is None:
                self.disconnected_at = received
        elif self.disconnected_at is not None:
            day = datetime.now(UTC).date().isoformat()
            for name, state in self.streams.items():
                if "@aggTrade" in name:
                    continue  # aggTrades gaps are found from the ids (and backfilled)
                symbol = name.split("@")[0].upper() if not name.startswith("!") else "ALL"
                stream = name.split("@", 1)[1] if not name.startswith("!") else name
                start = state.last_message_ms or self.disconnected_at
                self.sink.add_gap(symbol, stream, start, received, None, None, "disconnected", received)
                state.gap(day)
            self.disconnected_at = None
        for state in self.streams.values():
            state.connected = up

    # --- messages ------------------------------------------------------------------------------------
    def handle(self, frame: str | bytes, received: int) -> None:
        try:
            event = parse_frame(frame, received)
        except BadFrame as error:
            self.counters.malformed += 1
            if self.counters.malformed <= 5:
                log.warning("malformed frame skipped (%s): %.120r", error, frame)
            return
        if event is None:
            return
        symbol = event.symbol
        if symbol not in self.ids:
            self.counters.unknown_symbol += 1
            return
        if isinstance(event, AggTrade):
            self._state(f"{symbol.lower()}@aggTrade", received)
            self._trade(event)
        elif isinstance(event, MarkPrice):
            self._state(f"{symbol.lower()}@markPrice@1s", received)
            self.mark[symbol] = event.mark_price
            for row in self.klines.add(symbol, event.event_time, event.mark_price):
                self.sink.add_mark_kline(row, received)
        elif isinstance(event, ForceOrder):
            self._state(FORCE_ORDER_STREAM, received)
            key = event.truth_row()
            if key in self.recent_set:
                self.counters.duplicates += 1
                return
            if len(self.recent_liquidations) == self.recent_liquidations.maxlen:
                self.recent_set.discard(self.recent_liquidations[0])
            self.recent_liquidations.append(key)
            self.recent_set.add(key)
            self.sink.add_liquidation(event)
            self.publisher.publish(liquidation_channel(symbol), event.as_event())

    def _state(self, name: str, received: int) -> None:
        state = self.streams[name]
        state.last_message_ms = received
        state.messages += 1

    def _trade(self, trade: AggTrade) -> None:
        if not self.ids[trade.symbol].add(trade):
            self.counters.duplicates += 1
            return
        self.sink.add_trade(trade)
        closed = self.seconds.add(trade.symbol, trade.transact_time, trade.price, trade.quantity)
        if closed:
            closed["mark"] = self.mark.get(trade.symbol)
            self.publisher.publish(price_channel(trade.symbol), closed)

    # --- REST ----------------------------------------------------------------------------------------
    async def _poll_rest(self) -> None:
        while not self.stop.is_set():
            began = time.monotonic()
            for symbol in self.symbols:
                try:
                    await self._poll_symbol(symbol)
                except RestUnavailable as error:
                    log.warning("%s: %s", symbol, error)
            self.counters.rate_limited = self.rest.rate_limited
            self.first_poll.set()
            wait = max(0.0, self.config.oi_interval - (time.monotonic() - began))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), wait)

    async def _poll_symbol(self, symbol: str) -> None:
        for _ in range(3):  # premiumIndex and openInterest must describe the same 5-minute period
            premium, interest = await asyncio.gather(
                self.rest.get("/fapi/v1/premiumIndex", {"symbol": symbol}),
                self.rest.get("/fapi/v1/openInterest", {"symbol": symbol}),
            )
            if int(premium["time"]) // 300_000 == int(interest["time"]) // 300_000:
                break
        received = now_ms()
        next_funding, rate = int(premium["nextFundingTime"]), float(premium["lastFundingRate"])
        funding = self.funding_rows.add(symbol, next_funding, rate)
        if funding:
            self.sink.add_funding(funding, received)
        row = self.oi_rows.add(symbol, int(interest["time"]), float(interest["openInterest"]),
                               float(premium["markPrice"]))  # fmt: skip
        if row:
            self.sink.add_metrics(row, received)

    async def _backfill(self, symbol: str) -> None:
        ids = self.ids[symbol]
        holes = ids.holes()
        missing = sum(b - a + 1 for a, b in holes)
        if missing and missing <= self.config.backfill_limit:
            for first, last in holes:
                start = first
                try:
                    while start <= last:
                        rows = await self.rest.get(
                            "/fapi/v1/aggTrades",
                            {"symbol": symbol, "fromId": start, "limit": min(REST_PAGE, last - start + 1)},
                        )
                        if not rows:
                            break
                        received = now_ms()
                        for row in rows:
                            trade = rest_agg_trade(symbol, row, received)
                            if trade.agg_trade_id <= last and ids.add(trade):
                                self.sink.add_trade(trade)
                                self.counters.backfilled += 1
                        start = int(rows[-1]["a"]) + 1
                except RestUnavailable as error:
                    log.warning("%s: aggTrades backfill of ids %d..%d failed: %s", symbol, first, last, error)
            holes = ids.holes()
        received = now_ms()
        day = datetime.now(UTC).date().isoformat()
        for first, last in holes:
            before, after = ids.neighbours(first, last)
            reason = "gap too long to backfill" if missing > self.config.backfill_limit else "backfill failed"
            self.sink.add_gap(symbol, "aggTrade", before, after, first, last, reason, received)
            self.streams[f"{symbol.lower()}@aggTrade"].gap(day)
        ids.advance()

    async def _backfill_open_interest(self, symbol: str) -> None:
        missing = self.oi_rows.missing(symbol)
        if missing:
            try:
                rows = await self.rest.get(
                    "/futures/data/openInterestHist",
                    {"symbol": symbol, "period": "5m", "startTime": missing[0], "endTime": missing[-1],
                     "limit": 500},
                )  # fmt: skip
            except RestUnavailable as error:
                log.warning("%s: open interest backfill failed: %s", symbol, error)
                rows = []
            received = now_ms()
            for item in rows:
                start = int(item["timestamp"])
                if start in missing:
                    row = self.oi_rows.row(symbol, start, float(item["sumOpenInterest"]),
                                           float(item["sumOpenInterestValue"]))  # fmt: skip
                    if row:
                        self.sink.add_metrics(row, received)
                        self.counters.backfilled += 1
            still = self.oi_rows.missing(symbol)
            day = datetime.now(UTC).date().isoformat()
            for start in still:
                reason = "no open interest"
                self.sink.add_gap(
                    symbol, "openInterest", start, start + 300_000, None, None, reason, received
                )
                self.streams.get(f"{symbol.lower()}@markPrice@1s", StreamState()).gap(day)
        self.oi_rows.settle(symbol)

    # --- rolling -------------------------------------------------------------------------------------
    async def _backfill_all(self) -> None:
        for symbol in self.symbols:
            await self._backfill(symbol)
            await self._backfill_open_interest(symbol)

    async def roll(self, backfill: bool = True) -> None:
        async with self._roll_lock:
            if backfill:
                await self._backfill_all()
            detached = self.sink.detach()
            try:
                result = await asyncio.to_thread(self.sink.roll, detached)
            except Exception as error:  # disk full, lake busy: keep the rows for the next roll
                log.error("roll failed, rows kept for the next one: %s", error)
                self.sink.restore(detached)
                return
            self.counters.rolls += 1
            for dataset, count in result.rows.items():
                self.counters.rows[dataset] = self.counters.rows.get(dataset, 0) + count
            if result.files or result.truth_files:
                log.info(
                    "published %d lake files, %d truth files", len(result.files), len(result.truth_files)
                )

    async def _roll_every(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), self.config.roll_seconds)
            if not self.stop.is_set():
                await self.roll()

    # --- state for /health ---------------------------------------------------------------------------
    def state(self) -> dict:
        now = now_ms()
        return {
            "updated_at": now,
            "pid": os.getpid(),
            "url": self.url,
            "symbols": self.symbols,
            "redis": {
                "enabled": self.publisher.enabled,
                "connected": self.publisher.connected,
                "sent": self.publisher.sent,
                "dropped": self.publisher.dropped,
            },
            "streams": {
                name: {
                    "connected": s.connected,
                    "last_message_age_seconds": (
                        None if s.last_message_ms is None else (now - s.last_message_ms) / 1000
                    ),
                    "messages": s.messages,
                    "gaps_today": s.gaps_today,
                }
                for name, s in self.streams.items()
            },
            "counters": {k: v for k, v in vars(self.counters).items()},
        }

    def _write_state(self) -> None:
        path = self.config.state_path
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(self.state()))
        os.replace(temporary, path)

    async def _write_state_every(self) -> None:
        while not self.stop.is_set():
            try:
                self._write_state()
            except OSError as error:
                log.warning("recorder state %s: %s", self.config.state_path, error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), 1.0)


async def publish_marts_updated(publisher: Publisher, detail: dict) -> None:
    publisher.publish(MARTS_CHANNEL, {"event": "marts_updated", **detail})


def record(config: RecorderConfig) -> Counters:
    """Run the recorder until SIGINT/SIGTERM (or `max_seconds`); returns its counters."""
    return asyncio.run(Recorder(config).run())
