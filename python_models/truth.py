"""True liquidations in one canonical shape for scoring.

The simulator writes Binance's forceOrder columns (``truth/liquidations``); a live recorder of the
``!forceOrder@arr`` stream will write the same. Scoring needs only who was liquidated, when, where and
how much, so every truth frame is reduced to: symbol, time, side (long|short), price, quantity, notional.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRUTH_COLUMNS = ["symbol", "time", "side", "price", "quantity", "notional"]

# forceOrder side is the side of the closing order: SELL closes (liquidates) a long, BUY a short.
_ORDER_SIDE_TO_POSITION_SIDE = {"SELL": "long", "BUY": "short", "long": "long", "short": "short"}


def require_columns(frame: pd.DataFrame, columns: list[str] | tuple[str, ...], what: str) -> None:
    """Raise a ValueError naming the frame (``what``) and every missing column."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; got {list(frame.columns)}")


def to_timestamp(values: pd.Series) -> pd.Series:
    """Epoch milliseconds or datetimes -> naive UTC datetime64[ns] (the marts' TIMESTAMP convention).

    One resolution everywhere, so frames from DuckDB (microseconds) and from CSV (milliseconds) join.
    """
    values = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(values):
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_numeric_dtype(values):
        values = pd.to_datetime(values.astype("int64"), unit="ms")
    else:
        values = pd.to_datetime(values)
    return values.astype("datetime64[ns]")


def prepare_truth(truth: pd.DataFrame) -> pd.DataFrame:
    """Canonical truth frame from rows with symbol, time, side, price, quantity.

    ``time`` may be epoch milliseconds or a timestamp; ``side`` may be the order side (SELL = a long
    liquidated, BUY = a short liquidated) or already long/short. ``notional`` = price × quantity (USDT).
    Rows with a non-positive notional carry no liquidated value and are dropped.
    """
    require_columns(truth, ["symbol", "time", "side", "price", "quantity"], "truth liquidations")
    side = truth["side"].astype(str).map(_ORDER_SIDE_TO_POSITION_SIDE)
    unknown = sorted(set(truth.loc[side.isna(), "side"].astype(str)))
    if unknown:
        raise ValueError(
            f"truth liquidations: unknown side value(s) {unknown}; expected BUY/SELL or long/short"
        )
    out = pd.DataFrame(
        {
            "symbol": truth["symbol"].astype(str).array,
            "time": to_timestamp(truth["time"]).to_numpy(),
            "side": side.astype(str).array,
            "price": truth["price"].astype("float64").to_numpy(),
            "quantity": truth["quantity"].astype("float64").to_numpy(),
        }
    )
    out["notional"] = out["price"] * out["quantity"]
    keep = np.isfinite(out["notional"].to_numpy()) & (out["notional"].to_numpy() > 0)
    return out.loc[keep, TRUTH_COLUMNS].reset_index(drop=True)


def truth_from_force_orders(raw: pd.DataFrame) -> pd.DataFrame:
    """Canonical truth from the simulator's / Binance's forceOrder CSV columns.

    Uses the executed fill: ``average_price`` (falling back to the order ``price`` where it is empty
    or zero) and ``accumulated_fill_quantity`` (falling back to ``original_quantity``).
    """
    require_columns(
        raw,
        [
            "symbol",
            "time",
            "side",
            "price",
            "original_quantity",
            "average_price",
            "accumulated_fill_quantity",
        ],
        "forceOrder liquidations",
    )
    avg = pd.to_numeric(raw["average_price"], errors="coerce")
    price = avg.where(avg > 0, pd.to_numeric(raw["price"], errors="coerce"))
    filled = pd.to_numeric(raw["accumulated_fill_quantity"], errors="coerce")
    quantity = filled.where(filled > 0, pd.to_numeric(raw["original_quantity"], errors="coerce"))
    return prepare_truth(
        pd.DataFrame(
            {
                "symbol": raw["symbol"],
                "time": raw["time"],
                "side": raw["side"],
                "price": price,
                "quantity": quantity,
            }
        )
    )
