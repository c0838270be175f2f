"""The data-quality report of the last build: dbt test verdicts plus the quality marts.

Reads the build's dbt `run_results.json` (kept beside the warehouse as dbt_build_results.json)
and, read-only, the marts `fct_data_quality` and `fct_data_coverage`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from liquidationheatmap.build_lock import publish_lock
from liquidationheatmap.dbt_runner import build_results_path


@dataclass(frozen=True)
class TestVerdict:
    name: str
    model: str
    status: str  # pass | warn | fail | error | skipped
    failures: int
    message: str


@dataclass
class QualityReport:
    verdicts: list[TestVerdict]
    profile: list[dict]
    coverage: list[dict]
    models_failed: list[str]

    @property
    def errors(self) -> list[TestVerdict]:
        return [v for v in self.verdicts if v.status in ("fail", "error")]

    @property
    def warnings(self) -> list[TestVerdict]:
        return [v for v in self.verdicts if v.status == "warn"]

    @property
    def exit_code(self) -> int:
        return 1 if self.errors or self.models_failed else 0


def _model_of(unique_id: str) -> str:
    # test.<project>.<test name>.<hash>: the tested model is in the name; keep it readable.
    parts = unique_id.split(".")
    return parts[2] if len(parts) > 2 else unique_id


def read_verdicts(results_file: Path) -> tuple[list[TestVerdict], list[str]]:
    data = json.loads(results_file.read_text(encoding="utf-8"))
    verdicts, failed_models = [], []
    for result in data.get("results", []):
        unique_id = result["unique_id"]
        kind = unique_id.split(".")[0]
        status = str(result.get("status"))
        if kind in ("test", "unit_test"):
            verdicts.append(
                TestVerdict(
                    name=unique_id.split(".")[-2] if kind == "test" else unique_id.split(".")[-1],
                    model=_model_of(unique_id) if kind == "unit_test" else "",
                    status=status,
                    failures=int(result.get("failures") or 0),
                    message=str(result.get("message") or ""),
                )
            )
        elif status == "error":
            failed_models.append(unique_id)
    return verdicts, failed_models


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def load_report(warehouse: Path) -> QualityReport:
    """Results and marts read under the warehouse's shared publish lock: a build swapping in a new
    warehouse waits the moment this takes, so the two always come from the same publication."""
    results = build_results_path(warehouse)
    with publish_lock(warehouse, shared=True):
        if not results.exists() or not Path(warehouse).exists():
            raise FileNotFoundError(
                f"no build results beside {warehouse}: run `liquidationheatmap build` first"
            )
        verdicts, failed = read_verdicts(results)
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            profile = _rows(con, "select * from fct_data_quality order by dataset, symbol")
            coverage = _rows(con, "select * from fct_data_coverage order by dataset, symbol")
        except duckdb.CatalogException:
            profile, coverage = [], []
        finally:
            con.close()
    return QualityReport(verdicts, profile, coverage, failed)
