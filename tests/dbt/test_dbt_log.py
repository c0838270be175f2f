"""dbt's own log file: warnings and errors by default, the whole debug log only when asked."""

from __future__ import annotations

from liquidationheatmap.dbt_runner import run_dbt


def _log_lines(tmp_path, debug_log: bool) -> list[str]:
    logs = tmp_path / ("debug" if debug_log else "default")
    outcome = run_dbt(
        ["ls", "--select", "dim_symbols", "--log-path", str(logs)],
        lake=tmp_path / "lake",
        warehouse=tmp_path / "warehouse.duckdb",
        target_dir=tmp_path / "target",
        debug_log=debug_log,
    )
    assert outcome.success, outcome.error
    return (logs / "dbt.log").read_text().splitlines()


def test_the_dbt_log_file_has_no_debug_lines_by_default(tmp_path):
    lines = _log_lines(tmp_path, False)
    assert lines, "dbt wrote no log file where it was told to"
    assert not [line for line in lines if "[debug]" in line]


def test_the_dbt_debug_log_is_written_when_asked(tmp_path):
    lines = _log_lines(tmp_path, True)
    assert any("[debug]" in line and "running dbt with arguments" in line for line in lines)
