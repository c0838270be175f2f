"""`liquidationheatmap score`: every model beside the reference maps against the true liquidations."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from liquidationheatmap.report_tables import print_table, report_console
from liquidationheatmap.scores import (
    METRICS,
    ScoreReport,
    ScoresNotBuilt,
    load_scores,
    markdown,
    table_rows,
    title,
)
from liquidationheatmap.settings import get_settings

HELP = "model accuracy against true liquidations: models beside reference maps, train and test, 1 h and 4 h"

DESCRIPTION = """\
Print the scores the last `liquidationheatmap build` computed (mart fct_model_scores): for each
symbol, period (train = the first half of the built range, test = the rest; var
score_train_fraction) and horizon (1 h and 4 h; var score_horizons_hours) a table of maps x metrics.
Rows: every model variant and the ensemble, then three reference maps scored the same way:
uniform (flat on the traversed range), proximity (density falling off with the distance from the
price) and oracle (the simulator's true open positions; simulated data only). Best model per metric
in green.

The yardstick is path-conditioned: from every hour t, given the price path of the next horizon,
did the map at t put its mass where in the traversed range (longs: from the path's low up to the
price at t; shorts: from the price up to the high) the liquidations came?

  overlap       sum of min(p, q) over the traversed bins, p = the map, q = the true liquidated
                notional, both normalised; 1 = exactly right. Mean over the windows weighted by
                their true notional; [90 % day-block bootstrap interval]
  skill         (model - uniform) / (oracle - uniform) on overlap: 0 = no better than a flat
                guess, 1 = as good as knowing the true positions (against a perfect 1 without an
                oracle); [interval]
  emd %         Wasserstein-1 distance between p and q, in % of price (lower is better)
  calibration   predicted / true liquidated notional over the period (1 = right total)
  hourly corr.  Pearson correlation of predicted and true liquidated notional per hour

The ensemble's weights are fitted on the train period only, so its test scores are out of sample;
the weights used are printed below the tables (mart fct_ensemble_weights). Definitions: the
`model_scoring` block of the lineage site (docs/model_scoring.md). Scores need true liquidations
(the simulator's truth/ folder, read from BINANCE_DATA_PATH/truth at build time); without them
every value is undefined (–).

Reads the warehouse read-only. Exit status 2 when the warehouse or fct_model_scores is missing.

Examples:
  liquidationheatmap demo --no-serve && liquidationheatmap score
  liquidationheatmap score --side long --horizon 1
  liquidationheatmap score --warehouse /tmp/other.duckdb --markdown
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", type=Path, default=None, help="warehouse file (default DUCKDB_PATH)")
    parser.add_argument(
        "--side",
        choices=("all", "long", "short"),
        default="all",
        help="liquidated side scored: all (both pooled, default), long or short",
    )
    parser.add_argument("--symbol", default=None, help="only this symbol (default: every symbol scored)")
    parser.add_argument(
        "--horizon",
        type=int,
        action="append",
        metavar="HOURS",
        help="only this horizon in hours (repeatable; default: every horizon built, 1 and 4)",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (for docs)")


def print_report(report: ScoreReport, console: Console) -> None:
    for period in report.periods:
        table = Table(
            title=title(period),
            caption="\\[lo,hi] = 90 % day-block bootstrap interval; calib. = calibration, corr. = hourly "
            f"correlation; judged true liquidated notional "
            f"{period.truth_notional:,.0f} USDT",
            box=box.SIMPLE_HEAD,
        )
        table.add_column("map", no_wrap=True, min_width=16)
        for _, label in METRICS:
            table.add_column(label, justify="right", no_wrap=True)
        for row in table_rows(period, lambda text: f"[green]{escape(text)}[/green]", separator="\n"):
            table.add_row(*(cell if cell.startswith("[green]") else escape(cell) for cell in row))
        print_table(console, table)
    if report.weights:
        source = report.weights[0]
        origin = {
            "fitted": f"fitted on the train period [{source.fitted_from} – {source.fitted_to})",
            "seed": "from the seed ensemble_weights (no truth to fit on)",
            "var": "from the ensemble_weights var",
        }.get(source.source, source.source)
        weights = ", ".join(f"{w.model} {w.weight:.2f}" for w in report.weights)
        console.print(f"ensemble weights: {weights} ({origin})", highlight=False)


def run(args: argparse.Namespace) -> int:
    console = report_console()
    warehouse = args.warehouse or get_settings().duckdb_path
    try:
        report = load_scores(warehouse, side=args.side, symbol=args.symbol, horizons=args.horizon)
    except ScoresNotBuilt as error:
        console.print(f"[red]score: {error}", highlight=False)
        return 2
    if not report.periods:
        which = f" for {args.symbol}" if args.symbol else ""
        console.print(
            f"[yellow]score: {warehouse} holds no placement scores{which}: the build found no true "
            "liquidations (truth/ beside the archive, BINANCE_DATA_PATH/truth), the built range is too "
            "short to split into train and test on whole hours, or the symbol is not in it",
            highlight=False,
        )
        return 0
    if args.markdown:
        print(markdown(report))
    else:
        print_report(report, console)
    if all(score.value is None for p in report.periods for score in p.values.values()):
        console.print(
            "[yellow]every score is undefined: the build found no true liquidations (truth/ beside the "
            "archive, BINANCE_DATA_PATH/truth)",
            highlight=False,
        )
    return 0
