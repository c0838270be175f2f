"""Binance USD-M market streams: names, the combined-stream URL, frames parsed into events.

Since 2026-04-23 the market streams (aggTrade, markPrice, forceOrder) are served under the `/market`
path of wss://fstream.binance.com; a combined connection is `/market/stream?streams=a/b/c` and wraps
each payload as `{"stream": "<name>", "data": {...}}`. Field names are Binance's (see
shared/reference/binance-data-formats.md, "Live: REST and websocket streams").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

DEFAULT_BASE_URL = "wss://fstream.binance.com"
DEFAULT_REST_URL = "https://fapi.binance.com"
FORCE_ORDER_STREAM = "!forceOrder@arr"


def stream_names(symbols: list[str]) -> list[str]:
    names = []
    for symbol in symbols:
        lower = symbol.lower()
        names += [f"{lower}@aggTrade", f"{lower}@markPrice@1s"]
    return [*names, FORCE_ORDER_STREAM]


def combined_url(base_url: str, symbols: list[str]) -> str:
    """`<base>/market/stream?streams=btcusdt@aggTrade/btcusdt@markPrice@1s/!forceOrder@arr`."""
    return f"{base_url.rstrip('/')}/market/stream?streams={'/'.join(stream_names(symbols))}"


@dataclass(frozen=True, slots=True)
class AggTrade:
    symbol: str
    agg_trade_id: int
    price: float
    quantity: float
    first_trade_id: int
    last_trade_id: int
    transact_time: int  # exchange trade time, ms
    is_buyer_maker: bool
    event_time: int  # exchange event time, ms (0 for REST backfill)
    received_time: int  # our clock, ms


@dataclass(frozen=True, slots=True)
class MarkPrice:
    symbol: str
    mark_price: float
    index_price: float
    funding_rate: float
    next_funding_time: int
    event_time: int
    received_time: int


@dataclass(frozen=True, slots=True)
class ForceOrder:
    """One liquidation order; the text fields are kept as Binance sent them."""

    symbol: str
    time: int  # order trade time T, ms
    side: str  # SELL = a long liquidated
    order_type: str
    time_in_force: str
    original_quantity: str
    price: str
    average_price: str
    order_status: str
    last_fill_quantity: str
    accumulated_fill_quantity: str
    event_time: int
    received_time: int

    def truth_row(self) -> tuple[str, ...]:
        """The row in the truth/liquidations layout (simulate/truth.py LIQUIDATION_COLUMNS)."""
        return (
            self.symbol, str(self.time), self.side, self.order_type, self.time_in_force,
            self.original_quantity, self.price, self.average_price, self.order_status,
            self.last_fill_quantity, self.accumulated_fill_quantity,
        )  # fmt: skip

    def as_event(self) -> dict:
        return {
            "symbol": self.symbol,
            "time": self.time,
            "side": self.side,
            "position_side": "long" if self.side == "SELL" else "short",
            "price": float(self.average_price) if float(self.average_price) > 0 else float(self.price),
            "quantity": float(self.accumulated_fill_quantity or self.original_quantity),
            "event_time": self.event_time,
            "received_time": self.received_time,
        }


class BadFrame(ValueError):
    """A frame that is not JSON or lacks a field a payload must have."""


Event = AggTrade | MarkPrice | ForceOrder | None


def parse_frame(text: str | bytes, received_time: int) -> Event:
    """One combined-stream frame -> an event; None for frames we do not record (replies, other streams).

    Raises BadFrame naming what is wrong. COIN-M orders on the forceOrder stream (fields `st`/`ps`
    describing a delivery contract, or a symbol with `_`) are dropped (None).
    """
    try:
        frame = json.loads(text)
    except ValueError as error:
        raise BadFrame(f"not JSON: {error}") from None
    if not isinstance(frame, dict):
        raise BadFrame("frame is not an object")
    data = frame.get("data", frame)
    if not isinstance(data, dict):
        raise BadFrame("payload is not an object")
    kind = data.get("e")
    try:
        if kind == "aggTrade":
            return AggTrade(
                symbol=str(data["s"]),
                agg_trade_id=int(data["a"]),
                price=float(data["p"]),
                quantity=float(data["q"]),
                first_trade_id=int(data["f"]),
                last_trade_id=int(data["l"]),
                transact_time=int(data["T"]),
                is_buyer_maker=bool(data["m"]),
                event_time=int(data.get("E", 0)),
                received_time=received_time,
            )
        if kind == "markPriceUpdate":
            return MarkPrice(
                symbol=str(data["s"]),
                mark_price=float(data["p"]),
                index_price=float(data.get("i") or 0.0),
                funding_rate=float(data.get("r") or 0.0),
                next_funding_time=int(data.get("T") or 0),
                event_time=int(data["E"]),
                received_time=received_time,
            )
        if kind == "forceOrder":
            order = data["o"]
            symbol = str(order["s"])
            if "_" in symbol or order.get("st") not in (None, "", "PERPETUAL") or order.get("ps") not in (
                None, "", "BOTH",
            ):  # fmt: skip
                return None  # COIN-M (BTCUSD_PERP, delivery contracts): not USD-M
            return ForceOrder(
                symbol=symbol,
                time=int(order["T"]),
                side=str(order["S"]),
                order_type=str(order.get("o", "LIMIT")),
                time_in_force=str(order.get("f", "IOC")),
                original_quantity=str(order["q"]),
                price=str(order["p"]),
                average_price=str(order.get("ap", "0")),
                order_status=str(order.get("X", "FILLED")),
                last_fill_quantity=str(order.get("l", order["q"])),
                accumulated_fill_quantity=str(order.get("z", order["q"])),
                event_time=int(data.get("E", 0)),
                received_time=received_time,
            )
    except (KeyError, TypeError, ValueError) as error:
        raise BadFrame(f"{kind} payload: bad or missing field {error}") from None
    return None


def rest_agg_trade(symbol: str, row: dict, received_time: int) -> AggTrade:
    """A `/fapi/v1/aggTrades` row (`{a,p,q,f,l,T,m}`) as an event (no event time)."""
    return AggTrade(
        symbol=symbol,
        agg_trade_id=int(row["a"]),
        price=float(row["p"]),
        quantity=float(row["q"]),
        first_trade_id=int(row["f"]),
        last_trade_id=int(row["l"]),
        transact_time=int(row["T"]),
        is_buyer_maker=bool(row["m"]),
        event_time=0,
        received_time=received_time,
    )
