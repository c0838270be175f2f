"""A bounded, thread-safe LRU response cache whose keys carry the warehouse file's identity, and the
ASGI fast path that answers repeated requests from it before FastAPI routes, validates or encodes.

Keys are `(route, params..., identity)` where identity is `(st_ino, st_mtime_ns)` of the warehouse
file. A build swaps a new warehouse file in with os.replace, which changes the inode, so every answer about
the old marts stops matching at once; entries also expire after a TTL. Bounded by entry count and by
total bytes (values are the encoded response bodies, whole stored responses, or small Python values
for lookups).

`FastPathCache` is a pure ASGI middleware over the same cache: for the routes it is told about it keys
a request by (method, path, query parameters, content type and body, warehouse identity) and, on a hit,
sends the stored status, headers and body itself, so a cached answer costs one stat() and a dict
lookup instead of FastAPI's dependency solving, validation and a thread-pool hop.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, MutableMapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class _Entry:
    value: Any
    size: int
    expires_at: float


@dataclass(frozen=True)
class StoredResponse:
    """A whole HTTP answer as the app sent it: status, raw ASGI headers and the body bytes."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    @property
    def nbytes(self) -> int:
        return len(self.body) + sum(len(name) + len(value) for name, value in self.headers)


def _size_of(value: Any) -> int:
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, StoredResponse):
        return value.nbytes
    return sys.getsizeof(value)


class ResponseCache:
    def __init__(self, max_entries: int, max_bytes: int, ttl_seconds: float) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("cache bounds must be positive")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable) -> Any | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.expires_at <= now:
                if entry is not None:
                    self._drop(key)
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry.value

    def put(self, key: Hashable, value: Any) -> None:
        if self.ttl_seconds <= 0:
            return
        size = _size_of(value)
        if size > self.max_bytes:
            return  # larger than the whole cache: never worth evicting everything for
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = _Entry(value, size, time.monotonic() + self.ttl_seconds)
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def get_or_compute(self, key: Hashable | None, compute: Callable[[], Any]) -> Any:
        """The cached value for key, or compute() stored under it (key None: never cached)."""
        if key is None:
            return compute()
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key)
        self._bytes -= entry.size


# ---------------------------------------------------------------------------------------------------
# The fast path

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Answers that are a pure function of the request and the warehouse file. A 503 (nothing built, a
# broken file, a missing mart) is stored only while there is no warehouse file at all, keyed by that
# absence, so it flips to the real answer the moment a build lands; any other 503 and every 5xx may
# be transient and is never stored.
STORED_STATUSES = frozenset({200, 400, 404, 422})
MAX_KEYED_BODY = 16 * 1024  # request bodies above this are served but not cached
_UNKNOWN = object()  # an identity that equals no other


@dataclass(frozen=True)
class CacheableRoutes:
    """Which (method, path) pairs answer from the warehouse and the request alone."""

    exact: frozenset[tuple[str, str]]
    prefixes: tuple[tuple[str, str], ...] = ()

    def __contains__(self, method_path: object) -> bool:
        if method_path in self.exact:
            return True
        method, path = method_path  # type: ignore[misc]
        return any(method == m and path.startswith(p) and len(path) > len(p) for m, p in self.prefixes)


class FastPathCache:
    """Serve repeated answers of `routes` from `cache` before the app sees the request.

    The key is (method, path, query pairs sorted by name as Starlette parses them, content type and
    body for requests with a body, identity()). A miss goes to the app unchanged; its answer is stored
    when the status is in STORED_STATUSES (or a 503 with no warehouse), the whole body arrived, and
    identity() is the same once the answer is complete as before the app saw the request (a build
    that lands mid-request leaves the answer uncached, as WarehouseSession does). With a TTL of 0
    nothing is read or stored.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        cache: ResponseCache,
        identity: Callable[[], Hashable],
        routes: CacheableRoutes,
        max_body: int = MAX_KEYED_BODY,
    ) -> None:
        self.app = app
        self.cache = cache
        self.identity = identity
        self.routes = routes
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or self.cache.ttl_seconds <= 0
            or (scope["method"], scope["path"]) not in self.routes
        ):
            await self.app(scope, receive, send)
            return
        replay: list[Message] = []
        body: bytes | None = b""
        content_type = b""
        if scope["method"] != "GET":  # GET routes take no body; others are keyed by what they were sent
            body, replay = await self._read_body(receive)
            if body is None:  # too large or the client left: serve it without the cache
                await self.app(scope, _replaying(replay, receive), send)
                return
            content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
        query = tuple(
            sorted(
                parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True), key=itemgetter(0)
            )
        )
        try:
            before = self.identity()
        except OSError:  # the warehouse path cannot even be stat()ed: let the app say why, uncached
            await self.app(scope, _replaying(replay, receive), send)
            return
        key = ("fastpath", scope["method"], scope["path"], query, content_type, body, before)
        stored = self.cache.get(key)
        if isinstance(stored, StoredResponse):
            await send({"type": "http.response.start", "status": stored.status, "headers": stored.headers})
            await send({"type": "http.response.body", "body": stored.body})
            return

        def store(answer: StoredResponse) -> None:
            storable = answer.status in STORED_STATUSES or (answer.status == 503 and before is None)
            if storable and self._identity_after() == before:
                self.cache.put(key, answer)

        await self.app(scope, _replaying(replay, receive), _Capture(send, self.cache.max_bytes, store))

    def _identity_after(self) -> Hashable:
        try:
            return self.identity()
        except OSError:
            return _UNKNOWN

    async def _read_body(self, receive: Receive) -> tuple[bytes | None, list[Message]]:
        """The whole request body (None if it exceeds max_body or the client left) and its messages."""
        messages: list[Message] = []
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return None, messages
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None, messages
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A receive() that hands out the already-read messages first, then the client's own."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


class _Capture:
    """A send() that passes every message on and hands a complete, plain response to on_complete.

    on_complete runs before the last body chunk goes out: once the client has the answer it may ask
    again at once, and the app may still be tearing the request down (closing the warehouse in a
    worker thread) when it does, so the answer must already be in the cache.
    """

    def __init__(self, send: Send, limit: int, on_complete: Callable[[StoredResponse], None]) -> None:
        self.send = send
        self.limit = limit
        self.on_complete = on_complete
        self.status: int | None = None
        self.headers: tuple[tuple[bytes, bytes], ...] = ()
        self.chunks: list[bytes] = []
        self.size = 0
        self.usable = True

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            self.headers = tuple((bytes(k), bytes(v)) for k, v in message.get("headers", ()))
            self.usable = not message.get("trailers", False)
        elif kind == "http.response.body" and self.usable and self.status is not None:
            chunk = message.get("body", b"")
            self.size += len(chunk)
            if self.size > self.limit:
                self.usable, self.chunks = False, []
            else:
                self.chunks.append(chunk)
                if not message.get("more_body", False):
                    self.usable = False  # anything after the last chunk is not ours to replay
                    self.on_complete(StoredResponse(self.status, self.headers, b"".join(self.chunks)))
        else:
            self.usable = False  # trailers, pathsend, anything we do not replay
        await self.send(message)
