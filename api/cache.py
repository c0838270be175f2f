"""A bounded, thread-safe LRU response cache whose keys carry the warehouse file's identity.

Keys are `(route, params..., identity)` where identity is `(st_ino, st_mtime_ns)` of the warehouse
file. dbt swaps a new warehouse in with os.replace, which changes the inode, so every answer about
the old marts stops matching at once; entries also expire after a TTL. Bounded by entry count and by
total bytes (values are the encoded response bodies, or small Python values for lookups).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any


@dataclass
class _Entry:
    value: Any
    size: int
    expires_at: float


def _size_of(value: Any) -> int:
    if isinstance(value, bytes | bytearray):
        return len(value)
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
