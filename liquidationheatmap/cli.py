"""The `liquidationheatmap` console script: one subcommand per job.

Each subcommand lives in `liquidationheatmap/commands/<name>.py`, which defines `HELP` (one line),
`DESCRIPTION` (the --help text), `add_arguments(parser)` and `run(args) -> int` (the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from liquidationheatmap.logs import setup_logging
from liquidationheatmap.settings import get_settings

# Order is the order `--help` lists them in: the data path from files to pictures.
COMMANDS: tuple[str, ...] = (
    "demo",
    "check",
    "download",
    "ingest",
    "simulate",
    "build",
    "docs",
    "validate",
    "score",
    "serve",
    "record",
    "live",
)


def _available_commands() -> dict[str, object]:
    modules = {}
    for name in COMMANDS:
        try:
            modules[name] = importlib.import_module(f"liquidationheatmap.commands.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"liquidationheatmap.commands.{name}":
                raise
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liquidationheatmap",
        description=(
            "Estimate where leveraged Binance USD-M futures positions get liquidated, from Binance's "
            "public data (or a simulated market), and show it as heatmaps and maps.\n\n"
            "Typical path: download (or simulate) -> check -> ingest -> build -> serve.\n"
            "Settings come from environment variables or .env (see .env.example)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _available_commands().items():
        command_parser = sub.add_parser(
            name,
            help=module.HELP,
            description=module.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    settings = get_settings()
    setup_logging(settings.log_level, settings.log_file)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
