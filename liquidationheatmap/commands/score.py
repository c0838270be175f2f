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
    POOLED,
    ScoreReport,
    ScoresNotBuilt,
    history_models,
    history_rows,
    load_scores,
    markdown,
    table_rows,
    title,
    weights_origin,
)
from liquidationheatmap.settings import get_settings

HELP = "model accuracy against true liquidations, walk-forward: models beside reference maps, 1 h and 4 h"

DESCRIPTION = """\
Print the scores the last `liquidationheatmap build` computed (mart fct_model_scores), evaluated
walk-forward: evaluation window k fits the models' parameters (learned_leverage, the ensemble
weights) on score_window_train_days (3) and is scored on the score_window_test_days (1) after
them; the windows step by the test span, so every test day is scored once with parameters fitted
before it. Shown: the headline (every complete window's test span pooled), the latest window, and
the history of windows (each window's skill per model). For each, per symbol and horizon (1 h and
4 h; var score_horizons_hours), a table of maps x metrics. Rows: every model variant and the
ensemble, then three reference maps scored the same way: uniform (flat on the traversed range),
proximity (density falling off with the distance from the price) and oracle (the simulator's true
open positions; simulated data only). Best model per metric in green.

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
  calibration   predicted / true liquidated notional over the test span (1 = right total),
                the prediction times the notional scale learned on the train span before it
                (mart fct_model_calibration), as the API serves it
  hourly corr.  Pearson correlation of predicted and true liquidated notional per hour

Every figure is out of sample: no window's fit read its test span. The ensemble weights in force
now (the latest window's, mart fct_ensemble_weights) are printed below the tables. Definitions: the
`model_scoring` block of the lineage site (docs/model_scoring.md). Scores need true liquidations
(the simulator's truth/ folder, read from BINANCE_DATA_PATH/truth at build time); without them
every value is undefined (–).

Reads the warehouse read-only. Exit status 2 when the warehouse or fct_model_scores is missing.

Examples:
  liquidationheatmap demo --no-serve && liquidationheatmap score
  liquidationheatmap score --side long --horizon 1
  liquidationheatmap score --window 3          # window 3 instead of the latest
  liquidationheatmap score --window pooled     # the headline only
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
    parser.add_argument(
        "--window",
        default="latest",
        metavar="N|latest|pooled",
        help="the evaluation window shown beside the pooled headline: its number, latest (default), "
        "or pooled (the headline alone)",
    )
    parser.add_argument(
        "--no-history", action="store_true", help="leave out the history of windows (skill per window)"
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
    if report.history:
        models = history_models(report)
        horizon = report.history[0].horizon_hours
        table = Table(
            title=f"history of windows · skill on each test span · {horizon} h",
            caption="window k: fitted on its train span, scored on the test span from the date shown",
            box=box.SIMPLE_HEAD,
        )
        for name in ("symbol", "window", "test from"):
            table.add_column(name, no_wrap=True, justify="right" if name == "window" else "left")
        for name in models:
            # Spaced names wrap in the header, so the history fits a narrow terminal as a table.
            table.add_column(name.replace("_", " "), justify="right", no_wrap=True)
        for row in history_rows(report, lambda text: f"[green]{escape(text)}[/green]"):
            table.add_row(*(cell if cell.startswith("[green]") else escape(cell) for cell in row))
        print_table(console, table)
    if report.weights:
        weights = ", ".join(f"{w.model} {w.weight:.2f}" for w in report.weights)
        console.print(
            f"ensemble weights in force now: {weights} ({weights_origin(report.weights[0])})", highlight=False
        )


def _window_ids(text: str) -> list[int | str] | None:
    if text == "pooled":
        return [POOLED]
    if text == "latest":
        return [POOLED, "latest"]
    try:
        number = int(text)
    except ValueError:
        return None
    return [POOLED, number] if number >= 1 else None


def run(args: argparse.Namespace) -> int:
    console = report_console()
    warehouse = args.warehouse or get_settings().duckdb_path
    try:
        window_ids = _window_ids(args.window)
        if window_ids is None:
            console.print(
                "[red]score: --window must be a window number (1, 2, ...), latest or pooled; "
                f"got {escape(repr(args.window))}",
                highlight=False,
            )
            return 2
        report = load_scores(
            warehouse, side=args.side, symbol=args.symbol, horizons=args.horizon, window_ids=window_ids
        )
        if args.no_history:
            report = ScoreReport(report.warehouse, report.periods, report.weights, [], report.latest_window)
    except ScoresNotBuilt as error:
        console.print(f"[red]score: {error}", highlight=False)
        return 2
    if not report.periods:
        which = f" for {args.symbol}" if args.symbol else ""
        console.print(
            f"[yellow]score: {warehouse} holds no placement scores{which}: the build found no true "
            "liquidations (truth/ beside the archive, BINANCE_DATA_PATH/truth), the built range is shorter "
            "than one evaluation window (score_window_train_days + score_window_test_days), or the symbol "
            "is not in it",
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
