"""Reading what the simulator wrote: archive zips and truth CSVs."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

from liquidationheatmap.archive_layout import ArchiveFile

START = date(2026, 10, 1)
DAYS = 2
TRADES_PER_DAY = 100_000
SEED = 7


def archive_path(out: Path, dataset: str, period: str, symbol: str = "BTCUSDT") -> Path:
    frequency = "monthly" if len(period) == 7 else "daily"
    return out / Path(*ArchiveFile(dataset, symbol, frequency, period).relative_path().parts)


def read_zip_text(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        (name,) = archive.namelist()
        assert name == path.name.removesuffix(".zip") + ".csv"
        return archive.read(name).decode()


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(read_zip_text(path))))
    return rows[0], rows[1:]


def read_truth(out: Path, kind: str, symbol: str = "BTCUSDT") -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted((out / "truth" / kind / symbol).glob("*.csv")):
        with path.open(newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def minute_closes(out: Path, days: list[str]) -> tuple[list[int], list[float], list[float]]:
    """Per minute: start ms, last trade price (carried forward) and signed taker base volume."""
    import numpy as np

    times, prices, signed = [], [], []
    for day in days:
        _, rows = read_rows(archive_path(out, "aggTrades", day))
        times += [int(r[5]) for r in rows]
        prices += [float(r[1]) for r in rows]
        signed += [-float(r[2]) if r[6] == "true" else float(r[2]) for r in rows]
    t = np.array(times)
    first = t[0] // 60_000
    minute = t // 60_000 - first
    n = int(minute[-1]) + 1
    last = np.full(n, np.nan)
    last[minute] = np.array(prices)  # later rows of a minute overwrite earlier ones
    for i in range(1, n):
        if np.isnan(last[i]):
            last[i] = last[i - 1]
    flow = np.bincount(minute, weights=np.array(signed), minlength=n)
    return list(range(n)), list(last), list(flow)
