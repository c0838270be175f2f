"""The seed's ingest script, kept for those who type it: `liquidationheatmap ingest`, then `build`.

    uv run python scripts/ingest_aggtrades.py --symbol BTCUSDT --start-date 2025-01-01 \\
        --end-date 2025-01-31 --data-dir data/raw [--db data/processed/liquidations.duckdb]

The seed loaded trades straight into its database; here ingest writes the Parquet lake and build
runs dbt, so the warehouse holds the data when this returns, as it did. Every dataset found for the
symbol and days is ingested, not only aggTrades: the model needs open interest (metrics) as well
(pass --datasets to choose). --db is build's --warehouse, --lake goes to both; any other option is
ingest's own (`uv run liquidationheatmap ingest --help`). The build is skipped when ingest did nothing
(exit 2); the exit status is the worse of the two.
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
    parser.add_argument("--lake", help="Parquet lake folder (default LAKE_PATH)")
    args, rest = parser.parse_known_args()
    lake = ["--lake", args.lake] if args.lake else []
    ingested = main(["ingest", *lake, *rest])
    if ingested == 2:
        sys.exit(ingested)
    built = main(["build", *lake, *(["--warehouse", args.db] if args.db else [])])
    sys.exit(max(ingested, built))
