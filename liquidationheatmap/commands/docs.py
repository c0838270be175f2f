"""`liquidationheatmap docs`: the dbt lineage site as one self-contained HTML page."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from rich.console import Console

from liquidationheatmap.build_lock import BuildLocked
from liquidationheatmap.dbt_runner import generate_docs
from liquidationheatmap.settings import get_settings

HELP = "dbt docs generate --static: the lineage site (models, columns, tests, the method)"

DESCRIPTION = """\
Generate the dbt documentation site with `dbt docs generate --static`: one HTML file holding the
lineage graph from the Binance sources to the marts, every model's SQL, columns and tests, and the
method (the liquidation model, its formulas, assumptions and limits). It needs a built warehouse
(column types are read from dbt's working database beside it; run `liquidationheatmap build`
first). It takes the warehouse's build lock, so it waits for a running build (or with --no-wait
stops with exit status 2) and a build waits for it; a running server is not disturbed.

The page is written to dbt_target/static_index.html beside the warehouse and copied to --output.

Example:
  liquidationheatmap docs --output data/processed/lineage.html
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lake", type=Path, default=None, help="Parquet lake (default LAKE_PATH)")
    parser.add_argument("--warehouse", type=Path, default=None, help="warehouse file (default DUCKDB_PATH)")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("data/processed/lineage.html"),
        help="where to copy the page (default data/processed/lineage.html)",
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="stop at once (exit status 2) when a build or another docs holds the warehouse",
    )


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    console = Console()
    try:
        outcome, page = generate_docs(
            args.lake or settings.lake_path,
            args.warehouse or settings.duckdb_path,
            console=console,
            wait=not args.no_wait,
        )
    except (FileNotFoundError, BuildLocked) as error:
        console.print(f"[red]docs: {error}", highlight=False, soft_wrap=True)
        return 2
    if not outcome.success or not page.exists():
        console.print(f"[red]docs: dbt docs generate failed: {outcome.error or 'see dbt_project/logs'}")
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.output.with_name(args.output.name + ".tmp")
    shutil.copyfile(page, temporary)
    os.replace(temporary, args.output)
    console.print(f"[green]lineage site[/green] {args.output} ({page.stat().st_size // 1024} KiB)")
    return 0
