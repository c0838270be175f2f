"""Binance USD-M liquidation price, isolated margin, one-way mode, with real margin brackets.

    LP = (WB + cum - s*Q*EP) / (Q*(MMR - s))        s = +1 long, -1 short

WB is the isolated margin (Q*EP/L when opened at leverage L with nothing added), Q the quantity in
base asset, EP the entry price, MMR/cum the maintenance margin rate and amount of the bracket whose
notional range holds the notional at the liquidation price (Q*LP). LP <= 0: cannot be liquidated.
The dbt macro `liquidation_price` holds the same formula in SQL; both are checked against the same
golden values (Binance FAQ: long, WB 500, Q 0.02, EP 50,000, MMR 0.4 %, cum 0 -> 25,100.40).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

SEED_PATH = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "margin_tiers.csv"


@dataclass(frozen=True)
class Bracket:
    bracket: int
    notional_floor: float
    notional_cap: float
    max_leverage: int
    maint_margin_ratio: float
    maint_amount: float


@dataclass(frozen=True)
class MarginTable:
    symbol: str
    table_version: str
    valid_from: date
    brackets: tuple[Bracket, ...]

    def bracket_for_notional(self, notional: float) -> Bracket:
        for item in self.brackets:
            if item.notional_floor <= notional < item.notional_cap:
                return item
        return self.brackets[-1]

    def max_leverage_for_notional(self, notional: float) -> int:
        return self.bracket_for_notional(notional).max_leverage


@dataclass(frozen=True)
class Liquidation:
    price: float | None  # None: the position cannot be liquidated (LP <= 0)
    bracket: Bracket
    maintenance_margin: float  # at the liquidation price (Q*LP*MMR - cum), 0 when not liquidatable


def _sign(side: str) -> int:
    if side in ("long", "LONG", "buy", "BUY"):
        return 1
    if side in ("short", "SHORT", "sell", "SELL"):
        return -1
    raise ValueError(f"side must be long or short, got {side!r}")


def liquidation_price_in_bracket(
    side: str, entry_price: float, quantity: float, wallet_balance: float, bracket: Bracket
) -> float:
    """The formula under one given bracket (no self-consistency check)."""
    s = _sign(side)
    return (wallet_balance + bracket.maint_amount - s * quantity * entry_price) / (
        quantity * (bracket.maint_margin_ratio - s)
    )


def liquidation_price(
    side: str, entry_price: float, quantity: float, wallet_balance: float, table: MarginTable
) -> Liquidation:
    """Liquidation price under the bracket that holds the notional at that price."""
    if quantity <= 0 or entry_price <= 0:
        raise ValueError("quantity and entry_price must be positive")
    first = table.brackets[0]
    for item in table.brackets:
        price = liquidation_price_in_bracket(side, entry_price, quantity, wallet_balance, item)
        if price <= 0:
            continue
        notional = quantity * price
        last = item is table.brackets[-1]
        if item.notional_floor <= notional and (notional < item.notional_cap or last):
            mm = notional * item.maint_margin_ratio - item.maint_amount
            return Liquidation(price, item, mm)
    # No bracket gives a positive self-consistent price: the margin covers any fall to zero.
    return Liquidation(None, first, 0.0)


def _read_tables(path: Path) -> tuple[MarginTable, ...]:
    grouped: dict[tuple[str, str], list[dict[str, str]]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            grouped.setdefault((row["symbol"], row["table_version"]), []).append(row)
    tables = []
    for (symbol, version), rows in grouped.items():
        brackets = tuple(
            sorted(
                (
                    Bracket(
                        int(r["bracket"]),
                        float(r["notional_floor"]),
                        float(r["notional_cap"]),
                        int(r["max_leverage"]),
                        float(r["maint_margin_ratio"]),
                        float(r["maint_amount"]),
                    )
                    for r in rows
                ),
                key=lambda b: b.bracket,
            )
        )
        tables.append(MarginTable(symbol, version, date.fromisoformat(rows[0]["valid_from"]), brackets))
    return tuple(tables)


@lru_cache(maxsize=4)
def load_margin_tables(path: Path = SEED_PATH) -> tuple[MarginTable, ...]:
    """All dated bracket tables in the dbt seed."""
    return _read_tables(path)


DEFAULT_SYMBOL_TABLE = "BTCUSDT"  # a symbol without its own table uses BTCUSDT's (flagged in dbt)


def margin_table(symbol: str, on: date | None = None, path: Path = SEED_PATH) -> MarginTable:
    """The bracket table in force for `symbol` on `on` (default: the newest one)."""
    tables = [t for t in load_margin_tables(path) if t.symbol == symbol]
    if not tables:
        tables = [t for t in load_margin_tables(path) if t.symbol == DEFAULT_SYMBOL_TABLE]
    if on is not None:
        tables = [t for t in tables if t.valid_from <= on] or tables[:1]
    return max(tables, key=lambda t: t.valid_from)
