"""The open positions of one symbol: a column store, liquidation-price indexes, and the close schedule.

Positions are appended in id order and compacted (closed ones dropped) at the end of each day, so
the slot of an id is a binary search in the id column. Liquidation prices sit in two sorted
indexes (longs, shorts) with a small unsorted buffer of recent additions, so finding every position
a price move liquidates is a `searchsorted`, not a loop over positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OPEN, CLOSED, LIQUIDATED = 0, 1, 2
TAKER, MARKET_MAKER = 0, 1

_FIELDS: dict[str, type] = {
    "pid": np.int64,
    "side": np.int64,  # +1 long, -1 short
    "trader": np.int8,
    "opened_at": np.int64,  # ms
    "entry": np.float64,
    "qty": np.int64,  # in quantity steps
    "leverage": np.int64,
    "margin": np.float64,  # isolated margin (wallet balance), USDT
    "lp": np.float64,  # NaN: cannot be liquidated
    "close_at": np.int64,  # scheduled close (ms), takers only; -1 for market makers
    "partner": np.int64,  # the pid of the other side of the same contract
    "closed_at": np.int64,  # -1 while open
    "reason": np.int8,
}


@dataclass
class NewPositions:
    pid: np.ndarray
    side: np.ndarray
    trader: np.ndarray
    opened_at: np.ndarray
    entry: np.ndarray
    qty: np.ndarray
    leverage: np.ndarray
    margin: np.ndarray
    lp: np.ndarray
    close_at: np.ndarray
    partner: np.ndarray


class LiquidationIndex:
    """Liquidation prices of one side, ascending, plus a buffer of not yet merged additions.

    Entries are never reopened, so a closed entry found at the live end is dropped for good:
    longs are liquidated from the top (highest price) down, shorts from the bottom up.
    """

    def __init__(self, side: int) -> None:
        self.side = side
        self.keys = np.empty(0)
        self.pids = np.empty(0, dtype=np.int64)
        self.lo = 0  # live region is [lo, hi)
        self.hi = 0
        self._pend_keys: list[np.ndarray] = []
        self._pend_pids: list[np.ndarray] = []
        self.pend_keys = np.empty(0)
        self.pend_pids = np.empty(0, dtype=np.int64)

    def add(self, keys: np.ndarray, pids: np.ndarray) -> None:
        ok = ~np.isnan(keys)
        self._pend_keys.append(keys[ok])
        self._pend_pids.append(pids[ok])

    def _flush(self) -> None:
        if self._pend_keys:
            self.pend_keys = np.concatenate([self.pend_keys, *self._pend_keys])
            self.pend_pids = np.concatenate([self.pend_pids, *self._pend_pids])
            self._pend_keys.clear()
            self._pend_pids.clear()

    def merge(self, book: PositionBook, compact: bool = False) -> None:
        """Move the buffer into the sorted arrays (and drop closed entries when `compact`)."""
        self._flush()
        keys = self.keys[self.lo : self.hi]
        pids = self.pids[self.lo : self.hi]
        pend_keys, pend_pids = self.pend_keys, self.pend_pids
        if compact:
            live = book.is_open(pids)
            keys, pids = keys[live], pids[live]
            live = book.is_open(pend_pids)
            pend_keys, pend_pids = pend_keys[live], pend_pids[live]
        order = np.lexsort((pend_pids, pend_keys))
        pend_keys, pend_pids = pend_keys[order], pend_pids[order]
        at = np.searchsorted(keys, pend_keys, side="right")
        self.keys = np.insert(keys, at, pend_keys)
        self.pids = np.insert(pids, at, pend_pids)
        self.lo, self.hi = 0, len(self.keys)
        self.pend_keys = np.empty(0)
        self.pend_pids = np.empty(0, dtype=np.int64)

    def pending_size(self) -> int:
        return len(self.pend_keys) + sum(len(k) for k in self._pend_keys)

    def _trim(self, book: PositionBook) -> None:
        """Drop closed entries at the live end (top for longs, bottom for shorts)."""
        chunk = 64
        while self.hi > self.lo:
            if self.side > 0:
                start = max(self.lo, self.hi - chunk)
                live = book.is_open(self.pids[start : self.hi])
                if live.any():
                    self.hi = start + int(np.flatnonzero(live)[-1]) + 1
                    return
                self.hi = start
            else:
                stop = min(self.hi, self.lo + chunk)
                live = book.is_open(self.pids[self.lo : stop])
                if live.any():
                    self.lo += int(np.flatnonzero(live)[0])
                    return
                self.lo = stop

    def extreme(self, book: PositionBook) -> float:
        """Highest open long LP (longs) or lowest open short LP (shorts); +-inf when none."""
        self._flush()
        self._trim(book)
        if self.side > 0:
            best = self.keys[self.hi - 1] if self.hi > self.lo else -np.inf
            if len(self.pend_keys):
                live = book.is_open(self.pend_pids)
                if live.any():
                    best = max(best, float(self.pend_keys[live].max()))
        else:
            best = self.keys[self.lo] if self.hi > self.lo else np.inf
            if len(self.pend_keys):
                live = book.is_open(self.pend_pids)
                if live.any():
                    best = min(best, float(self.pend_keys[live].min()))
        return float(best)

    def crossed(self, book: PositionBook, price: float) -> np.ndarray:
        """Pids of open positions this price liquidates, in trigger order, removed from the index."""
        self._flush()
        if self.side > 0:
            j = max(int(np.searchsorted(self.keys[: self.hi], price, side="left")), self.lo)
            keys, pids = self.keys[j : self.hi][::-1], self.pids[j : self.hi][::-1]
            self.hi = j
            hit_p = self.pend_keys >= price
        else:
            j = min(int(np.searchsorted(self.keys[: self.hi], price, side="right")), self.hi)
            j = max(j, self.lo)
            keys, pids = self.keys[self.lo : j], self.pids[self.lo : j]
            self.lo = j
            hit_p = self.pend_keys <= price
        live = book.is_open(pids)
        keys, pids = keys[live], pids[live]
        if hit_p.any():
            pk, pp = self.pend_keys[hit_p], self.pend_pids[hit_p]
            self.pend_keys, self.pend_pids = self.pend_keys[~hit_p], self.pend_pids[~hit_p]
            live = book.is_open(pp)
            keys = np.concatenate([keys, pk[live]])
            pids = np.concatenate([pids, pp[live]])
            order = np.lexsort((pids, -self.side * keys))
            keys, pids = keys[order], pids[order]
        return pids


class PositionBook:
    """All positions not yet written to the truth files, in id order."""

    def __init__(self) -> None:
        self.n = 0
        self.cols: dict[str, np.ndarray] = {name: np.empty(1024, dtype=t) for name, t in _FIELDS.items()}
        self.longs = LiquidationIndex(+1)
        self.shorts = LiquidationIndex(-1)
        self._schedule: dict[int, list[np.ndarray]] = {}
        # Running totals kept exact in integer quantity steps.
        self.oi_steps = 0  # sum of open long quantity == sum of open short quantity
        self.taker_qty = {1: 0, -1: 0}
        self.taker_count = {1: 0, -1: 0}
        self.top_qty = {1: 0, -1: 0}
        self.top_count = {1: 0, -1: 0}
        self.top_min_steps = 1  # taker positions at least this large count as "top traders"
        # Status by pid (one byte per position ever opened, so lookups need no search).
        self.status = np.full(1024, CLOSED, dtype=np.int8)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name][: self.n]

    def slots(self, pids: np.ndarray) -> np.ndarray:
        """Slot of each pid (pids must be in the book)."""
        return np.searchsorted(self.cols["pid"][: self.n], pids)

    def is_open(self, pids: np.ndarray) -> np.ndarray:
        return self.status[pids] == OPEN

    def add(self, new: NewPositions) -> None:
        m = len(new.pid)
        if m == 0:
            return
        need = self.n + m
        cap = len(self.cols["pid"])
        if need > cap:
            grow = max(need, 2 * cap)
            for name, col in self.cols.items():
                fresh = np.empty(grow, dtype=col.dtype)
                fresh[: self.n] = col[: self.n]
                self.cols[name] = fresh
        sl = slice(self.n, need)
        for name in NewPositions.__dataclass_fields__:
            self.cols[name][sl] = getattr(new, name)
        self.cols["closed_at"][sl] = -1
        self.cols["reason"][sl] = OPEN
        self.n = need
        top = int(new.pid[-1]) + 1
        if top > len(self.status):
            grown = np.full(max(top, 2 * len(self.status)), CLOSED, dtype=np.int8)
            grown[: len(self.status)] = self.status
            self.status = grown
        self.status[new.pid] = OPEN
        longs = new.side > 0
        self.longs.add(new.lp[longs], new.pid[longs])
        self.shorts.add(new.lp[~longs], new.pid[~longs])
        self.oi_steps += int(new.qty[longs].sum())
        self._count(new.side, new.trader, new.qty, +1)
        takers = new.trader == TAKER
        self._schedule_closes(new.close_at[takers], new.pid[takers])

    def _count(self, side: np.ndarray, trader: np.ndarray, qty: np.ndarray, sign: int) -> None:
        taker = trader == TAKER
        if not taker.any():
            return
        side, qty = side[taker], qty[taker]
        big = qty >= self.top_min_steps
        for s in (1, -1):
            mask = side == s
            self.taker_qty[s] += sign * int(qty[mask].sum())
            self.taker_count[s] += sign * int(np.count_nonzero(mask))
            top = mask & big
            self.top_qty[s] += sign * int(qty[top].sum())
            self.top_count[s] += sign * int(np.count_nonzero(top))

    def _schedule_closes(self, close_at: np.ndarray, pids: np.ndarray) -> None:
        if len(pids) == 0:
            return
        minute = close_at // 60_000
        order = np.argsort(minute, kind="stable")
        minute, pids = minute[order], pids[order]
        keys, starts = np.unique(minute, return_index=True)
        for key, part in zip(keys.tolist(), np.split(pids, starts[1:]), strict=True):
            self._schedule.setdefault(key, []).append(part)

    def due(self, minute: int) -> np.ndarray:
        """Slots of open taker positions scheduled to close in this minute, by close time then id."""
        parts = self._schedule.pop(minute, None)
        if not parts:
            return np.empty(0, dtype=np.int64)
        pids = np.sort(np.concatenate(parts))
        pids = pids[self.is_open(pids)]
        slots = self.slots(pids)
        order = np.lexsort((pids, self.cols["close_at"][slots]))
        return slots[order]

    def close(self, slots: np.ndarray, at: np.ndarray, reason: int) -> None:
        """Close positions (and their partners, as `closed`) at the given times."""
        if len(slots) == 0:
            return
        self._close_only(slots, at, reason)
        partners = self.slots(self.cols["partner"][slots])
        still = self.cols["reason"][partners] == OPEN
        self._close_only(partners[still], np.broadcast_to(at, slots.shape)[still], CLOSED)

    def _close_only(self, slots: np.ndarray, at: np.ndarray, reason: int) -> None:
        self.cols["closed_at"][slots] = at
        self.cols["reason"][slots] = reason
        self.status[self.cols["pid"][slots]] = reason
        side = self.cols["side"][slots]
        qty = self.cols["qty"][slots]
        self.oi_steps -= int(qty[side > 0].sum())
        self._count(side, self.cols["trader"][slots], qty, -1)

    def imbalance(self) -> float:
        """(taker long qty - taker short qty) / (taker long qty + taker short qty)."""
        total = self.taker_qty[1] + self.taker_qty[-1]
        return (self.taker_qty[1] - self.taker_qty[-1]) / total if total else 0.0

    def take_closed(self) -> dict[str, np.ndarray]:
        """Remove closed positions from the book and return their columns (in id order)."""
        reason = self.cols["reason"][: self.n]
        closed = reason != OPEN
        out = {name: col[: self.n][closed].copy() for name, col in self.cols.items()}
        keep = ~closed
        m = int(keep.sum())
        for col in self.cols.values():
            col[:m] = col[: self.n][keep]
        self.n = m
        self.longs.merge(self, compact=True)
        self.shorts.merge(self, compact=True)
        return out

    def open_positions(self) -> dict[str, np.ndarray]:
        return {name: col[: self.n].copy() for name, col in self.cols.items()}
