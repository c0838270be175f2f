"""Binance-format CSV files in zips with `.CHECKSUM`s, byte-identical for the same input.

Zips hold one deflated CSV with a fixed date-time, fixed compression level and Unix permissions,
so the same simulation writes the same bytes. Every file is written under a temporary name and
moved into place, so an interrupted run leaves no half-written zip.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from liquidationheatmap.archive_layout import ArchiveFile
from liquidationheatmap.checksum import checksum_line
from liquidationheatmap.datasets import get_spec

# From this date Binance labels each metrics row with the start of its 5-minute period.
METRICS_START_LABEL_FROM = date(2026, 6, 25)
COMPRESS_LEVEL = 1  # deflate, fastest level: 4x faster than 6 for ~25 % larger aggTrades zips
BOOKDEPTH_PERCENTAGES = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5)


def decimal_strings(ints: np.ndarray, decimals: int) -> pa.Array:
    """`ints / 10**decimals` printed as Python prints floats: `77000.0`, `0.037`, `1.5`."""
    values = pa.array(np.asarray(ints, dtype=np.int64))
    if decimals == 0:
        return pc.binary_join_element_wise(pc.cast(values, pa.string()), pa.scalar("0"), ".")
    unit = 10**decimals
    whole = pc.cast(pc.divide(values, unit), pa.string())  # non-negative: integer division floors
    frac = pc.utf8_lpad(
        pc.cast(pc.subtract(values, pc.multiply(pc.divide(values, unit), unit)), pa.string()), decimals, "0"
    )
    frac = pc.utf8_rtrim(frac, "0")
    frac = pc.if_else(pc.equal(pc.utf8_length(frac), 0), pa.scalar("0"), frac)
    return pc.binary_join_element_wise(whole, frac, ".")


def fixed8(ints: np.ndarray, decimals: int) -> list[str]:
    """Exact `ints / 10**decimals` with 8 decimals, as Binance prints quantities in metrics."""
    unit = 10**decimals
    pad = "0" * (8 - decimals)
    return [f"{v // unit}.{v % unit:0{decimals}d}{pad}" for v in np.asarray(ints).tolist()]


def _header(dataset: str) -> bytes:
    return (",".join(get_spec(dataset).column_names) + "\n").encode()


def _table_csv(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    return sink.getvalue()


def aggtrades_csv(
    fills: dict[str, np.ndarray], tick_decimals: int, step_decimals: int, header: bool
) -> bytes:
    table = pa.table(
        {
            "agg_trade_id": fills["agg_trade_id"],
            "price": decimal_strings(fills["price_ticks"], tick_decimals),
            "quantity": decimal_strings(fills["qty_steps"], step_decimals),
            "first_trade_id": fills["first_trade_id"],
            "last_trade_id": fills["last_trade_id"],
            "transact_time": fills["time"],
            "is_buyer_maker": fills["buyer_maker"],
        }
    )
    body = _table_csv(table) if len(fills["time"]) else b""
    return (_header("aggTrades") if header else b"") + body


MARK_PRICE_EXTRA_DECIMALS = 2  # Binance prints mark prices finer than the trade tick


def mark_price_klines_csv(day_ms: int, minute_mark: np.ndarray, tick_decimals: int) -> bytes:
    """markPriceKlines 1m: one candle per minute of the log mid (open, high, low, close), no volumes.

    Columns as Binance's klines; a mark-price file's volume, count and taker columns are 0.
    """
    decimals = tick_decimals + MARK_PRICE_EXTRA_DECIMALS
    prices = np.rint(np.exp(minute_mark) * 10**decimals).astype(np.int64)
    opens = day_ms + np.arange(len(minute_mark), dtype=np.int64) * 60_000
    zeros = pa.array(["0"] * len(minute_mark))
    table = pa.table(
        {
            "open_time": opens,
            "open": decimal_strings(prices[:, 0], decimals),
            "high": decimal_strings(prices[:, 1], decimals),
            "low": decimal_strings(prices[:, 2], decimals),
            "close": decimal_strings(prices[:, 3], decimals),
            "volume": zeros,
            "close_time": opens + 59_999,
            "quote_volume": zeros,
            "count": pa.array([0] * len(minute_mark), type=pa.int64()),
            "taker_buy_volume": zeros,
            "taker_buy_quote_volume": zeros,
            "ignore": zeros,
        }
    )
    return _header("markPriceKlines") + (_table_csv(table) if len(minute_mark) else b"")


def _text_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _ratio(num: int, den: int) -> str:
    return f"{num / den:.8f}" if den else ""


def metrics_csv(symbol: str, day: date, metrics: dict[str, np.ndarray], step_decimals: int) -> bytes:
    """288 rows; OI is the snapshot at the end of each 5-minute period, labelled as Binance did then."""
    shift = 300_000 if day >= METRICS_START_LABEL_FROM else 0
    oi = fixed8(metrics["oi_steps"], step_decimals)
    lines = [_header("metrics").decode()]
    unit = 10**step_decimals
    for i, t in enumerate(metrics["time"].tolist()):
        oi_value = int(metrics["oi_steps"][i]) / unit * float(metrics["mid"][i])
        tc, tq, tl = metrics["top_count"][i], metrics["top_qty"][i], metrics["taker_count"][i]
        lines.append(
            ",".join(
                (
                    _text_time(t - shift),
                    symbol,
                    oi[i],
                    f"{oi_value:.8f}",
                    _ratio(int(tc[0]), int(tc[1])),
                    _ratio(int(tq[0]), int(tq[1])),
                    _ratio(int(tl[0]), int(tl[1])),
                    _ratio(int(metrics["buy_steps"][i]), int(metrics["sell_steps"][i])),
                )
            )
            + "\n"
        )
    return "".join(lines).encode()


def bookdepth_csv(depth: dict[str, np.ndarray]) -> bytes:
    times = {s: _text_time(s * 1000) for s in np.unique(depth["time_s"]).tolist()}
    stamp = [times[s] for s in depth["time_s"].tolist()]
    pct = [str(int(p)) for p in depth["percentage"].tolist()]
    dep = np.char.mod("%.8f", depth["depth"]).tolist()
    notional = np.char.mod("%.8f", depth["notional"]).tolist()
    rows = [f"{a},{b},{c},{d}\n" for a, b, c, d in zip(stamp, pct, dep, notional, strict=True)]
    return _header("bookDepth") + "".join(rows).encode()


def funding_csv(rows: Iterable[tuple[int, float]]) -> bytes:
    lines = [_header("fundingRate").decode()]
    for calc_time, rate in rows:
        lines.append(f"{calc_time},8,{(rate + 0.0):.8f}\n")  # + 0.0 turns -0.0 into 0.0
    return "".join(lines).encode()


def zip_date_time(entry: ArchiveFile) -> tuple[int, int, int, int, int, int]:
    """A fixed stamp: the morning after the period ends, when Binance would publish it."""
    published = entry.last_day + timedelta(days=1)
    return (published.year, published.month, published.day, 6, 0, 0)


def zip_bytes(entry: ArchiveFile, csv: bytes) -> bytes:
    info = zipfile.ZipInfo(f"{entry.stem}.csv", date_time=zip_date_time(entry))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        archive.writestr(info, csv, compress_type=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)
    return sink.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_archive_file(out: Path, entry: ArchiveFile, csv: bytes) -> Path:
    """Write `<out>/<archive path>.zip` and its `.CHECKSUM`; returns the zip path."""
    path = out / Path(*entry.relative_path().parts)
    data = zip_bytes(entry, csv)
    write_atomic(path, data)
    write_atomic(
        path.with_name(path.name + ".CHECKSUM"),
        checksum_line(hashlib.sha256(data).hexdigest(), path.name).encode(),
    )
    return path
