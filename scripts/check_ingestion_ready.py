"""The seed's pre-flight script, kept for those who type it: `liquidationheatmap check` by its old name.

    uv run python scripts/check_ingestion_ready.py --db data/processed/liquidations.duckdb --data-dir data/raw

--db is the warehouse dbt will write (check's --warehouse); any other option is check's own
(`uv run liquidationheatmap check --help`). Exit status as check's: 1 when ingest would fail.
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
    sys.exit(main(["check", *(["--warehouse", args.db] if args.db else []), *rest]))
