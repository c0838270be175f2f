"""The seed's data-quality script, kept for those who type it: `liquidationheatmap validate` by its old name.

    uv run python scripts/validate_aggtrades.py [--db data/processed/liquidations.duckdb]

Prints the data-quality report of the last build (rows, duplicates, invalid values, ranges, gaps,
every dbt test that warned or failed). --db is validate's --warehouse; any other option is
validate's own (`uv run liquidationheatmap validate --help`). Exit status 1 when a test failed.
"""

from __future__ import annotations

import argparse
import sys

from liquidationheatmap.cli import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", help="warehouse file (default DUCKDB_PATH)")
    args, rest = parser.parse_known_args()
    sys.exit(main(["validate", *(["--warehouse", args.db] if args.db else []), *rest]))
