"""A Binance-compatible USD-M server on 127.0.0.1 that replays a simulated day (tests, demo, bench).

Serves, on one port, the combined market stream `/market/stream?streams=...` (aggTrade,
markPrice@1s, !forceOrder@arr frames in Binance's payload format) and the REST endpoints the
recorder polls: `/fapi/v1/aggTrades`, `/fapi/v1/openInterest`, `/fapi/v1/premiumIndex`. It reads the
simulator's output (`<data>/data/futures/um/...` zips and `<data>/truth/liquidations/`), and plays the
day on a clock `speed` times faster than real time, never answering about the future.

The archive has no per-second mark price, so the mark price served is the simulator's mid at the
latest 5-minute open-interest snapshot (`sum_open_interest_value / sum_open_interest` of metrics);
open interest is that snapshot's; funding follows the fundingRate file (`nextFundingTime` is the
next settlement's calc time). Faults can be injected (`Faults`) to test the recorder.

`sent` records what went out over a live connection: trade ids and liquidation rows.
"""

from __future__ import annotations

import asyncio
import bisect
import csv
import io
import json
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from liquidationheatmap.archive_layout import ArchiveFile

BUCKET_MS = 300_000


@dataclass
class Faults:
    """Faults to inject, at fractions of the replayed day."""

    drop_at: float | None = None  # close every connection ...
    drop_seconds: float = 1.0  # ... and refuse new ones for this long (wall time)
    silence_at: float | None = None  # stop sending and reading (no pong): the client's ping times out
    duplicate_every: int = 0  # send every n-th aggTrade twice
    swap_every: int = 0  # send every n-th aggTrade after the next one (out of order)
    malformed_at: float | None = None  # one frame that is not JSON
    unknown_symbol_at: float | None = None  # one aggTrade of a symbol nobody subscribed
    rate_limit_request: int | None = None  # answer this REST request number with 429 ...
    retry_after: int = 1  # ... and this Retry-After (seconds)


@dataclass
class Replay:
    """A day's events per symbol, from the simulator's files."""

    day: date
    trades: dict[str, list[dict]] = field(default_factory=dict)  # REST rows {a,p,q,f,l,T,m}, by id
    # (period end ms, oi, mid, oi text, oi value text) from the metrics file
    metrics: dict[str, list[tuple[int, float, float, str, str]]] = field(default_factory=dict)
    funding: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # (calc ms, rate)
    liquidations: dict[str, list[list[str]]] = field(default_factory=dict)  # truth CSV rows

    @property
    def start_ms(self) -> int:
        return int(datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC).timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return self.start_ms + 86_400_000


def _zip_rows(path: Path) -> list[list[str]]:
    with zipfile.ZipFile(path) as archive:
        text = archive.read(archive.namelist()[0]).decode()
    rows = list(csv.reader(io.StringIO(text)))
    return rows[1:] if rows and not rows[0][0][:1].isdigit() else rows


def load_replay(data: Path, symbols: list[str], day: date) -> Replay:
    """Read one simulated day of `symbols` from `data` (the folder `simulate` wrote)."""
    replay = Replay(day)
    for symbol in symbols:
        trades_zip = data / ArchiveFile("aggTrades", symbol, "daily", day.isoformat()).relative_path()
        replay.trades[symbol] = [
            {"a": int(r[0]), "p": r[1], "q": r[2], "f": int(r[3]), "l": int(r[4]), "T": int(r[5]),
             "m": r[6] == "true"}
            for r in _zip_rows(trades_zip)
        ]  # fmt: skip
        replay.trades[symbol].sort(key=lambda row: row["a"])
        metrics_zip = data / ArchiveFile("metrics", symbol, "daily", day.isoformat()).relative_path()
        snapshots = []
        for row in _zip_rows(metrics_zip):
            start = int(datetime.fromisoformat(row[0]).replace(tzinfo=UTC).timestamp() * 1000)
            oi, value = float(row[2]), float(row[3])
            snapshots.append((start + BUCKET_MS, oi, value / oi if oi else 0.0, row[2], row[3]))
        replay.metrics[symbol] = sorted(snapshots)
        funding_zip = (
            data / ArchiveFile("fundingRate", symbol, "monthly", day.strftime("%Y-%m")).relative_path()
        )
        replay.funding[symbol] = (
            sorted((int(r[0]), float(r[2])) for r in _zip_rows(funding_zip)) if funding_zip.exists() else []
        )
        truth = data / "truth" / "liquidations" / symbol / f"{symbol}-liquidations-{day.isoformat()}.csv"
        rows = list(csv.reader(truth.open())) if truth.exists() else []
        replay.liquidations[symbol] = rows[1:]
    return replay


def _trade_frame(symbol: str, row: dict, event_ms: int) -> str:
    data = {"e": "aggTrade", "E": event_ms, "s": symbol, "a": row["a"], "p": row["p"], "q": row["q"],
            "nq": row["q"], "f": row["f"], "l": row["l"], "T": row["T"], "m": row["m"]}  # fmt: skip
    return json.dumps({"stream": f"{symbol.lower()}@aggTrade", "data": data}, separators=(",", ":"))


def _force_frame(row: list[str], event_ms: int) -> str:
    order = {"s": row[0], "S": row[2], "o": row[3], "f": row[4], "q": row[5], "p": row[6], "ap": row[7],
             "X": row[8], "l": row[9], "z": row[10], "T": int(row[1])}  # fmt: skip
    return json.dumps({"stream": "!forceOrder@arr", "data": {"e": "forceOrder", "E": event_ms, "o": order}},
                      separators=(",", ":"))  # fmt: skip


class FakeExchange:
    """`async with FakeExchange(replay, speed) as server:` then `server.base_url`, `server.rest_url`."""

    def __init__(self, replay: Replay, speed: float = 3600.0, faults: Faults | None = None,
                 mark_every_seconds: int = 1, tail_seconds: float = 240.0) -> None:  # fmt: skip
        self.replay = replay
        self.speed = speed
        self.faults = faults or Faults()
        self.mark_every = max(1, mark_every_seconds)
        self.tail_ms = int(tail_seconds * 1000)  # replay clock runs past the day's end by this much
        self.clients: dict[ServerConnection, set[str]] = {}
        self.sent_trades: dict[str, set[int]] = {s: set() for s in replay.trades}
        self.sent_liquidations: list[list[str]] = []
        self.sent_frames = 0
        self.finished = asyncio.Event()
        self.rest_requests = 0
        self.connections = 0
        self._refuse_until = 0.0
        self._silenced: set[ServerConnection] = set()
        self._t0 = 0.0
        self._server = None
        self._task: asyncio.Task | None = None
        self.force_sent_at: dict[tuple, float] = {}  # liquidation row -> wall clock (time.time) when sent
        self.started = asyncio.Event()

    # --- clock ---------------------------------------------------------------------------------------
    def clock_ms(self) -> int:
        if not self._t0:
            return self.replay.start_ms
        elapsed = (time.monotonic() - self._t0) * self.speed * 1000
        return min(self.replay.start_ms + int(elapsed), self.replay.end_ms + self.tail_ms)

    def start_clock(self) -> None:
        if not self._t0:
            self._t0 = time.monotonic()
            self._task = asyncio.create_task(self._play(), name="fake-exchange-replay")

    async def __aenter__(self) -> FakeExchange:
        self._server = await serve(
            self._handler, "127.0.0.1", 0, process_request=self._process_request, compression=None,
            ping_interval=20, ping_timeout=20, max_queue=None,
        )  # fmt: skip
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"ws://127.0.0.1:{port}"
        # REST on its own port: a small HTTP/1.1 server with keep-alive (as Binance's REST API has),
        # so a poll costs one round trip, not a new connection.
        self._rest = await asyncio.start_server(self._rest_connection, "127.0.0.1", 0)
        self.rest_url = f"http://127.0.0.1:{self._rest.sockets[0].getsockname()[1]}"
        return self

    async def _rest_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                _, target, _ = line.split(" ", 2)
                status, extra, body = self._rest_answer(target)
                headers = [f"HTTP/1.1 {status.value} {status.phrase}", "Content-Type: application/json",
                           f"Content-Length: {len(body)}", *extra]  # fmt: skip
                writer.write(("\r\n".join(headers) + "\r\n\r\n").encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def __aexit__(self, *exc) -> None:
        if self._task:
            self._task.cancel()
        self._rest.close()
        self._server.close()
        await self._server.wait_closed()

    # --- websocket -----------------------------------------------------------------------------------
    async def _handler(self, ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path).query)
        streams = set("/".join(query.get("streams", [""])).split("/"))
        self.clients[ws] = streams
        self.connections += 1
        self.start_clock()  # the day starts with the first subscriber
        try:
            async for message in ws:  # SUBSCRIBE frames: answer like Binance
                try:
                    request = json.loads(message)
                    if request.get("method") == "SUBSCRIBE":
                        self.clients[ws] |= set(request.get("params", []))
                    await ws.send(json.dumps({"result": None, "id": request.get("id")}))
                except ValueError:
                    pass
        except ConnectionClosed:
            pass
        finally:
            self.clients.pop(ws, None)
            self._silenced.discard(ws)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        if parts.path.startswith("/market/"):
            if parts.path != "/market/stream":
                return connection.respond(HTTPStatus.NOT_FOUND, "unknown stream path\n")
            if time.monotonic() < self._refuse_until:
                return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "down\n")
            return None
        return connection.respond(HTTPStatus.NOT_FOUND, "REST is served on rest_url\n")

    def _rest_answer(self, target: str) -> tuple[HTTPStatus, list[str], bytes]:
        """One REST request -> (status, extra header lines, JSON body)."""
        parts = urlsplit(target)
        self.rest_requests += 1
        if (
            self.faults.rate_limit_request is not None
            and self.rest_requests == self.faults.rate_limit_request
        ):
            body = {"code": -1003, "msg": "Too many requests"}
            return HTTPStatus.TOO_MANY_REQUESTS, [f"Retry-After: {self.faults.retry_after}"], _body(body)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        symbol = params.get("symbol", "")
        if symbol not in self.replay.trades:
            return HTTPStatus.BAD_REQUEST, [], _body({"code": -1121, "msg": "Invalid symbol."})
        now = self.clock_ms()
        if parts.path == "/fapi/v1/aggTrades":
            return HTTPStatus.OK, [], _body(self._agg_trades(symbol, params, now))
        if parts.path == "/fapi/v1/openInterest":
            oi = self._snapshot(symbol, now)[1]
            return HTTPStatus.OK, [], _body({"openInterest": repr(oi), "symbol": symbol, "time": now})
        if parts.path == "/futures/data/openInterestHist":
            return HTTPStatus.OK, [], _body(self._open_interest_hist(symbol, params, now))
        if parts.path == "/fapi/v1/premiumIndex":
            mid = self._snapshot(symbol, now)[2]
            rate, next_time = self._funding(symbol, now)
            answer = {
                "symbol": symbol, "markPrice": repr(mid), "indexPrice": repr(mid),
                "estimatedSettlePrice": repr(mid), "lastFundingRate": repr(rate), "interestRate": "0.0001",
                "nextFundingTime": next_time, "time": now,
            }  # fmt: skip
            return HTTPStatus.OK, [], _body(answer)
        return HTTPStatus.NOT_FOUND, [], _body({"code": -5000, "msg": "Path not found"})

    def _agg_trades(self, symbol: str, params: dict, now: int) -> list[dict]:
        rows = self.replay.trades[symbol]
        limit = min(1000, int(params.get("limit", 500)))
        ids = [row["a"] for row in rows]
        start = bisect.bisect_left(ids, int(params.get("fromId", ids[0] if ids else 0)))
        return [row for row in rows[start : start + limit] if row["T"] <= now]

    def _open_interest_hist(self, symbol: str, params: dict, now: int) -> list[dict]:
        """5-minute rows (`timestamp` = the period's start, like the metrics label) that have ended."""
        low, high = int(params.get("startTime", 0)), int(params.get("endTime", now))
        limit = min(500, int(params.get("limit", 30)))
        rows = [
            {
                "symbol": symbol,
                "sumOpenInterest": s[3],
                "sumOpenInterestValue": s[4],
                "timestamp": s[0] - BUCKET_MS,
            }
            for s in self.replay.metrics[symbol]
            if s[0] <= now and low <= s[0] - BUCKET_MS <= high
        ]
        return rows[:limit]

    def _snapshot(self, symbol: str, now: int) -> tuple:
        snapshots = self.replay.metrics[symbol]
        index = bisect.bisect_right([s[0] for s in snapshots], now) - 1
        return snapshots[max(index, 0)]

    def _funding(self, symbol: str, now: int) -> tuple[float, int]:
        rows = self.replay.funding[symbol]
        times = [t for t, _ in rows]
        index = bisect.bisect_right(times, now)
        rate = rows[index - 1][1] if index > 0 else 0.0
        # after the last settlement of the files, the next one stays beyond the replay (none is made up)
        next_time = times[index] if index < len(times) else (times[-1] if times else now) + 28_800_000
        return rate, next_time

    # --- replay --------------------------------------------------------------------------------------
    def _timeline(self) -> list[tuple[int, int, object]]:
        events: list[tuple[int, int, object]] = []
        for symbol, rows in self.replay.trades.items():
            events += [(row["T"], 0, (symbol, row)) for row in rows]
            for second in range(self.replay.start_ms, self.replay.end_ms, 1000 * self.mark_every):
                events.append((second, 2, symbol))
        for rows in self.replay.liquidations.values():
            events += [(int(row[1]), 1, row) for row in rows]
        day = self.replay.end_ms - self.replay.start_ms
        for name, kind in (("drop_at", 3), ("silence_at", 4), ("malformed_at", 5), ("unknown_symbol_at", 6)):
            at = getattr(self.faults, name)
            if at is not None:
                events.append((self.replay.start_ms + int(day * at), kind, None))
        events.sort(key=lambda e: (e[0], e[1]))
        if self.faults.swap_every:
            trades = [i for i, e in enumerate(events) if e[1] == 0]
            for n in range(self.faults.swap_every, len(trades) - 1, self.faults.swap_every):
                i, j = trades[n], trades[n + 1]
                events[i], events[j] = (events[i][0], 0, events[j][2]), (events[j][0], 0, events[i][2])
        return events

    async def _play(self) -> None:
        trade_count = 0
        for at, kind, item in self._timeline():
            wait = (at - self.replay.start_ms) / self.speed / 1000 - (time.monotonic() - self._t0)
            if wait > 0:
                await asyncio.sleep(wait)
            event_ms = at
            if kind == 0:
                symbol, row = item
                frame = _trade_frame(symbol, row, event_ms)
                stream = f"{symbol.lower()}@aggTrade"
                if self._broadcast(stream, frame):
                    self.sent_trades[symbol].add(row["a"])
                trade_count += 1
                if self.faults.duplicate_every and trade_count % self.faults.duplicate_every == 0:
                    self._broadcast(stream, frame)
            elif kind == 1:
                if self._broadcast("!forceOrder@arr", _force_frame(item, event_ms)):
                    self.sent_liquidations.append(item)
                    self.force_sent_at[tuple(item)] = time.time()
            elif kind == 2:
                mid = self._snapshot(item, at)[2]
                rate, next_time = self._funding(item, at)
                data = {"e": "markPriceUpdate", "E": at, "s": item, "p": repr(mid), "i": repr(mid),
                        "P": repr(mid), "r": repr(rate), "T": next_time}  # fmt: skip
                stream = f"{item.lower()}@markPrice@1s"
                self._broadcast(stream, json.dumps({"stream": stream, "data": data}, separators=(",", ":")))
            elif kind == 3:
                self._refuse_until = time.monotonic() + self.faults.drop_seconds
                for ws in list(self.clients):
                    ws.transport.abort()  # abrupt, like a network cut (no close frame)
            elif kind == 4:
                for ws in list(self.clients):
                    self._silenced.add(ws)
                    ws.transport.pause_reading()  # pings go unanswered
            elif kind == 5:
                self._broadcast_all('{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade",')
            elif kind == 6:
                row = {"a": 1, "p": "1.0", "q": "1.0", "f": 1, "l": 1, "T": at, "m": False}
                self._broadcast_all(_trade_frame("XYZUSDT", row, at))
        # the clock runs on for tail_ms so the last 5-minute snapshot is served
        remaining = (self.replay.end_ms + self.tail_ms - self.replay.start_ms) / self.speed / 1000
        remaining -= time.monotonic() - self._t0
        if remaining > 0:
            await asyncio.sleep(remaining)
        self.finished.set()

    def _broadcast(self, stream: str, frame: str) -> bool:
        sent = False
        for ws, streams in list(self.clients.items()):
            if stream in streams and ws not in self._silenced and ws.state.name == "OPEN":
                _send(ws, frame)
                sent = True
                self.sent_frames += 1
        return sent

    def _broadcast_all(self, frame: str) -> None:
        for ws in list(self.clients):
            if ws not in self._silenced and ws.state.name == "OPEN":
                _send(ws, frame)


class FakeExchangeThread:
    """A FakeExchange on its own event loop in a thread (tests, demo, bench): `with ... as ex:`."""

    def __init__(self, replay: Replay, **options) -> None:
        self.replay = replay
        self.options = options
        self.finished = threading.Event()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.exchange: FakeExchange | None = None
        self._thread = threading.Thread(target=self._run, name="fake-exchange", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with FakeExchange(self.replay, **self.options) as exchange:
            self.exchange = exchange
            self._ready.set()
            done = asyncio.create_task(exchange.finished.wait())
            stop = asyncio.create_task(self._stop.wait())
            await asyncio.wait({done, stop}, return_when=asyncio.FIRST_COMPLETED)
            if exchange.finished.is_set():
                self.finished.set()
                await self._stop.wait()

    def __enter__(self) -> FakeExchange:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the fake exchange did not start")
        return self.exchange

    def __exit__(self, *exc) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def _body(value: object) -> bytes:
    return json.dumps(value).encode()


def _send(ws: ServerConnection, frame: str) -> None:
    """Queue a text frame without awaiting (the replay must not wait on one slow client)."""
    try:
        ws.protocol.send_text(frame.encode())
        ws.send_data()
    except Exception:
        pass
