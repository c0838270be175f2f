"""What every test folder shares: `needs_program`, for tests that drive a system program.

Some tests need a program from Debian rather than from PyPI: the browser tests drive Chromium, the
live-mode tests start redis-server. On a machine without it such a test is skipped with one line
that names the program and the command that installs it (pytest's -ra summary lists them), so
`uv run pytest` passes on a fresh machine. With CI=true (as `.ci/run` runs) a missing program is a
failure, never a skip: CI installs them, and a test that silently stops running is a broken test.

Use it as a fixture that returns the program's path:

    def browser(needs_program):
        chromium = needs_program("chromium")

or as a marker, when the test finds the program itself:

    @pytest.mark.needs_program("redis-server")
    def test_recorder_publishes(...): ...

Where a program is looked for: the environment variable LHM_<NAME> (LHM_CHROMIUM,
LHM_REDIS_SERVER) when it is set, else the PATH. Pointing the variable at a path that does not exist
is how the missing case is tested (tests/core/test_needs_program.py).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

# program -> the Debian package that installs it
PACKAGES: dict[str, str] = {
    "chromium": "chromium",
    "redis-server": "redis-server",
    "java": "openjdk-17-jre-headless",
}


def override_variable(program: str) -> str:
    return "LHM_" + program.upper().replace("-", "_")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def find_program(program: str) -> tuple[Path | None, str]:
    """The program's path (None when missing) and where it was looked for."""
    variable = override_variable(program)
    override = os.environ.get(variable)
    if override:
        path = Path(override)
        return (path if path.is_file() and os.access(path, os.X_OK) else None), f"{variable}={override}"
    found = shutil.which(program)
    return (Path(found) if found else None), "the PATH"


def require_program(program: str) -> Path:
    """The program's path; skips the test when it is missing (fails it under CI=true)."""
    if program not in PACKAGES:
        raise ValueError(
            f"needs_program: unknown program {program!r}; add it to PACKAGES in tests/conftest.py"
        )
    path, where = find_program(program)
    if path is not None:
        return path
    message = f"needs {program} (not found in {where}): apt-get install {PACKAGES[program]}"
    if in_ci():
        pytest.fail(f"{message} [CI=true: a missing program fails the run]", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def needs_program() -> Callable[[str], Path]:
    return require_program


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs_program(name): the test needs a system program (chromium, redis-server); skipped "
        "with the install command when missing, failed under CI=true",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("needs_program"):
        for program in marker.args:
            require_program(program)
