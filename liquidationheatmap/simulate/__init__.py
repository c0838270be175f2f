"""Agent-based perpetual futures market that writes Binance's archive files and the ground truth.

    from liquidationheatmap.simulate import simulate_market
    summary = simulate_market(Path("data/raw"), ["BTCUSDT"], date(2026, 10, 1), days=7)

Writes under `out` the archive layout (`data/futures/um/...` zips + `.CHECKSUM`) of aggTrades,
metrics and bookDepth (daily) and fundingRate (monthly), and `truth/` beside it. The model is
described in docs/simulator.md. Days are simulated one after another and written while the next
one runs, so memory stays flat in the number of days.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from liquidationheatmap.archive_layout import ArchiveFile
from liquidationheatmap.logs import step_logger
from liquidationheatmap.simulate.market import SYMBOLS, DayResult, MarketParams, MarketSimulator, symbol_spec
from liquidationheatmap.simulate.traders import TraderParams, lomax_scale_for_median, max_leverage_median
from liquidationheatmap.simulate.truth import liquidations_csv, positions_csv, write_truth
from liquidationheatmap.simulate.writers import (
    aggtrades_csv,
    bookdepth_csv,
    funding_csv,
    mark_price_klines_csv,
    metrics_csv,
    write_archive_file,
)

DEFAULT_START_DATE = date(2026, 10, 1)
DEFAULT_DAYS = 7
DEFAULT_TRADES_PER_DAY = 200_000
DEFAULT_SEED = 42

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_SEED",
    "DEFAULT_START_DATE",
    "DEFAULT_TRADES_PER_DAY",
    "SYMBOLS",
    "MarketKnobs",
    "MarketParams",
    "SimulationSummary",
    "TraderParams",
    "simulate_market",
]


@dataclass(frozen=True)
class MarketKnobs:
    """Settings that make a market unlike the default one (docs/simulator.md, "Knobs").

    The defaults leave MarketParams and TraderParams untouched, so the default market is written
    byte for byte as without knobs.
    """

    taker_leverage_median: float | None = None  # median of the taker leverage law (default 6.1x)
    holding_time_scale: float = 1.0  # multiplies the takers' holding times (median and cap)
    volatility_scale: float = 1.0  # multiplies the news part of the price moves
    drift_per_day: float = 0.0  # log drift of the price per day
    maker_share: float = 1.0  # share of openings whose other side is a market maker

    def check(self) -> None:
        problems = []
        law = TraderParams()
        if self.taker_leverage_median is not None and not (
            law.lev_min < self.taker_leverage_median < max_leverage_median(law)
        ):
            problems.append(
                f"taker leverage median must be above {law.lev_min:g} and below {max_leverage_median(law):g}"
            )
        if not self.holding_time_scale > 0:
            problems.append("holding-time scale must be positive")
        if not self.volatility_scale > 0:
            problems.append("volatility scale must be positive")
        if not 0.0 <= self.maker_share <= 1.0:
            problems.append("maker share must be between 0 and 1")
        if problems:
            raise ValueError("; ".join(problems))

    def apply(
        self, params: MarketParams | None = None, traders: TraderParams | None = None
    ) -> tuple[MarketParams, TraderParams]:
        """MarketParams and TraderParams with the knobs applied (unchanged fields where a knob is at
        its default)."""
        self.check()
        params = params or MarketParams()
        traders = traders or TraderParams()
        market_changes: dict[str, float] = {}
        trader_changes: dict[str, float] = {}
        if self.volatility_scale != 1.0:
            market_changes["minute_vol"] = params.minute_vol * self.volatility_scale
        if self.drift_per_day != 0.0:
            market_changes["drift_per_day"] = self.drift_per_day
        if self.taker_leverage_median is not None:
            trader_changes["lev_scale"] = lomax_scale_for_median(self.taker_leverage_median, traders)
        if self.holding_time_scale != 1.0:
            trader_changes["hold_median_s"] = traders.hold_median_s * self.holding_time_scale
            trader_changes["hold_max_s"] = traders.hold_max_s * self.holding_time_scale
        if self.maker_share != 1.0:
            trader_changes["maker_share"] = self.maker_share
        return replace(params, **market_changes), replace(traders, **trader_changes)


@dataclass
class SimulationSummary:
    """What a run wrote: rows and files per dataset and symbol, and the truth counts."""

    out: Path
    symbols: list[str]
    start_date: date
    days: int
    trades_per_day: int
    seed: int
    rows: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    files: dict[str, dict[str, list[Path]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    truth_liquidations: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    truth_positions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    truth_files: dict[str, list[Path]] = field(default_factory=lambda: defaultdict(list))
    seconds: float = 0.0

    def total_rows(self, dataset: str) -> int:
        return sum(self.rows[dataset].values())


def _write_day(out: Path, result: DayResult, legacy_headerless: bool, summary: SimulationSummary) -> None:
    spec = symbol_spec(result.symbol)
    sym, day = result.symbol, result.day
    daily = [
        (
            "aggTrades",
            aggtrades_csv(result.fills, spec.tick_decimals, spec.step_decimals, not legacy_headerless),
            len(result.fills["time"]),
        ),
        ("metrics", metrics_csv(sym, day, result.metrics, spec.step_decimals), len(result.metrics["time"])),
        ("bookDepth", bookdepth_csv(result.depth), len(result.depth["time_s"])),
    ]
    for dataset, csv, rows in daily:
        entry = ArchiveFile(dataset, sym, "daily", day.isoformat())
        summary.files[dataset][sym].append(write_archive_file(out, entry, csv))
        summary.rows[dataset][sym] += rows
    day_ms = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    mark = ArchiveFile("markPriceKlines", sym, "daily", day.isoformat(), interval="1m")
    marks = mark_price_klines_csv(day_ms, result.minute_mark, spec.tick_decimals)
    summary.files["markPriceKlines"][sym].append(write_archive_file(out, mark, marks))
    summary.rows["markPriceKlines"][sym] += len(result.minute_mark)
    liq_path, pos_path = write_truth(
        out,
        sym,
        day,
        liquidations_csv(sym, result.liquidations, spec.tick_decimals, spec.step_decimals),
        positions_csv(sym, result.positions, spec.step_decimals),
    )
    summary.truth_liquidations[sym] += len(result.liquidations["time"])
    summary.truth_positions[sym] += len(result.positions["pid"])
    summary.truth_files[sym].extend([liq_path, pos_path])


def _write_funding(
    out: Path, symbol: str, month: str, rows: list[tuple[int, float]], summary: SimulationSummary
) -> None:
    entry = ArchiveFile("fundingRate", symbol, "monthly", month)
    summary.files["fundingRate"][symbol].append(write_archive_file(out, entry, funding_csv(rows)))
    summary.rows["fundingRate"][symbol] += len(rows)


def simulate_market(
    out: Path,
    symbols: list[str] | None = None,
    start_date: date = DEFAULT_START_DATE,
    days: int = DEFAULT_DAYS,
    trades_per_day: int = DEFAULT_TRADES_PER_DAY,
    seed: int = DEFAULT_SEED,
    legacy_headerless: bool = False,
    show_progress: bool = True,
    params: MarketParams | None = None,
    traders: TraderParams | None = None,
    knobs: MarketKnobs | None = None,
) -> SimulationSummary:
    """Simulate `days` days of each symbol from `start_date` and write the archive and truth under `out`.

    `trades_per_day` is the expected number of aggTrades rows a day (the realised count varies with
    the market's activity). `knobs` change the market (MarketKnobs); without them, or at their
    defaults, it is the default market. The same arguments write byte-identical files.
    """
    if knobs is not None:
        params, traders = knobs.apply(params, traders)
    symbols = list(symbols or ["BTCUSDT"])
    for sym in symbols:
        symbol_spec(sym)  # unknown symbols fail before anything is written
    if days <= 0:
        raise ValueError("days must be positive")
    out = Path(out)
    summary = SimulationSummary(out, symbols, start_date, days, trades_per_day, seed)
    began = time.perf_counter()
    progress = Progress(
        TextColumn("simulate {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeElapsedColumn(),
        disable=not show_progress,
    )
    with progress, ThreadPoolExecutor(max_workers=1, thread_name_prefix="simulate-writer") as pool:
        for sym in symbols:
            log = step_logger(__name__, "simulate", sym)
            task = progress.add_task(sym, total=days)
            market = MarketSimulator(sym, start_date, trades_per_day, seed, params, traders)
            funding: list[tuple[int, float]] = []
            pending: Future | None = None
            for i in range(days):
                day = start_date + timedelta(days=i)
                last = i == days - 1
                result = market.run_day(last_day=last)
                if pending is not None:
                    pending.result()  # at most one day waits to be written: memory stays flat
                funding.extend(result.funding)
                month_ends = last or (day + timedelta(days=1)).month != day.month
                rows, month = (list(funding), day.strftime("%Y-%m")) if month_ends else (None, None)
                if month_ends:
                    funding = []

                def write(result: DayResult = result, rows=rows, month=month, sym: str = sym) -> None:
                    _write_day(out, result, legacy_headerless, summary)
                    if rows is not None:
                        _write_funding(out, sym, month, rows, summary)

                pending = pool.submit(write)
                log.info(
                    "simulated %s: %d aggTrades, %d liquidations",
                    day,
                    len(result.fills["time"]),
                    len(result.liquidations["time"]),
                )
                progress.advance(task)
            if pending is not None:
                pending.result()
    summary.seconds = time.perf_counter() - began
    logging.getLogger(__name__).info("simulation wrote %s in %.1f s", out, summary.seconds)
    return summary
