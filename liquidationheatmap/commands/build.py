"""`liquidationheatmap build`: run the dbt project (models, seeds and tests) into the warehouse."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from liquidationheatmap.build_lock import BuildLocked
from liquidationheatmap.dbt_runner import NoDataError, SparkUnavailable, build_warehouse, spark_paths
from liquidationheatmap.publish import DiskFullError
from liquidationheatmap.settings import get_settings

HELP = "dbt build: lake -> staging -> liquidation levels, heatmap, history; runs every dbt test"

DESCRIPTION = """\
Run `dbt build` on dbt_project/ (profiles.yml at the repository root): seeds, the staging views over
the Parquet lake, the intermediate models (deduplicated trades, 5-minute buckets, open-interest
changes, positions, liquidation prices, lifecycle) and the marts (fct_liquidation_heatmap,
fct_liquidation_levels, fct_liquidation_history, fct_volume_profile_daily, dim_*), the dbt Python
marts (fct_liquidation_clusters, the ensemble, fct_model_scores against the true liquidations
`ingest` loaded into the lake), with every dbt test and unit test. One line is printed per model
and test as it finishes.

dbt builds in place in a working database beside the warehouse (<stem>.working.duckdb). When
everything succeeds, the marts the API serves are copied into a new file, checked (it opens
read-only, every mart is there with its columns and rows; the row counts go into
dbt_build_results.json) and swapped in whole over the warehouse, so a running `serve` keeps
answering from the last good warehouse, and a failed, killed or disk-full build changes nothing
that is served. Trades are incremental by day: after ingesting one more day, only that day is read
again; --full-refresh rebuilds everything from the lake. A build after one that did not finish
completes it and tests every row.

A build runs only what changed since the last complete build can affect, and says so in one line:
the staging models of lake datasets with new or re-ingested files and their descendants, dbt's
state:modified+ for edited project files, everything when a var, dbt_project.yml, profiles.yml or a
dbt/DuckDB version changed; nothing at all (dbt is not run, nothing is published) when nothing
changed. The record is <stem>.build_state/ beside the warehouse (docs/build.md).

One build (or `docs`) per warehouse at a time, by an OS lock on <warehouse>.lock that the kernel
releases when the process ends: a second build waits for the first, naming it, or with --no-wait
stops at once with exit status 2.

Fails at once, before dbt runs, when the lake holds no aggTrades or metrics files (run `ingest` or
`demo` first). Exit status 1 when a model or an error-severity test fails; warnings are listed and
exit 0. `liquidationheatmap validate` prints the data-quality report of the last build.

Environment: LAKE_PATH, DUCKDB_PATH (settings), DBT_DUCKDB_MEMORY_LIMIT (default 4GB),
DBT_DUCKDB_THREADS.

Examples:
  liquidationheatmap build
  liquidationheatmap build --full-refresh --memory-limit 2GB
  liquidationheatmap build --select fct_liquidation_heatmap+
  liquidationheatmap build --target spark      # the same SQL models on Spark (docs/scale.md)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lake", type=Path, default=None, help="Parquet lake (default LAKE_PATH, data/lake)")
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="DuckDB warehouse file (default DUCKDB_PATH, data/processed/liquidations.duckdb)",
    )
    parser.add_argument(
        "--full-refresh", action="store_true", help="rebuild incremental models from the whole lake"
    )
    parser.add_argument(
        "--select",
        nargs="+",
        default=None,
        metavar="SELECTOR",
        help="dbt node selection, passed to dbt as given (default: what changed since the last build)",
    )
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 2GB (default 4GB)")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB and dbt threads (default 2)")
    parser.add_argument(
        "--truth",
        type=Path,
        default=None,
        help="a truth folder (true liquidations and positions, as `simulate` writes in truth/) to ingest "
        "into the lake before building; `ingest` loads the simulator's truth/ already. Without truth in "
        "the lake, scores are empty and ensemble weights come from the seed",
    )
    parser.add_argument(
        "--target",
        choices=["dev", "spark"],
        default="dev",
        help="dbt target: dev (DuckDB, default) or spark (the SQL models on Apache Spark, a local[2] "
        "session; needs `uv sync --group spark` and Java 17; the Python models are disabled there: "
        "clusters, ensemble, scores and the learned_leverage fit)",
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="stop at once (exit status 2) when another build or docs holds the warehouse (default: wait)",
    )
    parser.add_argument(
        "--dbt-debug-log",
        action="store_true",
        help="write dbt's whole debug log to dbt_project/logs/dbt.log (default: warnings and errors "
        "only; the debug log costs about a second per build)",
    )


# dbt's words when an incremental model's stored columns differ from what the SQL now selects.
SCHEMA_CHANGE = "schemas on this incremental model are out of sync"


def schema_change_hint(failures) -> str | None:
    """One line telling what to do when a model's stored columns are from another version."""
    models = sorted({node.name for node in failures if SCHEMA_CHANGE in (node.message or "")})
    if not models:
        return None
    return (
        f"the working database holds {', '.join(models)} as an earlier version of the models built "
        f"it (its columns changed): run `liquidationheatmap build --full-refresh --select "
        f"{' '.join(models)}` once to rebuild {'it' if len(models) == 1 else 'them'} from the lake "
        "(`--full-refresh` alone rebuilds everything); the served warehouse stays as it is until a "
        "build publishes"
    )


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    lake = args.lake or settings.lake_path
    warehouse = args.warehouse or settings.duckdb_path
    console = Console()
    try:
        outcome = build_warehouse(
            lake,
            warehouse,
            full_refresh=args.full_refresh,
            select=args.select,
            console=console,
            memory_limit=args.memory_limit,
            threads=args.threads,
            truth=args.truth,
            debug_log=args.dbt_debug_log,
            wait=not args.no_wait,
            target=args.target,
        )
    except (NoDataError, BuildLocked, SparkUnavailable) as error:
        console.print(f"[red]build: {error}", highlight=False, soft_wrap=True)
        return 2
    except DiskFullError as error:
        console.print(
            f"[red]build: {error}; the warehouse {warehouse} is unchanged", highlight=False, soft_wrap=True
        )
        return 1
    for node in outcome.warnings:
        console.print(f"[yellow]warning[/yellow] {node.name}: {node.message}", highlight=False)
    if args.target == "spark":
        # Spark builds its tables in place; the DuckDB warehouse (and what the API serves) is untouched.
        warehouse = spark_paths(warehouse)["DBT_SPARK_WAREHOUSE"]
    if not outcome.success:
        for node in outcome.failures:
            console.print(
                f"[red]failed[/red] {node.resource_type} {node.name}: {node.message}", highlight=False
            )
        if outcome.error:
            console.print(f"[red]build: {outcome.error}", highlight=False)
        hint = schema_change_hint(outcome.failures)
        if hint:
            console.print(f"[yellow]{hint}", highlight=False, soft_wrap=True)
        console.print(
            f"[red]build failed after {outcome.seconds:.1f}s; the warehouse {warehouse} is unchanged",
            highlight=False,
        )
        return 1
    published = outcome.publication
    console.print(
        f"[green]build done[/green] in {outcome.seconds:.1f}s: {len(outcome.nodes)} nodes, "
        f"{len(outcome.warnings)} warnings -> {warehouse}"
        + (
            f" ({len(published.rows)} relations, {published.bytes / 2**20:,.1f} MiB served; "
            + (
                "nothing changed, the served warehouse kept"
                if published.unchanged
                else f"{len(published.written)} of {len(published.files)} Parquet files written"
            )
            + f"; published in {published.seconds:.1f}s)"
            if published
            else ""
        ),
        highlight=False,
    )
    return 0
