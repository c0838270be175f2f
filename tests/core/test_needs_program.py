"""`needs_program` (tests/conftest.py): a test whose system program is missing is skipped with the
install command, and fails under CI=true. Each case runs pytest in a subprocess with the program
pointed at a path that does not exist (LHM_CHROMIUM, LHM_REDIS_SERVER)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from liquidationheatmap.settings import PROJECT_ROOT

# A real browser test: its first fixture is `browser`, so it stops before the warehouse is built.
BROWSER_TEST = "tests/browser/test_pages.py::test_index_links_every_page_and_reports_freshness"
MARKED_TEST = """\
import pytest


@pytest.mark.needs_program("redis-server")
def test_wants_redis():
    raise AssertionError("ran although redis-server is missing")
"""


def _pytest(args: list[str], cwd: Path, ci: bool, **programs: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env.update({f"LHM_{name.upper()}": str(path) for name, path in programs.items()})
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-ra", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("ci", [False, True], ids=["locally", "under-CI"])
def test_browser_test_without_chromium_skips_with_the_install_command_or_fails_in_ci(tmp_path, ci):
    missing = tmp_path / "no-chromium"
    run = _pytest([BROWSER_TEST, "--basetemp", str(tmp_path / "run")], PROJECT_ROOT, ci, chromium=missing)
    out = run.stdout + run.stderr
    reason = f"needs chromium (not found in LHM_CHROMIUM={missing}): apt-get install chromium"
    assert reason in out, out[-3000:]
    if ci:
        assert run.returncode == 1, out[-3000:]
        assert "1 error" in out and "skipped" not in out
    else:
        assert run.returncode == 0, out[-3000:]
        assert "1 skipped" in out
        skip_lines = [line for line in out.splitlines() if line.startswith("SKIPPED [1]")]
        assert len(skip_lines) == 1 and reason in skip_lines[0]


@pytest.mark.parametrize("ci", [False, True], ids=["locally", "under-CI"])
def test_marker_without_redis_server_skips_or_fails_in_ci(tmp_path, ci):
    shutil.copyfile(PROJECT_ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_marked.py").write_text(MARKED_TEST)
    missing = tmp_path / "no-redis-server"
    run = _pytest(["-c", os.devnull, "--rootdir", str(tmp_path), "test_marked.py"], tmp_path, ci,
                  redis_server=missing)  # fmt: skip
    out = run.stdout + run.stderr
    assert "needs redis-server" in out and "apt-get install redis-server" in out, out[-3000:]
    assert "ran although" not in out
    assert run.returncode == (1 if ci else 0), out[-3000:]
    assert ("1 error" if ci else "1 skipped") in out


def test_a_program_that_is_there_is_found(tmp_path, monkeypatch, needs_program):
    program = tmp_path / "chromium"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("LHM_CHROMIUM", str(program))
    assert needs_program("chromium") == program
