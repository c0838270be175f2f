"""A fast synthetic lake for the build benchmark: a year of 1 M trades a day in minutes.

`scripts/bench_build.py --source synthetic` (the default when a size is 60 days or more) builds on
this lake instead of simulating a market and ingesting it: the simulator replays traders and their
positions one trade at a time, which takes hours for a year, while the build's cost depends on the
rows and their shape, not on how they were made. The lake is written directly in the ingest layout
(`<lake>/<dataset>/symbol=<SYMBOL>/date=<YYYY-MM-DD>/<stem>.parquet`, the same Parquet schemas,
zstd, row groups of 2^17 rows, about 9 bytes a trade like ingest's files of simulated trades)
with one `_manifest` run per added batch of days (`loaded`, the files' sha256, first and last
event time), so `liquidationheatmap build` sees what an ingest would have left:

- the mark price is one minute-level random walk in log price (3 % daily volatility, mean-reverting
  over weeks towards the start price, so a year stays in a plausible range); markPriceKlines are
  its 1-minute candles;
- aggTrades: `--trades-per-day` rows a day at uniform random times, priced on the walk plus a small
  spread, quantities log-normal (0.001 BTC and up), consecutive ids, taker side leaning with the move;
- metrics every 5 minutes: open interest about 1.5 days of volume on a 45-day cycle (+-30 %) with
  a small random walk within each day, the long/short ratios log-normal around 1; fundingRate
  every 8 hours around 1e-4; bookDepth every 30 s at +-1..5 %;
- truth liquidations (the `liquidations` dataset): forced orders in the minutes of the largest
  moves (longs on the way down at the candle's low, shorts on the way up at its high), about 300 a
  day, so the scoring models have a truth to score against. No truth positions: only the scoring's
  reference map reads them, and they would be the largest files of the lake (the benchmark then
  shows the reference map empty; `--source simulate` builds on the simulator's full truth).

Every day is generated from (seed, day) alone, so a pool of days in `<work>` serves every size:
the 30-day lake is the first 30 days of the 365-day one. Days are cached as files in the pool and
linked into each lake (hard links: no copy).

    uv run python scripts/synthetic_lake.py --days 30 --lake /tmp/lake
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from liquidationheatmap.ingest.manifest import ManifestRecord, new_run_id, utc_now, write_manifest

DATASETS = ("aggTrades", "metrics", "fundingRate", "bookDepth", "markPriceKlines", "liquidations")
ROW_GROUP = 1 << 17  # rows per row group, as ingest writes them
MINUTES = 1440
DAY_MS = 86_400_000
START_PRICE = 80_000.0
DAILY_VOLATILITY = 0.03
REVERSION_PER_MINUTE = 1 / (14 * MINUTES)  # pulled back towards the start price over ~2 weeks
LIQUIDATIONS_PER_DAY = 300


@dataclass(frozen=True)
class Market:
    symbol: str = "BTCUSDT"
    start: date = date(2025, 1, 1)
    trades_per_day: int = 1_000_000
    seed: int = 11


def _rng(market: Market, day: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([market.seed, day, stream])


def minute_path(market: Market, days: int) -> np.ndarray:
    """Mark price at the start of each minute of days 0..days-1, plus the close of the last minute."""
    shocks = np.concatenate([_rng(market, day, 0).standard_normal(MINUTES) for day in range(days)])
    sigma = DAILY_VOLATILITY / np.sqrt(MINUTES)
    log_price = np.empty(len(shocks) + 1)
    level = mean = np.log(START_PRICE)
    log_price[0] = level
    for index, shock in enumerate((sigma * shocks).tolist()):  # a plain loop: 0.3 s for a year
        level += shock - REVERSION_PER_MINUTE * (level - mean)
        log_price[index + 1] = level
    return np.exp(log_price)


def _day_tables(market: Market, day: int, path: np.ndarray) -> dict[str, pa.Table]:
    """The day's rows of every dataset; `path` holds its 1441 minute marks (open of each minute, close)."""
    rng = _rng(market, day, 1)
    day_ms = int(
        datetime.combine(market.start + timedelta(days=day), datetime.min.time(), UTC).timestamp() * 1000
    )
    opens, closes = path[:-1], path[1:]
    wiggle = np.abs(rng.standard_normal((2, MINUTES))) * opens * DAILY_VOLATILITY / np.sqrt(MINUTES) * 0.5
    highs = np.maximum(opens, closes) + wiggle[0]
    lows = np.minimum(opens, closes) - wiggle[1]
    minute_ms = day_ms + 60_000 * np.arange(MINUTES, dtype=np.int64)

    def constant(value: str, rows: int) -> pa.Array:
        return pa.repeat(pa.scalar(value, pa.string()), rows)

    tables: dict[str, pa.Table] = {}
    # aggTrades
    n = market.trades_per_day
    gaps = rng.exponential(1.0, n + 1)  # a Poisson process over the day (sorted without a sort)
    times = (np.cumsum(gaps)[:-1] * (DAY_MS / gaps.sum())).astype(np.int64)
    position = times / 60_000.0
    minute = np.minimum(position.astype(np.int64), MINUTES - 1)
    fraction = position - minute
    mid = opens[minute] + (closes[minute] - opens[minute]) * fraction
    spread = rng.standard_normal(n) * mid * 2e-5
    price = np.round(np.clip(mid + spread, lows[minute], highs[minute]), 1)
    quantity = np.maximum(np.round(np.exp(rng.normal(-4.5, 1.3, n)), 3), 0.001)
    rising = closes[minute] > opens[minute]
    buyer_maker = rng.random(n) < np.where(rising, 0.4, 0.6)
    fills = rng.geometric(0.6, n).astype(np.int64)
    first_id = 3 * market.trades_per_day * day + np.concatenate([[0], np.cumsum(fills)[:-1]])
    tables["aggTrades"] = pa.table(
        {
            "agg_trade_id": pa.array(market.trades_per_day * day + np.arange(n, dtype=np.int64)),
            "price": price,
            "quantity": quantity,
            "first_trade_id": first_id,
            "last_trade_id": first_id + fills - 1,
            "transact_time": day_ms + times,
            "is_buyer_maker": buyer_maker,
            "symbol": constant(market.symbol, n),
        }
    )
    # markPriceKlines, 1m
    zeros = np.zeros(MINUTES)
    tables["markPriceKlines"] = pa.table(
        {
            "open_time": minute_ms,
            "open": np.round(opens, 3),
            "high": np.round(highs, 3),
            "low": np.round(lows, 3),
            "close": np.round(closes, 3),
            "volume": zeros,
            "close_time": minute_ms + 59_999,
            "quote_volume": zeros,
            "count": np.zeros(MINUTES, np.int64),
            "taker_buy_volume": zeros,
            "taker_buy_quote_volume": zeros,
            "ignore": zeros,
            "symbol": constant(market.symbol, MINUTES),
            "interval": constant("1m", MINUTES),
        }
    )
    # metrics: rows labelled at the end of each 5-minute period (the labels before 2026-06-25).
    # Open interest: a 45-day cycle around ~1.5 days of volume, with the day's own small random
    # walk (a walk carried over from day 0 would need a year of draws for each day).
    periods = MINUTES // 5
    ends = np.arange(1, periods + 1) * 5
    level = 1.5 * market.trades_per_day * float(np.exp(-4.5 + 1.3**2 / 2))  # ~1.5 days of volume
    oi_walk = np.exp(0.3 * np.sin(2 * np.pi * (day * MINUTES + ends) / (45 * MINUTES)))
    open_interest = np.round(level * oi_walk * np.exp(rng.normal(0, 0.002, periods).cumsum()), 3)
    mark_at_end = path[ends]
    tables["metrics"] = pa.table(
        {
            "create_time": pa.array((day_ms + ends * 60_000) * 1000, pa.timestamp("us")),
            "symbol": constant(market.symbol, periods),
            "sum_open_interest": open_interest,
            "sum_open_interest_value": open_interest * mark_at_end,
            "count_toptrader_long_short_ratio": np.round(np.exp(rng.normal(0.2, 0.1, periods)), 4),
            "sum_toptrader_long_short_ratio": np.round(np.exp(rng.normal(0.1, 0.1, periods)), 8),
            "count_long_short_ratio": np.round(np.exp(rng.normal(0.15, 0.15, periods)), 8),
            "sum_taker_long_short_vol_ratio": np.round(np.exp(rng.normal(0, 0.3, periods)), 8),
        }
    )
    # fundingRate: settlements at 00, 08 and 16 UTC, a few ms past the hour
    settled = day_ms + np.array([0, 8, 16], np.int64) * 3_600_000 + rng.integers(0, 10, 3)
    tables["fundingRate"] = pa.table(
        {
            "calc_time": settled,
            "funding_interval_hours": pa.array([8, 8, 8], pa.int32()),
            "last_funding_rate": np.round(rng.normal(1e-4, 5e-5, 3), 8),
            "symbol": constant(market.symbol, 3),
        }
    )
    # bookDepth: every 30 s, +-1..5 % of the mark
    snapshots = np.arange(0, DAY_MS, 30_000, dtype=np.int64)
    percentages = np.array([-5, -4, -3, -2, -1, 1, 2, 3, 4, 5], float)
    snapshot = np.repeat(snapshots, len(percentages))
    percentage = np.tile(percentages, len(snapshots))
    mark = path[np.minimum(snapshot // 60_000, MINUTES - 1)]
    depth = np.round(np.abs(percentage) * 600 * np.exp(rng.normal(0, 0.1, len(snapshot))), 8)
    tables["bookDepth"] = pa.table(
        {
            "timestamp": pa.array((day_ms + snapshot) * 1000, pa.timestamp("us")),
            "percentage": percentage,
            "depth": depth,
            "notional": depth * mark * (1 + percentage / 200),
            "symbol": constant(market.symbol, len(snapshot)),
        }
    )
    # truth liquidations in the minutes of the largest moves
    moves = np.log(closes / opens)
    weights = np.abs(moves) ** 3
    count = rng.poisson(LIQUIDATIONS_PER_DAY)
    minutes_hit = np.sort(rng.choice(MINUTES, size=count, p=weights / weights.sum()))
    longs = moves[minutes_hit] < 0
    fill = np.where(longs, lows[minutes_hit], highs[minutes_hit]) * (1 + rng.normal(0, 2e-4, count))
    liquidated = np.maximum(np.round(np.exp(rng.normal(-4.0, 1.2, count)), 3), 0.001)
    tables["liquidations"] = pa.table(
        {
            "symbol": constant(market.symbol, count),
            "time": minute_ms[minutes_hit] + rng.integers(0, 60_000, count),
            "side": np.where(longs, "SELL", "BUY"),
            "order_type": constant("LIMIT", count),
            "time_in_force": constant("IOC", count),
            "original_quantity": liquidated,
            "price": np.round(fill * np.where(longs, 0.996, 1.004), 1),
            "average_price": np.round(fill, 1),
            "order_status": constant("FILLED", count),
            "last_fill_quantity": liquidated,
            "accumulated_fill_quantity": liquidated,
        }
    )
    return tables


def _stem(dataset: str, symbol: str, day: date) -> str:
    if dataset == "markPriceKlines":
        return f"{symbol}-1m-{day.isoformat()}"
    if dataset == "fundingRate":  # a monthly file, split by day as ingest does
        return f"{symbol}-fundingRate-{day:%Y-%m}"
    return f"{symbol}-{dataset}-{day.isoformat()}"


def _relpath(dataset: str, symbol: str, day: date) -> str:
    return f"{dataset}/symbol={symbol}/date={day.isoformat()}/{_stem(dataset, symbol, day)}.parquet"


def _time_column(dataset: str) -> str:
    return {
        "aggTrades": "transact_time",
        "metrics": "create_time",
        "fundingRate": "calc_time",
        "bookDepth": "timestamp",
        "markPriceKlines": "open_time",
        "liquidations": "time",
    }[dataset]


def ensure_pool(pool: Path, market: Market, days: int, progress=None, workers: int = 2) -> None:
    """Write days 0..days-1 of every dataset into the pool (days already there are kept), `workers`
    days at a time."""
    marker = pool / "market.txt"
    described = f"{market}\n"
    if marker.exists() and marker.read_text() != described:
        raise SystemExit(
            f"{pool} holds another synthetic market ({marker.read_text().strip()}); use another --work"
        )
    pool.mkdir(parents=True, exist_ok=True)
    marker.write_text(described)
    missing = [
        day
        for day in range(days)
        if not (pool / _relpath("aggTrades", market.symbol, market.start + timedelta(days=day))).exists()
    ]
    if not missing:
        return
    path = minute_path(market, days)
    if workers == 1:
        for done, day in enumerate(missing):
            _write_day(pool, market, day, path[day * MINUTES : (day + 1) * MINUTES + 1])
            if progress:
                progress(done + 1, len(missing))
        return
    with ProcessPoolExecutor(max_workers=workers) as executor:
        futures = [
            executor.submit(_write_day, pool, market, day, path[day * MINUTES : (day + 1) * MINUTES + 1])
            for day in missing
        ]
        for done, future in enumerate(as_completed(futures)):
            future.result()
            if progress:
                progress(done + 1, len(missing))


def _write_day(pool: Path, market: Market, day: int, path: np.ndarray) -> None:
    tables = _day_tables(market, day, path)
    the_day = market.start + timedelta(days=day)
    # aggTrades last: its file marks the day complete
    for dataset in sorted(tables, key=lambda name: name == "aggTrades"):
        target = pool / _relpath(dataset, market.symbol, the_day)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".parquet.part")
        strings = [field.name for field in tables[dataset].schema if pa.types.is_string(field.type)]
        # Dictionary pages for the text columns only: like ingest's files of the simulator's
        # trades in bytes per row (about 8), where dictionaries of random prices would double them.
        pq.write_table(
            tables[dataset], partial, compression="zstd", row_group_size=ROW_GROUP, use_dictionary=strings
        )
        os.replace(partial, target)


def add_days(pool: Path, lake: Path, market: Market, first: int, last: int) -> Path | None:
    """Link days first..last (inclusive) of the pool into the lake and log them as one ingest run."""
    run_id = new_run_id()
    records = []
    for day in range(first, last + 1):
        the_day = market.start + timedelta(days=day)
        for dataset in DATASETS:
            relative = _relpath(dataset, market.symbol, the_day)
            source, target = pool / relative, lake / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            os.link(source, target)
            metadata = pq.ParquetFile(target).metadata
            column = metadata.schema.names.index(_time_column(dataset))
            statistics = [
                metadata.row_group(g).column(column).statistics for g in range(metadata.num_row_groups)
            ]
            low = min((s.min for s in statistics if s is not None and s.has_min_max), default=None)
            high = max((s.max for s in statistics if s is not None and s.has_min_max), default=None)
            if isinstance(low, int):
                low, high = (datetime.fromtimestamp(v / 1000, UTC).replace(tzinfo=None) for v in (low, high))
            stem = _stem(dataset, market.symbol, the_day)
            if dataset == "fundingRate":
                stem = f"{market.symbol}-fundingRate-{the_day.isoformat()}"  # one manifest row per day's part
            suffix = ".csv" if dataset == "liquidations" else ".zip"
            records.append(
                ManifestRecord(
                    run_id=run_id,
                    ingested_at=utc_now(),
                    source_path=f"synthetic://{relative}",
                    file_name=stem + suffix,
                    dataset=dataset,
                    symbol=market.symbol,
                    market="um",
                    frequency="daily",
                    period=the_day.isoformat() if dataset != "fundingRate" else f"{the_day:%Y-%m}",
                    kline_interval="1m" if dataset == "markPriceKlines" else None,
                    size_bytes=target.stat().st_size,
                    sha256=hashlib.sha256(target.read_bytes()).hexdigest(),
                    checksum_verdict="unverified",
                    rows_loaded=metadata.num_rows,
                    rows_rejected=0,
                    first_event_time=low,
                    last_event_time=high,
                    status="loaded",
                    reason=None,
                    output_paths=[relative],
                )
            )
    return write_manifest(lake, run_id, records)


def build_lake(pool: Path, lake: Path, market: Market, days: int, first: int = 0) -> None:
    """A fresh lake of days first..first+days-1 (the pool must hold them)."""
    shutil.rmtree(lake, ignore_errors=True)
    add_days(pool, lake, market, first, first + days - 1)


def next_day(lake: Path, market: Market) -> int:
    """The pool day after the lake's last trade day."""
    dates = [path.name.removeprefix("date=") for path in (lake / "aggTrades").glob("symbol=*/date=*")]
    if not dates:
        raise SystemExit(f"{lake}: no aggTrades days")
    return (date.fromisoformat(max(dates)) - market.start).days + 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--lake", type=Path, required=True, help="lake folder to (re)create")
    parser.add_argument(
        "--pool", type=Path, default=None, help="cache of generated days (default <lake>.pool)"
    )
    parser.add_argument("--trades-per-day", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--symbol", default="BTCUSDT")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    args = parser.parse_args()
    market = Market(args.symbol, args.start, args.trades_per_day, args.seed)
    pool = args.pool or args.lake.with_name(args.lake.name + ".pool")
    ensure_pool(pool, market, args.days, progress=lambda done, total: print(f"\r{done}/{total} days", end=""))
    print()
    build_lake(pool, args.lake, market, args.days)
    return 0


if __name__ == "__main__":
    sys.exit(main())
