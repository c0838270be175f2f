"""Add days one at a time to a lake that `scripts/bench_build.py --source synthetic` built, and time
each incremental build: what a daily build costs once a warehouse is in its steady state.

`bench_build.py` times the first build after its full build ("+1 day"), which also pays for what
a full build leaves for the first incremental run to do; the builds after it are the daily case.
For each of the given size folders (`<work>/<N>d-<trades>-synthetic`, made by bench_build.py)
this links the pool's next day (the day after the lake's last) into its lake (`--pool`, the
`synthetic-<trades>` folder beside them; days missing there are generated) and builds, printing
per build the seconds, dbt's seconds, the CPU, the peak memory, the load average and the slowest
nodes, then a table of the means per folder against the first folder's. The folders take turns
(a day for each, then the next day for each), so that the machine's drift over the minutes falls
on every size alike. Folders made with `bench_build.py --end-day` add the same days. The per-node
results are kept beside the warehouse as `dbt_build_results.added_day_<n>.json`.

    uv run python scripts/bench_add_day.py /tmp/bench/30d-to365-1000000-synthetic \\
        /tmp/bench/90d-to365-1000000-synthetic /tmp/bench/365d-to365-1000000-synthetic --days 3

The folders are changed (their lake gains the days): use bench folders only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_build
import synthetic_lake


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "folders", nargs="+", type=Path, help="size folders made by bench_build.py --source synthetic"
    )
    parser.add_argument(
        "--days", type=int, default=1, help="days to add to each folder, one build each (default 1)"
    )
    parser.add_argument("--trades-per-day", type=int, default=1_000_000)
    parser.add_argument(
        "--pool", type=Path, default=None, help="the synthetic pool (default: beside the folders)"
    )
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.days < 1:
        parser.error("--days must be at least 1")
    args.exclude = []
    market = bench_build._synthetic_market(args)
    for folder in args.folders:
        if (
            not (folder / "lake" / "aggTrades").is_dir()
            or not (folder / "warehouse" / "liquidations.duckdb").exists()
        ):
            raise SystemExit(f"{folder}: not a folder of bench_build.py (no lake/aggTrades or warehouse)")
    # Round-robin over the folders (day 1 of each, then day 2 of each, ...): the machine's speed
    # drifts over minutes, and taking the sizes in turn spreads that drift over all of them.
    results: dict[Path, list[dict]] = {folder: [] for folder in args.folders}
    for n in range(1, args.days + 1):
        for folder in args.folders:
            lake, warehouse = folder / "lake", folder / "warehouse" / "liquidations.duckdb"
            pool = args.pool or folder.parent / f"synthetic-{args.trades_per_day}"
            day = synthetic_lake.next_day(lake, market)
            synthetic_lake.ensure_pool(pool, market, day + 1)
            synthetic_lake.add_days(pool, lake, market, day, day)
            result = bench_build._build(lake, warehouse, "", args, f"added_day_{n}")
            results[folder].append(result)
            slowest = ", ".join(f"{name} {seconds:.1f}" for name, seconds in result["slowest"][:4])
            print(
                f"{folder.name}: day {day + 1}: {result['seconds']:.1f} s (dbt {result['dbt']:.1f} s, "
                f"CPU {result['cpu_seconds']:.0f} s, peak {result['peak_mib']:,.0f} MiB, "
                f"load {result['load']:.1f}); slowest: {slowest}",
                flush=True,
            )
            print(
                json.dumps({k: result[k] for k in ("seconds", "dbt", "cpu_seconds", "node_seconds", "load")})
            )
    _summary(results)
    return 0


def _summary(results: dict[Path, list[dict]]) -> None:
    """Mean per folder, and each mean against the first folder's."""
    means = {
        folder: {k: statistics.fmean(r[k] for r in runs) for k in ("seconds", "dbt", "cpu_seconds")}
        for folder, runs in results.items()
    }
    first = means[next(iter(means))]
    print("\n| folder | builds | seconds (mean) | dbt (mean) | CPU (mean) | seconds / first | CPU / first |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for folder, mean in means.items():
        print(
            f"| {folder.name} | {len(results[folder])} | {mean['seconds']:.1f} | {mean['dbt']:.1f} | "
            f"{mean['cpu_seconds']:.1f} | {mean['seconds'] / first['seconds']:.2f} | "
            f"{mean['cpu_seconds'] / first['cpu_seconds']:.2f} |"
        )


if __name__ == "__main__":
    sys.exit(main())
