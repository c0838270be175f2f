"""Wall time and peak memory of `liquidationheatmap build` at 1, 7 and 30 simulated days.

For each size: simulate N days of BTCUSDT at --trades-per-day (default 1,000,000), ingest them,
run a full build into a fresh warehouse, then ingest one more day and build incrementally, then
build once more with nothing new (the cost of any build before its first new row). Each
build runs in a child process, which reports its own peak resident memory (ru_maxrss: Python, dbt
and DuckDB together); the warehouse folder's size is sampled during each build (its peak is the
disk a build needs beside the lake). Simulated data are cached in --work; the builds score against the
simulation's own truth (`<work>/<size>/archive/truth`), as `liquidationheatmap demo` does.
A second table sums the time of every node as dbt reports it: what the models and tests cost
without the imports, dbt's start-up and its scheduling around them (scripts/bench_dbt_floor.py
times those on a project of trivial nodes).

    uv run python scripts/bench_build.py --days 1 7 30 --memory-limit 4GB

Figures depend on the machine; the project's figures were taken on the shared 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

START = date(2025, 1, 1)

CHILD = """
import json, resource, sys, time
from pathlib import Path
from liquidationheatmap.dbt_runner import build_warehouse
lake, warehouse, truth, memory_limit, threads, exclude = sys.argv[1:7]
began = time.perf_counter()
outcome = build_warehouse(Path(lake), Path(warehouse), truth=Path(truth), memory_limit=memory_limit,
                          threads=int(threads), exclude=json.loads(exclude) or None)
slowest = sorted(outcome.nodes, key=lambda n: -n.seconds)[:5]
print(json.dumps({"ok": outcome.success, "seconds": time.perf_counter() - began, "dbt": outcome.seconds,
                  "nodes": len(outcome.nodes), "node_seconds": sum(n.seconds for n in outcome.nodes),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "publish_seconds": outcome.publication.seconds if outcome.publication else 0.0,
                  "publish_written": len(getattr(outcome.publication, "written", ())),
                  "slowest": [[n.name, round(n.seconds, 2)] for n in slowest]}))
"""


def _simulate(archive: Path, days: int, trades_per_day: int) -> None:
    from liquidationheatmap.simulate import simulate_market

    marker = archive / f".simulated-{days}-{trades_per_day}"
    if marker.exists():
        return
    simulate_market(archive, ["BTCUSDT"], START, days, trades_per_day, seed=11, show_progress=False)
    marker.touch()


def _ingest(archive: Path, lake: Path, start: date, end: date) -> None:
    from liquidationheatmap.ingest import ingest_archive

    source = archive / "data" if (archive / "data").is_dir() else archive
    ingest_archive(source, lake, start_date=start, end_date=end, show_progress=False)


def _folder_bytes(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # replaced or removed while we looked
                total += os.stat(os.path.join(root, name)).st_size
    return total


def _build(lake: Path, warehouse: Path, truth: Path, args: argparse.Namespace) -> dict:
    # The warehouse folder's size is sampled while the build runs: its peak is the disk the build
    # needs on top of the lake (working files, copies, the published warehouse).
    peak, running = [_folder_bytes(warehouse.parent)], threading.Event()
    running.set()

    def sample() -> None:
        while running.is_set():
            peak.append(_folder_bytes(warehouse.parent))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(lake),
            str(warehouse),
            str(truth),
            args.memory_limit,
            str(args.threads),
            json.dumps(args.exclude),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    running.clear()
    sampler.join()
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        raise SystemExit(f"build failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    result = json.loads(lines[-1])
    if not result["ok"]:
        results = warehouse.with_name("dbt_build_results.json")
        raise SystemExit(f"build of {lake} failed; see {results}")
    result["disk_peak_mib"] = max(peak) / 2**20
    result["disk_after_mib"] = _folder_bytes(warehouse.parent) / 2**20
    # The served warehouse file plus the Parquet files beside it (`<stem>.serving/`, docs/build.md).
    serving = warehouse.with_name(f"{warehouse.stem}.serving")
    result["served_mib"] = (warehouse.stat().st_size + _folder_bytes(serving)) / 2**20
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, nargs="+", default=[1, 7, 30])
    parser.add_argument("--trades-per-day", type=int, default=1_000_000)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("data/bench_build"))
    parser.add_argument(
        "--exclude",
        nargs="+",
        default=[],
        help="dbt --exclude selectors, to time a part of the project (for example the model scoring: "
        "path:models/marts/scoring path:models/marts/ensemble path:models/marts/zones "
        "path:models/intermediate/scoring path:models/staging/truth)",
    )
    args = parser.parse_args()
    rows = []
    for days in sorted(args.days):
        root = args.work / f"{days}d-{args.trades_per_day}"
        archive, lake = root / "archive", root / "lake"
        warehouse = root / "warehouse" / "liquidations.duckdb"
        began = time.perf_counter()
        _simulate(archive, days + 1, args.trades_per_day)
        shutil.rmtree(lake, ignore_errors=True)
        shutil.rmtree(warehouse.parent, ignore_errors=True)
        last = START + timedelta(days=days - 1)
        _ingest(archive, lake, START, last)
        prepared = time.perf_counter() - began
        truth = archive / "truth"  # the simulation's own truth, as `liquidationheatmap demo` scores against
        full = _build(lake, warehouse, truth, args)
        _ingest(archive, lake, last + timedelta(days=1), last + timedelta(days=1))
        incremental = _build(lake, warehouse, truth, args)
        # The same build again with nothing new: what any build costs (dbt itself, every node's
        # overhead, the models and tests over the whole history) before a single new row.
        unchanged = _build(lake, warehouse, truth, args)
        rows.append((days, full, incremental, unchanged))
        print(
            f"{days:>3} days: full build {full['seconds']:6.1f} s (peak {full['peak_mib']:,.0f} MiB), "
            f"+1 day incremental {incremental['seconds']:6.1f} s "
            f"({100 * incremental['seconds'] / full['seconds']:.0f} % of full); "
            f"simulate+ingest {prepared:.0f} s; {full['nodes']} dbt nodes\n"
            f"      full: dbt {full['dbt']:.1f} s, slowest {full['slowest'][:4]}\n"
            f"      incremental: dbt {incremental['dbt']:.1f} s, "
            f"peak {incremental['peak_mib']:,.0f} MiB, slowest {incremental['slowest'][:4]}\n"
            f"      nothing new: {unchanged['seconds']:.1f} s (dbt {unchanged['dbt']:.1f} s), "
            f"slowest {unchanged['slowest'][:4]}\n"
            f"      publishing the served marts: full {full['publish_seconds']:.1f} s, "
            f"+1 day {incremental['publish_seconds']:.1f} s "
            f"({incremental['publish_written']} Parquet files written), "
            f"nothing new {unchanged['publish_seconds']:.1f} s "
            f"({unchanged['publish_written']} written)\n"
            f"      disk (warehouse folder): after the full build {full['disk_after_mib']:,.0f} MiB "
            f"(served file {full['served_mib']:,.0f} MiB), peak during +1 day "
            f"{incremental['disk_peak_mib']:,.0f} MiB, "
            f"during nothing new {unchanged['disk_peak_mib']:,.0f} MiB",
            flush=True,
        )
    print(
        "\n| days | trades/day | full build (s) | peak RSS (MiB) | +1 day incremental (s) "
        "| peak RSS (MiB) | incremental / full | rebuild, nothing new (s) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for days, full, incremental, unchanged in rows:
        print(
            f"| {days} | {args.trades_per_day:,} | {full['seconds']:.1f} | {full['peak_mib']:,.0f} | "
            f"{incremental['seconds']:.1f} | {incremental['peak_mib']:,.0f} | "
            f"{100 * incremental['seconds'] / full['seconds']:.0f} % | {unchanged['seconds']:.1f} |"
        )
    # What the nodes themselves took (each node's time as dbt reports it, summed over both threads):
    # the work of the models and tests, without the Python and dbt start-up and scheduling around them.
    print("\n| days | node time, full build (s) | node time, +1 day (s) | +1 day / full |")
    print("|---:|---:|---:|---:|")
    for days, full, incremental, _ in rows:
        ratio = 100 * incremental["node_seconds"] / full["node_seconds"]
        print(f"| {days} | {full['node_seconds']:.1f} | {incremental['node_seconds']:.1f} | {ratio:.0f} % |")
    # Publishing (liquidationheatmap/publish.py): part of each build's time above.
    print(
        "\n| days | publish, full (s) | publish, +1 day (s) | Parquet files written | "
        "publish, nothing new (s) | Parquet files written |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for days, full, incremental, unchanged in rows:
        print(
            f"| {days} | {full['publish_seconds']:.1f} | {incremental['publish_seconds']:.1f} | "
            f"{incremental['publish_written']} | {unchanged['publish_seconds']:.1f} | "
            f"{unchanged['publish_written']} |"
        )
    # Disk: the warehouse folder (everything the build keeps beside the lake), sampled every 0.2 s.
    print(
        "\n| days | served (file + Parquet, MiB) | folder after build (MiB) | peak during full (MiB) "
        "| peak during +1 day (MiB) | peak during nothing new (MiB) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for days, full, incremental, unchanged in rows:
        print(
            f"| {days} | {full['served_mib']:,.0f} | {full['disk_after_mib']:,.0f} | "
            f"{full['disk_peak_mib']:,.0f} | {incremental['disk_peak_mib']:,.0f} | "
            f"{unchanged['disk_peak_mib']:,.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
