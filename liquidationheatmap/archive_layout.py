"""Binance archive file names and paths: parse a name into what it holds, and build the path.

Layout: `data/futures/<um|cm>/<daily|monthly>/<dataset>/<SYMBOL>/[<interval>/]<file>.zip`, with
`<file>.zip.CHECKSUM` beside each zip. Names: `<SYMBOL>-<dataset>-<YYYY-MM-DD|YYYY-MM>.zip`, and
for klines `<SYMBOL>-<interval>-<date>.zip` (the dataset is only in the folder).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path, PurePosixPath

from liquidationheatmap.datasets import DATASETS, get_spec

KLINE_INTERVALS = (
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1mo",
)  # fmt: skip

# The simulator writes its ground truth (positions, liquidations) in this folder beside the archive
# mirror (`<out>/truth/`); it is not Binance data: `check` skips it, ingest loads it into the lake.
TRUTH_DIR = "truth"

_NAME = re.compile(
    r"^(?P<symbol>[A-Z0-9_]+)-(?P<kind>[A-Za-z0-9]+)-"
    r"(?P<period>\d{4}-\d{2}(?:-\d{2})?)\.(?P<ext>zip|csv)$"
)


@dataclass(frozen=True)
class ArchiveFile:
    """One archive file as its name and place describe it."""

    dataset: str
    symbol: str
    frequency: str  # "daily" | "monthly"
    period: str  # "YYYY-MM-DD" or "YYYY-MM"
    interval: str | None = None  # klines only
    market: str = "um"

    @property
    def stem(self) -> str:
        middle = self.interval if self.interval else self.dataset
        return f"{self.symbol}-{middle}-{self.period}"

    @property
    def zip_name(self) -> str:
        return f"{self.stem}.zip"

    @property
    def first_day(self) -> date:
        if self.frequency == "daily":
            return date.fromisoformat(self.period)
        year, month = (int(p) for p in self.period.split("-"))
        return date(year, month, 1)

    @property
    def last_day(self) -> date:
        if self.frequency == "daily":
            return self.first_day
        year, month = (int(p) for p in self.period.split("-"))
        return date(year, month, calendar.monthrange(year, month)[1])

    def days(self) -> list[date]:
        span = (self.last_day - self.first_day).days
        return [self.first_day + timedelta(days=i) for i in range(span + 1)]

    def relative_dir(self) -> PurePosixPath:
        parts = ["data", "futures", self.market, self.frequency, self.dataset, self.symbol]
        if self.interval:
            parts.append(self.interval)
        return PurePosixPath(*parts)

    def relative_path(self) -> PurePosixPath:
        """Path of the zip inside an archive mirror (also the path part of its URL)."""
        return self.relative_dir() / self.zip_name


class UnknownFileName(ValueError):
    """A file whose name is not one Binance gives."""


def parse_archive_path(path: Path) -> ArchiveFile:
    """Tell what an archive file holds from its name (and folders, for klines and the market).

    Accepts `.zip` and already extracted `.csv` files, in the archive layout or a flat folder.
    Raises UnknownFileName with the reason when the name is not Binance's.
    """
    match = _NAME.match(path.name)
    if not match:
        raise UnknownFileName(
            f"{path}: not a Binance archive file name (expected SYMBOL-dataset-YYYY-MM[-DD].zip)"
        )
    kind = match["kind"]
    period = match["period"]
    frequency = "daily" if len(period) == 10 else "monthly"
    parts = path.parts
    market = "cm" if "cm" in parts[-8:-1] and "futures" in parts else "um"
    if kind in DATASETS and not DATASETS[kind].has_interval:
        dataset, interval = kind, None
    elif kind in KLINE_INTERVALS:
        dataset, interval = "klines", kind
        for folder in parts[:-1]:
            if folder.endswith("Klines") or folder == "klines":
                dataset = folder
        if dataset not in DATASETS:
            raise UnknownFileName(f"{path}: {dataset} files are not ingested (only klines, markPriceKlines)")
    else:
        raise UnknownFileName(f"{path}: unknown dataset {kind!r} in file name")
    spec = get_spec(dataset)
    if frequency == "daily" and not spec.daily:
        raise UnknownFileName(f"{path}: {dataset} is only published monthly")
    if frequency == "monthly" and not spec.monthly:
        raise UnknownFileName(f"{path}: {dataset} is only published daily")
    try:
        (date.fromisoformat(period) if frequency == "daily" else date.fromisoformat(period + "-01"))
    except ValueError:
        raise UnknownFileName(f"{path}: {period!r} is not a valid date") from None
    return ArchiveFile(dataset, match["symbol"], frequency, period, interval, market)
