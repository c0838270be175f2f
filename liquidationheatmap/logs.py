"""Logging to the console and to a rotated file, with `step=` and `symbol=` on every line.

Pass context with `extra={"step": "ingest", "symbol": "BTCUSDT"}` (or use `step_logger`), so a
log can be grepped by step and symbol: `grep 'step=ingest symbol=BTCUSDT' logs/liquidationheatmap.log`.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from rich.logging import RichHandler

FILE_FORMAT = "%(asctime)s %(levelname)s step=%(step)s symbol=%(symbol)s %(name)s: %(message)s"


class _ContextDefaults(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "step"):
            record.step = "-"
        if not hasattr(record, "symbol"):
            record.symbol = "-"
        return True


def setup_logging(level: str = "INFO", log_file: Path | None = None) -> None:
    """Configure the root logger once: rich console handler plus a rotating file handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(level.upper())
    console = RichHandler(show_path=False, rich_tracebacks=False, markup=False)
    console.setFormatter(logging.Formatter("step=%(step)s symbol=%(symbol)s %(message)s"))
    console.addFilter(_ContextDefaults())
    console.setLevel(logging.WARNING if level.upper() == "INFO" else level.upper())
    root.addHandler(console)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter(FILE_FORMAT))
        handler.addFilter(_ContextDefaults())
        root.addHandler(handler)


def step_logger(name: str, step: str, symbol: str = "-") -> logging.LoggerAdapter:
    """A logger whose records carry `step` and `symbol` (override per call with `extra=`)."""

    class _Adapter(logging.LoggerAdapter):
        def process(self, msg, kwargs):
            kwargs["extra"] = {**self.extra, **kwargs.get("extra", {})}
            return msg, kwargs

    return _Adapter(logging.getLogger(name), {"step": step, "symbol": symbol})
