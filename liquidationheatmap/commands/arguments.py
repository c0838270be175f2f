"""Argument types the subcommands share (argparse `type=` callables with clear messages)."""

from __future__ import annotations

import argparse
from datetime import date

from liquidationheatmap.datasets import DATASETS


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def dataset_names(text: str) -> list[str]:
    """A comma-separated list of Binance dataset names, each one known."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in DATASETS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown dataset(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(DATASETS)}"
        )
    return names
