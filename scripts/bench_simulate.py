"""Seconds and peak memory per simulated day at a given trade count (default 1 M trades a day).

    uv run python scripts/bench_simulate.py --trades-per-day 1000000 --days 1 2

Runs `simulate_market` once per day count into a temporary folder and prints wall seconds, seconds
per day, aggTrades rows per day and peak resident memory (sampled every 20 ms) for each run; memory
is flat in days when the 2-day peak matches the 1-day peak. The last day of a run also writes every
still-open position to the truth, so a 1-day run is the most expensive per day. Figures in
docs/benchmarks.md were taken on the shared 2-core development machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from liquidationheatmap.simulate import DEFAULT_START_DATE, simulate_market

PAGE = os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples this process's resident set size in a thread; `peak` in bytes."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * PAGE

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trades-per-day", type=int, default=1_000_000)
    parser.add_argument(
        "--days", type=int, nargs="+", default=[1, 2], help="day counts to run (default: 1 2)"
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(f"trades/day={args.trades_per_day:,} seed={args.seed} cores={os.cpu_count()}")
    header = ("days", "seconds", "s/day", "aggTrades/day", "liquidations", "peak RSS MiB")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (4, 8, 6, 14, 12, 12), strict=True)))
    for days in args.days:
        with tempfile.TemporaryDirectory(prefix="bench-simulate-") as tmp, PeakRss() as rss:
            began = time.perf_counter()
            summary = simulate_market(
                Path(tmp),
                ["BTCUSDT"],
                DEFAULT_START_DATE,
                days,
                args.trades_per_day,
                args.seed,
                show_progress=False,
            )
            seconds = time.perf_counter() - began
        trades = summary.total_rows("aggTrades") / days
        liquidations = sum(summary.truth_liquidations.values())
        print(
            f"{days:>4} {seconds:>8.1f} {seconds / days:>6.1f} {trades:>14,.0f} {liquidations:>12,} "
            f"{rss.peak / 2**20:>12.0f}"
        )


if __name__ == "__main__":
    main()
