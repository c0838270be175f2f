"""Seconds of the publication alone (liquidationheatmap/publish.py) on built warehouses.

For each warehouse: `publish.publish_serving` from its working database, --repeat times, printing
whether nothing changed, how many Parquet files it wrote and the seconds. It never swaps anything
in (a publication that finds changes leaves `<warehouse>.publishing` and its new files, which the
next build removes), and it takes the build lock, so no build of that warehouse runs meanwhile.

    uv run python scripts/bench_publish.py /tmp/i13p/bench/3d-200000/warehouse/liquidations.duckdb \\
        /tmp/i13p/bench/10d-200000/warehouse/liquidations.duckdb

(the warehouses `scripts/bench_build.py --days 3 10 --trades-per-day 200000 --work /tmp/i13p/bench`
leaves: served from its +1 day build, the working database rebuilt with nothing new).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from liquidationheatmap import publish
from liquidationheatmap.build_lock import build_lock
from liquidationheatmap.dbt_runner import target_dir_for


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("warehouses", type=Path, nargs="+")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    for warehouse in args.warehouses:
        warehouse = warehouse.resolve()
        relations = publish.served_relations(target_dir_for(warehouse) / "manifest.json")
        with build_lock(warehouse, "bench_publish"):
            for attempt in range(1, args.repeat + 1):
                began = time.perf_counter()
                published = publish.publish_serving(
                    publish.working_database(warehouse), warehouse, relations, required=set()
                )
                seconds = time.perf_counter() - began
                print(
                    f"{warehouse}: run {attempt}: {'nothing changed' if published.unchanged else 'changed'}, "
                    f"{len(published.written)} Parquet files written, {seconds:.2f} s, "
                    f"{sum(published.rows.values()):,} rows served",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
