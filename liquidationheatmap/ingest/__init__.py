"""Binance archive files -> typed Parquet lake, verified and idempotent, with a manifest.

Entry point: `ingest_archive(data_dir, lake, ...) -> IngestReport`. See docs/ingest.md.
"""

from liquidationheatmap.ingest.manifest import ManifestRecord, read_manifest
from liquidationheatmap.ingest.runner import IngestReport, ingest_archive

__all__ = ["IngestReport", "ManifestRecord", "ingest_archive", "read_manifest"]
