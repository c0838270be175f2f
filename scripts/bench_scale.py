"""The figures behind docs/scale.md: rows per symbol-day and bytes per row in the lake, and the
seconds a full build of the SQL models takes on Spark (local[2]) and DuckDB per million trades.

For each --trades-per-day size: simulate --symbols x --days, ingest them (archive and truth), then
build the lake on DuckDB (`build`) and on Spark (`build --target spark`), each in a child process
and timed from the outside (JVM start included for Spark). Per dataset the lake's rows, Parquet
bytes and rows per symbol-day are measured from the files and the ingest manifest. The cost per
million trades is the slope between the two sizes: the difference in build time over the
difference in aggTrades rows, so the fixed cost of a build (dbt, the JVM, ~180 nodes of a
few hundred milliseconds each on Spark) does not count as work per row. On DuckDB the Python
marts run too; Spark builds the SQL models only (they are disabled there).

    uv run python scripts/bench_scale.py --trades-per-day 100000 500000 --work /tmp/bench_scale

Needs the `spark` dependency group and Java 17. Figures depend on the machine; the project's were
taken on the shared 2-core machine, with Spark's driver at 2 GB and 4 shuffle partitions.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

START = date(2025, 1, 1)
SYMBOLS = ["BTCUSDT", "ETHUSDT"]

CHILD = """
import json, sys, time
from pathlib import Path
from liquidationheatmap.dbt_runner import build_warehouse
lake, warehouse, target = sys.argv[1:4]
began = time.perf_counter()
outcome = build_warehouse(Path(lake), Path(warehouse), target=target, full_refresh=True)
print(json.dumps({"ok": outcome.success, "seconds": time.perf_counter() - began,
                  "nodes": len(outcome.nodes),
                  "failures": [[n.name, n.message[:200]] for n in outcome.failures]}))
"""


def _lake(work: Path, symbols: list[str], days: int, trades_per_day: int) -> Path:
    from liquidationheatmap.ingest import ingest_archive
    from liquidationheatmap.simulate import simulate_market

    root = work / f"{len(symbols)}x{days}x{trades_per_day}"
    lake = root / "lake"
    if not (root / ".ready").exists():
        shutil.rmtree(root, ignore_errors=True)
        simulate_market(root / "archive", symbols, START, days, trades_per_day, seed=5, show_progress=False)
        report = ingest_archive(root / "archive", lake, show_progress=False)
        if report.rejected:
            raise SystemExit(f"ingest rejected {report.rejected} files under {root / 'archive'}")
        (root / ".ready").touch()
    return lake


def lake_profile(lake: Path) -> dict[str, dict]:
    """Per dataset: files, rows, Parquet bytes, bytes per row and rows per symbol-day."""
    import duckdb

    con = duckdb.connect()
    manifest = con.execute(
        f"select dataset, count(*), sum(rows_loaded), count(distinct symbol || period) "
        f"from read_parquet('{lake}/_manifest/manifest-*.parquet') where status = 'loaded' group by 1"
    ).fetchall()
    profile = {}
    for dataset, _files, _rows, _periods in manifest:
        paths = sorted((lake / dataset).glob("*/*/*.parquet"))
        if not paths:
            continue
        rows, symbol_days = con.execute(
            f"select count(*), count(distinct symbol || cast(date as varchar)) "
            f"from read_parquet('{lake}/{dataset}/*/*/*.parquet', hive_partitioning = true)"
        ).fetchone()
        size = sum(p.stat().st_size for p in paths)
        profile[dataset] = {
            "files": len(paths),
            "rows": rows,
            "bytes": size,
            "bytes_per_row": size / rows if rows else None,
            "rows_per_symbol_day": rows / symbol_days if symbol_days else None,
        }
    return profile


def _build(lake: Path, target: str, work: Path) -> dict:
    warehouse = work / f"warehouse-{target}" / "liquidations.duckdb"
    shutil.rmtree(warehouse.parent, ignore_errors=True)
    warehouse.parent.mkdir(parents=True)
    began = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(lake), str(warehouse), target],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - began
    lines = [line for line in child.stdout.splitlines() if line.startswith("{")]
    if child.returncode != 0 or not lines:
        raise SystemExit(f"{target} build failed:\n{child.stderr[-3000:]}")
    result = json.loads(lines[-1])
    if not result["ok"]:
        raise SystemExit(f"{target} build failed: {result['failures']}")
    result["wall_seconds"] = wall
    shutil.rmtree(warehouse.parent, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trades-per-day", type=int, nargs=2, default=[100_000, 500_000])
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--symbols", nargs="+", default=SYMBOLS)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_scale"))
    parser.add_argument("--targets", nargs="+", default=["dev", "spark"], choices=["dev", "spark"])
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    runs = []
    for trades in args.trades_per_day:
        lake = _lake(args.work, args.symbols, args.days, trades)
        profile = lake_profile(lake)
        builds = {target: _build(lake, target, args.work) for target in args.targets}
        runs.append({"trades_per_day": trades, "profile": profile, "builds": builds})
        print(f"\n{len(args.symbols)} symbols x {args.days} days x {trades:,} trades/day: {lake}")
        print(f"{'dataset':14} {'rows':>12} {'bytes':>13} {'bytes/row':>10} {'rows/symbol-day':>16}")
        for dataset, p in sorted(profile.items()):
            print(
                f"{dataset:14} {p['rows']:>12,} {p['bytes']:>13,} {p['bytes_per_row']:>10.1f} "
                f"{p['rows_per_symbol_day']:>16,.0f}"
            )
        for target, build in builds.items():
            print(f"build --target {target}: {build['wall_seconds']:.1f} s wall, {build['nodes']} nodes")
    small, large = runs
    extra_rows = large["profile"]["aggTrades"]["rows"] - small["profile"]["aggTrades"]["rows"]
    print(f"\nper million aggTrades rows (slope between the two sizes, {extra_rows:,} rows apart):")
    for target in args.targets:
        extra = large["builds"][target]["wall_seconds"] - small["builds"][target]["wall_seconds"]
        fixed = (
            small["builds"][target]["wall_seconds"]
            - extra / extra_rows * small["profile"]["aggTrades"]["rows"]
        )
        print(
            f"  {target:6} {extra / extra_rows * 1e6:8.1f} s per million rows, fixed cost about {fixed:.0f} s"
        )
    print(json.dumps(runs, default=str))


if __name__ == "__main__":
    main()
