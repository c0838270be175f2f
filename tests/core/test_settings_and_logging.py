"""Settings come from the environment and `.env`; log lines carry step= and symbol= for grepping."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

import pytest

from liquidationheatmap.cli import COMMANDS, build_parser, main
from liquidationheatmap.logs import setup_logging, step_logger
from liquidationheatmap.settings import Settings

SETTING_NAMES = (
    "DUCKDB_PATH",
    "BINANCE_DATA_PATH",
    "LAKE_PATH",
    "API_HOST",
    "API_PORT",
    "DEFAULT_MODEL",
    "DEFAULT_SYMBOL",
    "CACHE_TTL_SECONDS",
    "LOG_LEVEL",
    "LOG_FILE",
    "LIVE_STATE_PATH",
    "LIVE_ROLL_MINUTES",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_match_the_documented_example(clean_env: Path) -> None:
    example = Path(__file__).resolve().parents[2] / ".env.example"
    documented = dict(
        line.split("=", 1) for line in example.read_text().splitlines() if line and not line.startswith("#")
    )
    assert set(documented) == set(SETTING_NAMES)
    settings = Settings()
    for name, value in documented.items():
        assert str(getattr(settings, name.lower())) == value


def test_dot_env_file_is_read_and_environment_wins(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".env").write_text("API_PORT=9001\nDEFAULT_SYMBOL=ETHUSDT\n")
    monkeypatch.setenv("DEFAULT_SYMBOL", "SOLUSDT")
    settings = Settings()
    assert settings.api_port == 9001
    assert settings.default_symbol == "SOLUSDT"


def test_log_file_lines_carry_step_and_symbol(clean_env: Path) -> None:
    log_file = clean_env / "logs" / "run.log"
    setup_logging("INFO", log_file)
    try:
        step_logger("lhm.test", "ingest", "BTCUSDT").info("loaded %d rows", 42)
        logging.getLogger("lhm.test").warning("plain line")
        for handler in logging.getLogger().handlers:
            handler.flush()
        lines = log_file.read_text().splitlines()
        assert any(
            h for h in logging.getLogger().handlers if isinstance(h, logging.handlers.RotatingFileHandler)
        )
    finally:
        setup_logging("INFO", None)
    assert lines[0].endswith("INFO step=ingest symbol=BTCUSDT lhm.test: loaded 42 rows")
    assert lines[1].endswith("WARNING step=- symbol=- lhm.test: plain line")


def test_every_command_has_its_own_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    listed = parser.format_help()
    for name in COMMANDS:
        assert name in listed
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        assert exit_.value.code == 0
        assert f"usage: liquidationheatmap {name}" in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "Typical path" in capsys.readouterr().out
