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
    MarketKnobs,
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

Knobs make markets unlike the default one, so models can be judged on markets they were not shaped
on (docs/simulator.md, "Knobs"); at their defaults the market is the default one, byte for byte:
  --taker-leverage-median X  median of the takers' leverage law (default about 6.1x)
  --holding-time-scale X     multiplies the takers' holding times (default 1)
  --volatility-scale X       multiplies the news part of the price moves (default 1)
  --drift-per-day X          log drift of the price per day, e.g. 0.01 = about +1 %/day (default 0)
  --maker-share X            share of openings whose other side is a low-leverage market maker
                             rather than another taker, 0-1 (default 1: every opening meets a maker)

Symbols: {", ".join(SYMBOLS)}.

Example:
  liquidationheatmap simulate --symbol BTCUSDT --start-date 2026-10-01 --days 7 --seed 42
  liquidationheatmap simulate --days 14 --taker-leverage-median 20 --maker-share 0.5 --out /tmp/m2
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
    knobs = parser.add_argument_group("market knobs (defaults give the default market, byte for byte)")
    knobs.add_argument(
        "--taker-leverage-median",
        type=float,
        default=None,
        metavar="X",
        help="median of the takers' leverage law (before bracket caps), between 2 and 63.5 "
        "(default: 6.1x, the law's own)",
    )
    knobs.add_argument(
        "--holding-time-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="multiply the takers' holding times (median 90 min, cap 14 days) by X (default 1)",
    )
    knobs.add_argument(
        "--volatility-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="multiply the news part of the price moves by X (default 1)",
    )
    knobs.add_argument(
        "--drift-per-day",
        type=float,
        default=0.0,
        metavar="X",
        help="log drift of the price per day, e.g. -0.02 = about -2 %% a day (default 0)",
    )
    knobs.add_argument(
        "--maker-share",
        type=float,
        default=1.0,
        metavar="X",
        help="share 0-1 of openings whose other side is a low-leverage market maker rather than "
        "another taker (default 1: every opening meets a maker)",
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
    knobs = MarketKnobs(
        taker_leverage_median=args.taker_leverage_median,
        holding_time_scale=args.holding_time_scale,
        volatility_scale=args.volatility_scale,
        drift_per_day=args.drift_per_day,
        maker_share=args.maker_share,
    )
    try:
        knobs.check()
    except ValueError as error:
        print(f"simulate: {error}")
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
        knobs=knobs,
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
