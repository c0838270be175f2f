"""Find Binance files under a folder (archive layout or flat), zipped or extracted, and pick one
source per lake file: a zip and its extracted CSV (or two copies of one file) must not load twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from liquidationheatmap.archive_layout import ArchiveFile, UnknownFileName, parse_archive_path
from liquidationheatmap.datasets import get_spec

SOURCE_SUFFIXES = (".zip", ".csv")


@dataclass(frozen=True)
class SourceFile:
    """A file ingest will look at: its path and, when the name is Binance's, what it holds."""

    path: Path
    archive: ArchiveFile | None
    name_error: str | None = None
    duplicate_of: Path | None = None  # set when another copy of the same file is ingested instead

    @property
    def is_zip(self) -> bool:
        return self.path.suffix == ".zip"

    @property
    def checksum_path(self) -> Path:
        return self.path.with_name(self.path.name + ".CHECKSUM")


@dataclass
class Discovery:
    files: list[SourceFile] = field(default_factory=list)  # to ingest (incl. unknown names)
    duplicates: list[SourceFile] = field(default_factory=list)  # copies not ingested


def _walk(data_dir: Path, skip: Path | None) -> list[Path]:
    found: list[Path] = []
    for root, dirs, names in os.walk(data_dir):
        root_path = Path(root)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and (skip is None or (root_path / d).resolve() != skip)
        )
        found.extend(
            root_path / name
            for name in sorted(names)
            if name.endswith(SOURCE_SUFFIXES) and not name.startswith(".")
        )
    return found


def _selected(
    archive: ArchiveFile,
    symbols: set[str] | None,
    datasets: set[str] | None,
    start_date: date | None,
    end_date: date | None,
) -> bool:
    if symbols is not None and archive.symbol not in symbols:
        return False
    if datasets is not None and archive.dataset not in datasets:
        return False
    if start_date is not None and archive.last_day < start_date:
        return False
    return not (end_date is not None and archive.first_day > end_date)


def _preference(source: SourceFile) -> tuple[int, int, int, str]:
    """Lower is better: a zip with its CHECKSUM, then any zip, then the CSV; then the shorter path."""
    return (
        0 if source.is_zip else 1,
        0 if source.is_zip and source.checksum_path.exists() else 1,
        len(source.path.parts),
        str(source.path),
    )


def discover(
    data_dir: Path,
    *,
    lake: Path | None = None,
    symbols: list[str] | None = None,
    datasets: list[str] | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
) -> Discovery:
    """Every `.zip`/`.csv` under data_dir, filtered and de-duplicated.

    Not looked at: the lake and hidden folders. The simulator's `truth/` folder (positions and
    liquidations) is ingested like the archive: dbt reads truth from the lake.

    Files whose names are not Binance's are kept with `name_error` set: they are rejected, whatever
    the filters, so a stray file is reported rather than silently ignored.
    """
    if not data_dir.is_dir():
        raise FileNotFoundError(f"{data_dir}: data folder not found")
    for name in datasets or []:
        get_spec(name)
    symbol_set = {s.upper() for s in symbols} if symbols else None
    dataset_set = set(datasets) if datasets else None
    skip = lake.resolve() if lake is not None else None
    result = Discovery()
    groups: dict[tuple[str, str, str], list[SourceFile]] = {}
    for path in _walk(data_dir, skip):
        try:
            archive = parse_archive_path(path)
        except UnknownFileName as error:
            result.files.append(SourceFile(path, None, name_error=str(error).replace(str(path), path.name)))
            continue
        if not _selected(archive, symbol_set, dataset_set, start_date, end_date):
            continue
        key = (archive.dataset, archive.market, archive.stem)
        groups.setdefault(key, []).append(SourceFile(path, archive))
    for copies in groups.values():
        chosen, *others = sorted(copies, key=_preference)
        result.files.append(chosen)
        result.duplicates.extend(
            SourceFile(other.path, other.archive, duplicate_of=chosen.path) for other in others
        )
    return result
