"""The simulator's ground truth beside the archive: every position, and every forced liquidation.

`<out>/truth/liquidations/<SYMBOL>/<SYMBOL>-liquidations-<YYYY-MM-DD>.csv` in the column layout of
Binance's liquidation orders (side SELL = a long liquidated), and
`<out>/truth/positions/<SYMBOL>/<SYMBOL>-positions-<YYYY-MM-DD>.csv`, one row per position in the
file of the day it closed (positions still open when the run ends go in its last day's file).
Floats are written in their shortest exact form, so reading them back gives the same doubles.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from liquidationheatmap.archive_layout import TRUTH_DIR
from liquidationheatmap.simulate.book import LIQUIDATED, MARKET_MAKER, OPEN
from liquidationheatmap.simulate.writers import decimal_strings, write_atomic

LIQUIDATION_COLUMNS = (
    "symbol",
    "time",
    "side",
    "order_type",
    "time_in_force",
    "original_quantity",
    "price",
    "average_price",
    "order_status",
    "last_fill_quantity",
    "accumulated_fill_quantity",
)
POSITION_COLUMNS = (
    "position_id",
    "symbol",
    "opened_at",
    "side",
    "entry_price",
    "quantity",
    "leverage",
    "margin",
    "liquidation_price",
    "closed_at",
    "close_reason",
    "trader",
)


def truth_path(out: Path, kind: str, symbol: str, day: date) -> Path:
    return out / TRUTH_DIR / kind / symbol / f"{symbol}-{kind}-{day.isoformat()}.csv"


def _const(n: int, value: str) -> pa.Array:
    return pc.if_else(pa.array(np.ones(n, dtype=bool)), pa.scalar(value), pa.scalar(value))


def _choose(mask: np.ndarray, yes: str, no: str) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), pa.scalar(yes), pa.scalar(no))


def _csv(columns: tuple[str, ...], table: pa.Table) -> bytes:
    sink = io.BytesIO()
    if table.num_rows:
        pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    return (",".join(columns) + "\n").encode() + sink.getvalue()


def liquidations_csv(
    symbol: str, liqs: dict[str, np.ndarray], tick_decimals: int, step_decimals: int
) -> bytes:
    n = len(liqs["time"])
    qty = decimal_strings(liqs["qty_steps"], step_decimals)
    table = pa.table(
        {
            "symbol": _const(n, symbol),
            "time": liqs["time"],
            "side": _choose(liqs["order_side"] < 0, "SELL", "BUY"),
            "order_type": _const(n, "LIMIT"),
            "time_in_force": _const(n, "IOC"),
            "original_quantity": qty,
            "price": decimal_strings(liqs["price_ticks"], tick_decimals),
            "average_price": liqs["average_price"],
            "order_status": _const(n, "FILLED"),
            "last_fill_quantity": decimal_strings(liqs["last_fill_steps"], step_decimals),
            "accumulated_fill_quantity": qty,
        }
    )
    return _csv(LIQUIDATION_COLUMNS, table)


def positions_csv(symbol: str, pos: dict[str, np.ndarray], step_decimals: int) -> bytes:
    """Rows by closing time then id; still-open positions last."""
    closed_at = pos["closed_at"]
    key = np.where(closed_at < 0, np.iinfo(np.int64).max, closed_at)
    order = np.lexsort((pos["pid"], key))
    p = {k: v[order] for k, v in pos.items()}
    n = len(order)
    reason = pc.if_else(
        pa.array(p["reason"] == OPEN),
        pa.scalar("open"),
        _choose(p["reason"] == LIQUIDATED, "liquidated", "closed"),
    )
    lp = p["lp"]
    table = pa.table(
        {
            "position_id": p["pid"],
            "symbol": _const(n, symbol),
            "opened_at": p["opened_at"],
            "side": _choose(p["side"] > 0, "long", "short"),
            "entry_price": p["entry"],
            "quantity": decimal_strings(p["qty"], step_decimals),
            "leverage": p["leverage"],
            "margin": p["margin"],
            "liquidation_price": pa.array(lp, mask=np.isnan(lp)),
            "closed_at": pa.array(p["closed_at"], mask=p["reason"] == OPEN),
            "close_reason": reason,
            "trader": _choose(p["trader"] == MARKET_MAKER, "market_maker", "taker"),
        }
    )
    return _csv(POSITION_COLUMNS, table)


def write_truth(out: Path, symbol: str, day: date, liqs: bytes, positions: bytes) -> tuple[Path, Path]:
    liq_path = truth_path(out, "liquidations", symbol, day)
    pos_path = truth_path(out, "positions", symbol, day)
    write_atomic(liq_path, liqs)
    write_atomic(pos_path, positions)
    return liq_path, pos_path
