"""Wall time, peak memory and disk of `liquidationheatmap build` at 1, 7 and 30 days (or 30 90 365).

For each size: make a lake of N days of BTCUSDT at --trades-per-day (default 1,000,000), run a full
build into a fresh warehouse, then add one more day and build incrementally, then build once more
with nothing new (the cost of any build before its first new row).

Two sources of lake (--source):
  simulate   the market simulator, its archive ingested (truth positions and liquidations too);
             hours for a year of 1 M trades a day, so the default only below 60 days;
  synthetic  scripts/synthetic_lake.py writes the lake directly in the ingest layout with its
             manifest: a random-walk mark price, trades, metrics, funding, book depth and truth
             liquidations, no truth positions (see that script); a few seconds a day. The default
             when any size is 60 days or more, so that every size of one run has the same source.
With --end-day E (synthetic only) every size's lake is the N days before day E of the pool and the
added day is day E for every size: the same new data on histories of different length, which is
what "a build's cost follows the new data, not the history" asks. Without it a size's lake starts
at day 0, so each size adds a different market day (its own price range, open interest and number
of live price bins), which mixes the market's drift into the comparison.
Each build runs in a child process, which reports its own peak resident memory (ru_maxrss: Python,
dbt and DuckDB together) and CPU time (user + system, every thread: on a shared machine, where the
wall time follows the other work, the CPU time is the build's own cost); the warehouse folder's
size is sampled during each build (its peak is the disk a build needs beside the lake). Simulated
and synthetic days are cached in --work; the builds score against the lake's truth (the
simulation's own, `<work>/<size>/archive/truth`, as `liquidationheatmap
demo` does, or the synthetic liquidations).
A second table sums the time of every node as dbt reports it: what the models and tests cost
without the imports, dbt's start-up and its scheduling around them (scripts/bench_dbt_floor.py
times those on a project of trivial nodes).

    uv run python scripts/bench_build.py --days 1 7 30 --memory-limit 4GB
    uv run python scripts/bench_build.py --days 30 90 365 --memory-limit 4GB --work /tmp/bench
    uv run python scripts/bench_build.py --days 30 90 365 --end-day 365 --memory-limit 4GB --work /tmp/bench

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
outcome = build_warehouse(Path(lake), Path(warehouse), truth=Path(truth) if truth else None,
                          memory_limit=memory_limit, threads=int(threads),
                          exclude=json.loads(exclude) or None)
slowest = sorted(outcome.nodes, key=lambda n: -n.seconds)[:8]
print(json.dumps({"ok": outcome.success, "seconds": time.perf_counter() - began, "dbt": outcome.seconds,
                  "nodes": len(outcome.nodes), "node_seconds": sum(n.seconds for n in outcome.nodes),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "cpu_seconds": resource.getrusage(resource.RUSAGE_SELF).ru_utime
                  + resource.getrusage(resource.RUSAGE_SELF).ru_stime,
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


def _synthetic_market(args: argparse.Namespace):
    from synthetic_lake import Market

    return Market("BTCUSDT", START, args.trades_per_day, seed=11)


def _folder_bytes(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # replaced or removed while we looked
                total += os.stat(os.path.join(root, name)).st_size
    return total


def _temp_peaks(results: Path, samples: list[tuple[float, int]], top: int = 4) -> list[list]:
    """The nodes with the largest temporary folder seen while they ran: [[node, MiB], ...].

    Two threads run two nodes at once, so a peak is named against each node running then.
    """
    from datetime import datetime

    if not results.exists() or not samples:
        return []
    peaks = {}
    for node in json.loads(results.read_text()).get("results", []):
        timing = [t for t in node.get("timing", []) if t.get("name") == "execute" and t.get("started_at")]
        if not timing:
            continue
        began, ended = (
            datetime.fromisoformat(timing[0][key].replace("Z", "+00:00")).timestamp()
            for key in ("started_at", "completed_at")
        )
        seen = [b for t, b in samples if began <= t <= ended]
        if seen:
            peaks[node["unique_id"].split(".")[-1]] = max(seen) / 2**20
    return [[name, round(mib)] for name, mib in sorted(peaks.items(), key=lambda kv: -kv[1])[:top]]


def _build(lake: Path, warehouse: Path, truth: str, args: argparse.Namespace, step: str) -> dict:
    # The warehouse folder's size is sampled while the build runs: its peak is the disk the build
    # needs on top of the lake (working files, copies, the published warehouse).
    peak, running = [_folder_bytes(warehouse.parent)], threading.Event()
    running.set()
    # DuckDB's temporary folder (spill) beside the working database, sampled with the time, so that
    # its peaks can be laid against the nodes dbt ran then (_temp_peaks).
    temp = warehouse.with_name(f"{warehouse.stem}.working{warehouse.suffix}.tmp")
    temp_samples: list[tuple[float, int]] = []

    def sample() -> None:
        while running.is_set():
            peak.append(_folder_bytes(warehouse.parent))
            temp_samples.append((time.time(), _folder_bytes(temp) if temp.is_dir() else 0))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    load_before = os.getloadavg()[0]
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
    # Each step's per-node results are kept beside the warehouse (the build overwrites its own).
    results = warehouse.with_name("dbt_build_results.json")
    if results.exists():
        shutil.copyfile(results, warehouse.with_name(f"dbt_build_results.{step}.json"))
    result["temp_peak_mib"] = max((b for _, b in temp_samples), default=0) / 2**20
    result["temp_nodes"] = _temp_peaks(results, temp_samples)
    result["load"] = (load_before + os.getloadavg()[0]) / 2  # 1-minute load average, before and after
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
    parser.add_argument(
        "--source",
        choices=["simulate", "synthetic"],
        default=None,
        help="where the lake comes from (see above; default synthetic when any size is >= 60 days)",
    )
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("data/bench_build"))
    parser.add_argument(
        "--end-day",
        type=int,
        default=None,
        help="synthetic only: every size's lake ends before this day of the pool and adds this day "
        "(at least the largest size; see above)",
    )
    parser.add_argument(
        "--exclude",
        nargs="+",
        default=[],
        help="dbt --exclude selectors, to time a part of the project (for example the model scoring: "
        "path:models/marts/scoring path:models/marts/ensemble path:models/marts/zones "
        "path:models/intermediate/scoring path:models/staging/truth)",
    )
    args = parser.parse_args()
    source = args.source or ("synthetic" if max(args.days) >= 60 else "simulate")
    if args.end_day is not None and (source != "synthetic" or args.end_day < max(args.days)):
        parser.error("--end-day needs --source synthetic and at least the largest of --days")
    rows = []
    for days in sorted(args.days):
        began = time.perf_counter()
        if source == "synthetic":
            import synthetic_lake

            market = _synthetic_market(args)
            pool = args.work / f"synthetic-{args.trades_per_day}"
            end = days if args.end_day is None else args.end_day
            ending = "" if args.end_day is None else f"-to{end}"
            root = args.work / f"{days}d{ending}-{args.trades_per_day}-synthetic"
            lake, truth = root / "lake", ""  # the truth liquidations are in the lake already
            warehouse = root / "warehouse" / "liquidations.duckdb"
            synthetic_lake.ensure_pool(
                pool,
                market,
                end + 1,
                progress=lambda done, total: print(
                    f"\rgenerating synthetic days {done}/{total}", end="", flush=True
                ),
            )
            shutil.rmtree(warehouse.parent, ignore_errors=True)
            synthetic_lake.build_lake(pool, lake, market, days, first=end - days)
            prepared = time.perf_counter() - began
            full = _build(lake, warehouse, truth, args, "full")
            synthetic_lake.add_days(pool, lake, market, end, end)
        else:
            root = args.work / f"{days}d-{args.trades_per_day}"
            archive, lake = root / "archive", root / "lake"
            warehouse = root / "warehouse" / "liquidations.duckdb"
            _simulate(archive, days + 1, args.trades_per_day)
            shutil.rmtree(lake, ignore_errors=True)
            shutil.rmtree(warehouse.parent, ignore_errors=True)
            last = START + timedelta(days=days - 1)
            _ingest(archive, lake, START, last)
            prepared = time.perf_counter() - began
            truth = str(
                archive / "truth"
            )  # the simulation's own truth, as `liquidationheatmap demo` scores against
            full = _build(lake, warehouse, truth, args, "full")
            _ingest(archive, lake, last + timedelta(days=1), last + timedelta(days=1))
        incremental = _build(lake, warehouse, truth, args, "plus_one_day")
        # The same build again with nothing new: what any build costs (dbt itself, every node's
        # overhead, the models and tests over the whole history) before a single new row.
        unchanged = _build(lake, warehouse, truth, args, "nothing_new")
        lake_mib = _folder_bytes(lake) / 2**20
        for result in (full, incremental, unchanged):
            result["lake_mib"] = lake_mib
        rows.append((days, full, incremental, unchanged))
        print(
            f"{days:>3} days: full build {full['seconds']:6.1f} s (peak {full['peak_mib']:,.0f} MiB), "
            f"+1 day incremental {incremental['seconds']:6.1f} s "
            f"({100 * incremental['seconds'] / full['seconds']:.0f} % of full); "
            f"{source} lake {prepared:.0f} s ({lake_mib:,.0f} MiB); {full['nodes']} dbt nodes; "
            f"load average {full['load']:.1f} / {incremental['load']:.1f} / {unchanged['load']:.1f}\n"
            f"      full: dbt {full['dbt']:.1f} s, CPU {full['cpu_seconds']:.0f} s, "
            f"slowest {full['slowest'][:4]}\n"
            f"      incremental: dbt {incremental['dbt']:.1f} s, "
            f"peak {incremental['peak_mib']:,.0f} MiB, CPU {incremental['cpu_seconds']:.0f} s, "
            f"slowest {incremental['slowest'][:4]}\n"
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
            f"during nothing new {unchanged['disk_peak_mib']:,.0f} MiB\n"
            f"      DuckDB's temporary folder: peak during full {full['temp_peak_mib']:,.0f} MiB "
            f"(nodes running then, MiB: {full['temp_nodes']}), "
            f"during +1 day {incremental['temp_peak_mib']:,.0f} MiB ({incremental['temp_nodes']})",
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
        "\n| days | lake (MiB) | served (file + Parquet, MiB) | folder after build (MiB) "
        "| peak during full (MiB) | peak during +1 day (MiB) | peak during nothing new (MiB) "
        "| largest peak / lake |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for days, full, incremental, unchanged in rows:
        largest = max(full["disk_peak_mib"], incremental["disk_peak_mib"], unchanged["disk_peak_mib"])
        print(
            f"| {days} | {full['lake_mib']:,.0f} | {full['served_mib']:,.0f} | "
            f"{full['disk_after_mib']:,.0f} | "
            f"{full['disk_peak_mib']:,.0f} | {incremental['disk_peak_mib']:,.0f} | "
            f"{unchanged['disk_peak_mib']:,.0f} | {largest / full['lake_mib']:.2f} |"
        )
    print("\n| days | load average (full / +1 day / nothing new) |")
    print("|---:|---|")
    for days, full, incremental, unchanged in rows:
        print(f"| {days} | {full['load']:.1f} / {incremental['load']:.1f} / {unchanged['load']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
