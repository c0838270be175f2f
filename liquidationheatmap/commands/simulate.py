"""`liquidationheatmap simulate`: write a simulated market in Binance's archive format, with truth."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from liquidationheatmap.settings import get_settings
from liquidationheatmap.simulate import (
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEFAULT_START_DATE,
    DEFAULT_TRADES_PER_DAY,
    SYMBOLS,
    simulate_market,
)

HELP = "simulate a perpetual futures market: Binance archive files plus the true positions and liquidations"
DESCRIPTION = f"""\
Simulate an agent-based perpetual futures market and write, under --out, exactly the files of
Binance's public archive (data/futures/um/...: daily aggTrades, metrics and bookDepth, monthly
fundingRate, each a zip with its .CHECKSUM) and beside them the ground truth:
truth/positions/<SYMBOL>/ (every position: entry, leverage, margin, liquidation price, how it closed)
and truth/liquidations/<SYMBOL>/ (every forced liquidation, in Binance's liquidation-order layout).

Traders open leveraged positions and close them after varied holding times, market makers take the
other side, order flow moves price, and positions whose liquidation price is reached are closed by
market orders that move price further. The model is described in docs/simulator.md.
The same arguments always write byte-identical files.

Symbols: {", ".join(SYMBOLS)}.

Example:
  liquidationheatmap simulate --symbol BTCUSDT --start-date 2026-10-01 --days 7 --seed 42
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--symbol",
        dest="symbols",
        nargs="+",
        action="extend",
        metavar="SYMBOL",
        help="symbols to simulate, each its own market (default: BTCUSDT)",
    )
    parser.add_argument(
        "--start-date",
        type=date.fromisoformat,
        default=DEFAULT_START_DATE,
        help=f"first simulated UTC day, YYYY-MM-DD (default: {DEFAULT_START_DATE})",
    )
    parser.add_argument(
        "--days", type=int, default=DEFAULT_DAYS, help=f"number of days (default: {DEFAULT_DAYS})"
    )
    parser.add_argument(
        "--trades-per-day",
        type=int,
        default=DEFAULT_TRADES_PER_DAY,
        help=f"expected aggTrades rows per day and symbol (default: {DEFAULT_TRADES_PER_DAY:,}); "
        "the realised count follows the market's activity",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the archive mirror and truth/ (default: BINANCE_DATA_PATH, data/raw)",
    )
    parser.add_argument(
        "--legacy-headerless",
        action="store_true",
        help="write aggTrades without a header row, as Binance did up to 2022-08-10",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    out = args.out if args.out is not None else get_settings().binance_data_path
    if args.days <= 0:
        print("simulate: --days must be at least 1")
        return 2
    if args.trades_per_day <= 0:
        print("simulate: --trades-per-day must be positive")
        return 2
    symbols = args.symbols or ["BTCUSDT"]
    unknown = [s for s in symbols if s not in SYMBOLS]
    if unknown:
        print(f"simulate: cannot simulate {', '.join(unknown)}; known symbols: {', '.join(SYMBOLS)}")
        return 2
    summary = simulate_market(
        out,
        symbols,
        start_date=args.start_date,
        days=args.days,
        trades_per_day=args.trades_per_day,
        seed=args.seed,
        legacy_headerless=args.legacy_headerless,
        show_progress=not args.no_progress,
    )
    for sym in symbols:
        rows = {dataset: summary.rows[dataset][sym] for dataset in summary.rows}
        print(
            f"{sym}: {rows['aggTrades']:,} aggTrades, {rows['metrics']:,} metrics rows, "
            f"{rows['bookDepth']:,} bookDepth rows, {rows['fundingRate']} funding rates, "
            f"{summary.truth_positions[sym]:,} positions, {summary.truth_liquidations[sym]:,} liquidations"
        )
    print(f"wrote {out} in {summary.seconds:.1f} s")
    return 0
