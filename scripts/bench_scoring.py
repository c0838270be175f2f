"""Seconds of the fit and scoring nodes per build: full, one day added, nothing new.

For each size N: simulate N + 1 days of BTCUSDT (cached in --work), ingest N days, build into a
fresh warehouse (full), ingest day N + 1 and build (+1 day), build again (nothing new). Prints,
per build, the seconds dbt reports for every node of the walk-forward models and the SQL scoring
grid they read (int_scoring__*, int_leverage__learned, fct_ensemble_weights, the ensemble marts,
fct_model_scores, fct_liquidation_clusters), their sum, and the whole build's wall time. Run it
from a checkout to measure that checkout (e.g. an older commit exported with `git archive`):

    uv run python scripts/bench_scoring.py --days 7 14 --trades-per-day 200000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

START = date(2025, 1, 1)
PREFIXES = (
    "int_scoring__",
    "int_leverage__",
    "fct_ensemble_",
    "fct_liquidation_heatmap_ensemble",
    "fct_liquidation_history_ensemble",
    "fct_liquidation_levels_ensemble",
    "fct_model_scores",
    "fct_liquidation_clusters",
)


def _build(lake: Path, warehouse: Path, truth: Path) -> tuple[float, dict[str, float]]:
    from liquidationheatmap.dbt_runner import build_warehouse

    began = time.perf_counter()
    outcome = build_warehouse(lake, warehouse, truth=truth)
    if not outcome.success:
        raise SystemExit(f"build of {lake} failed: {[(n.name, n.message) for n in outcome.failures]}")
    nodes = {
        n.name: n.seconds for n in outcome.nodes if n.resource_type == "model" and n.name.startswith(PREFIXES)
    }
    return time.perf_counter() - began, nodes


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, nargs="+", default=[7, 14])
    parser.add_argument("--trades-per-day", type=int, default=200_000)
    parser.add_argument("--work", type=Path, default=Path("data/bench_scoring"))
    args = parser.parse_args()
    from liquidationheatmap.ingest import ingest_archive
    from liquidationheatmap.simulate import simulate_market

    print(f"bench_scoring: {args.days} days at {args.trades_per_day:,} trades a day; load {os.getloadavg()}")
    for days in args.days:
        root = args.work / f"{days}d-{args.trades_per_day}"
        archive = root / "archive"
        marker = archive / ".simulated"
        if not marker.exists():
            simulate_market(
                archive, ["BTCUSDT"], START, days + 1, args.trades_per_day, seed=11, show_progress=False
            )
            marker.touch()
        lake, warehouse = root / "lake", root / "warehouse" / "liquidations.duckdb"
        for path in (lake, warehouse.parent):
            if path.exists():
                shutil.rmtree(path)
        data = archive / "data" if (archive / "data").is_dir() else archive
        last = START + timedelta(days=days - 1)
        ingest_archive(data, lake, end_date=last, show_progress=False)
        runs = {"full": _build(lake, warehouse, archive / "truth")}
        ingest_archive(data, lake, start_date=last + timedelta(days=1), show_progress=False)
        runs["+1 day"] = _build(lake, warehouse, archive / "truth")
        runs["nothing new"] = _build(lake, warehouse, archive / "truth")
        names = sorted({name for _, nodes in runs.values() for name in nodes})
        print(f"\n{days} days (+1), {args.trades_per_day:,} trades a day; load {os.getloadavg()}")
        print(f"| node | {' | '.join(runs)} |")
        print("|---|" + "---:|" * len(runs))
        for name in names:
            cells = [f"{nodes[name]:.1f}" if name in nodes else "–" for _, nodes in runs.values()]
            print(f"| {name} | {' | '.join(cells)} |")
        print(f"| **these nodes** | {' | '.join(f'{sum(n.values()):.1f}' for _, n in runs.values())} |")
        print(f"| **whole build (wall)** | {' | '.join(f'{wall:.0f}' for wall, _ in runs.values())} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
