"""`liquidationheatmap score`: every model's accuracy against the true liquidations, train and test."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from liquidationheatmap.report_tables import print_table, report_console
from liquidationheatmap.scores import (
    METRICS,
    ScoreReport,
    ScoresNotBuilt,
    load_scores,
    markdown,
    table_rows,
)
from liquidationheatmap.settings import get_settings

HELP = "model accuracy against true liquidations: models x metrics for the train and test periods"

DESCRIPTION = """\
Print the scores the last `liquidationheatmap build` computed (mart fct_model_scores): for each
symbol and period (train = the first half of the built range, test = the rest; var
score_train_fraction) a table of models (binance_standard, funding_adjusted, ensemble) x metrics,
best value per metric in green:

  zone hit rate       share of true liquidated notional that fell in a price bin the model ranked
                      in its top 20 % of live density one 5-minute bucket before (higher is better)
  median distance %   notional-weighted median distance from a liquidation to the nearest of those
                      top bins, in % of price (0 = at least half hit; lower is better)
  hourly correlation  Pearson correlation of predicted and true liquidated notional per hour
  calibration         predicted / true liquidated notional over the period (1 = right total)

The ensemble's weights are fitted on the train period only, so its test scores are out of sample;
the weights used are printed below the tables (mart fct_ensemble_weights). Definitions: the
`model_scoring` block of the lineage site (docs/model_scoring.md). Scores need true liquidations
(the simulator's truth/ folder, read from BINANCE_DATA_PATH/truth at build time); without them
every value is undefined (–).

Reads the warehouse read-only. Exit status 2 when the warehouse or fct_model_scores is missing.

Examples:
  liquidationheatmap demo --no-serve && liquidationheatmap score
  liquidationheatmap score --side long
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
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (for docs)")


def print_report(report: ScoreReport, console: Console) -> None:
    for period in report.periods:
        table = Table(
            title=f"{period.symbol} · {period.period} [{period.start} – {period.end}) · side {period.side}",
            caption=f"true liquidated notional {period.truth_notional:,.0f} USDT",
            box=box.SIMPLE_HEAD,
        )
        table.add_column("model", no_wrap=True, min_width=16)
        for _, label in METRICS:
            table.add_column(label, justify="right")
        for row in table_rows(period, lambda text: f"[green]{text}[/green]"):
            table.add_row(*row)
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
        report = load_scores(warehouse, side=args.side, symbol=args.symbol)
    except ScoresNotBuilt as error:
        console.print(f"[red]score: {error}", highlight=False)
        return 2
    if not report.periods:
        which = f" for {args.symbol}" if args.symbol else ""
        console.print(
            f"[yellow]score: {warehouse} holds no scores{which} (the built range is too short to split "
            "into train and test on whole hours, or the symbol is not in it)",
            highlight=False,
        )
        return 0
    if args.markdown:
        print(markdown(report))
    else:
        print_report(report, console)
    if all(value is None for p in report.periods for value, _ in p.values.values()):
        console.print(
            "[yellow]every score is undefined: the build found no true liquidations (truth/ beside the "
            "archive, BINANCE_DATA_PATH/truth)",
            highlight=False,
        )
    return 0
