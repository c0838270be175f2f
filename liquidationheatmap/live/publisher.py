"""Redis pub/sub: liquidations as they arrive, a per-second price summary, "marts updated".

Channels: `lh:liquidation:<SYMBOL>`, `lh:price:<SYMBOL>`, `lh:marts`. Messages are JSON. Publishing
never blocks or fails the recorder: messages go through a bounded queue to a task that (re)connects
with backoff; while Redis is away they wait in the queue (oldest dropped past its bound, and
counted), and recording into the lake goes on regardless.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
QUEUE_BOUND = 10_000
CHANNEL_PREFIX = "lh"


def liquidation_channel(symbol: str) -> str:
    return f"{CHANNEL_PREFIX}:liquidation:{symbol.upper()}"


def price_channel(symbol: str) -> str:
    return f"{CHANNEL_PREFIX}:price:{symbol.upper()}"


MARTS_CHANNEL = f"{CHANNEL_PREFIX}:marts"


class Publisher:
    """Queue + background sender; `publish` is synchronous and cheap."""

    def __init__(self, url: str | None) -> None:
        self.url = url or None  # an empty REDIS_URL means none
        self._queue: deque[tuple[str, str]] = deque(maxlen=QUEUE_BOUND)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._closing = False
        self.sent = 0
        self.dropped = 0
        self.connected = False

    @property
    def enabled(self) -> bool:
        return self.url is not None

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name="redis-publisher")

    def publish(self, channel: str, message: dict) -> None:
        if not self.enabled:
            return
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append((channel, json.dumps(message, separators=(",", ":"))))
        self._wake.set()

    async def close(self, drain_seconds: float = 2.0) -> None:
        if self._task is None:
            return
        self._closing = True
        self._wake.set()
        try:
            await asyncio.wait_for(self._task, timeout=drain_seconds)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()

    async def _run(self) -> None:
        delay = 0.2
        while True:
            client = aioredis.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=2)
            try:
                await client.ping()
                if not self.connected:
                    log.info("redis: connected to %s", self.url)
                self.connected, delay = True, 0.2
                while True:
                    if not self._queue:
                        if self._closing:
                            return
                        self._wake.clear()
                        await self._wake.wait()
                        continue
                    batch = [self._queue[i] for i in range(min(len(self._queue), 500))]
                    async with client.pipeline(transaction=False) as pipe:
                        for channel, text in batch:
                            pipe.publish(channel, text)
                        await pipe.execute()
                    for _ in batch:  # only what Redis took leaves the queue
                        self._queue.popleft()
                    self.sent += len(batch)
            except (RedisError, OSError) as error:
                if self.connected:
                    log.warning("redis: %s; retrying (messages wait in the queue)", error)
                self.connected = False
                if self._closing:
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                await client.aclose()
