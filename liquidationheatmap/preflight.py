"""Pre-flight for ingest: what is in a data folder, what is missing, and will ingest have room to run.

`run_preflight` finds the files exactly as ingest does (`ingest.discovery.discover`: every `.zip`
and `.csv` under the folder except hidden names and the lake, named as `archive_layout` parses them,
a zip preferred over its extracted csv), and summarises them per dataset and symbol: date range,
file counts, missing days (gaps between the first and last day, a monthly file covering all its
days), files that cannot be verified (no `.CHECKSUM`), days covered twice. It estimates the lake
size against the free disk space at the lake path and checks that the lake and the warehouse's
folder are writable (without leaving anything behind).

Errors (ingest would fail or reject files; exit non-zero): the folder is missing or holds no
recognised file; unrecognised, empty or unreadable files (ingest rejects them); a checksum mismatch
(only looked for with `verify_checksums`, as it reads every byte); not enough free space for the
estimated lake; the lake or warehouse location is not writable. Everything else is a warning.

Ingest ignores, and so does this (reported as warnings): files that are neither .zip nor .csv
(`.CHECKSUM` files are read beside their zip), hidden names ('.'-prefixed, e.g. `download`'s temp
files), and copies of a file it already takes (a zip's extracted csv).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from liquidationheatmap.archive_layout import ArchiveFile
from liquidationheatmap.checksum import read_checksum_file, sha256_file
from liquidationheatmap.ingest.discovery import SOURCE_SUFFIXES, discover
from liquidationheatmap.ingest.manifest import lake_state

# Lake bytes per source byte, measured by writing DuckDB Parquet (zstd, default level) from
# synthetic files shaped like Binance's (1 M aggTrades rows of a random-walk price; 30 days of
# metrics; a day of bookDepth at 10 s steps), zipped with deflate as Binance does. Measured:
# aggTrades 0.52 of the zip (0.12 of the csv), metrics 1.16 (0.44), bookDepth 0.75 (0.27); the
# figures below round up with a margin, and reuse the nearest measured shape for the others.
LAKE_RATIO_ZIP: dict[str, float] = {
    "aggTrades": 0.6,
    "trades": 0.6,
    "klines": 1.2,
    "markPriceKlines": 1.2,
    "fundingRate": 1.2,
    "metrics": 1.2,
    "bookDepth": 0.8,
}
LAKE_RATIO_CSV: dict[str, float] = {
    "aggTrades": 0.15,
    "trades": 0.15,
    "klines": 0.5,
    "markPriceKlines": 0.5,
    "fundingRate": 0.5,
    "metrics": 0.5,
    "bookDepth": 0.3,
}
# Each source day becomes one Parquet file; a tiny one still costs its footer and metadata
# (measured 730 bytes per day on the real fundingRate sample split by day).
LAKE_BYTES_PER_OUTPUT_FILE = 1024
# Free space kept aside beyond the estimate (manifest, temp files, the filesystem's own margin).
DISK_MARGIN = 1.1


@dataclass(frozen=True)
class FoundFile:
    path: Path
    archive: ArchiveFile
    kind: str  # "zip" | "csv"
    size_bytes: int
    checksum_path: Path | None  # the `.CHECKSUM` beside a zip, if there is one

    @property
    def estimated_lake_bytes(self) -> int:
        ratios = LAKE_RATIO_ZIP if self.kind == "zip" else LAKE_RATIO_CSV
        # A dataset without a measured ratio (the truth files) is estimated like klines, the largest.
        ratio = ratios.get(self.archive.dataset, ratios["klines"])
        return int(self.size_bytes * ratio) + LAKE_BYTES_PER_OUTPUT_FILE * len(self.archive.days())


@dataclass
class GroupSummary:
    """What the folder holds for one dataset, symbol, market (and kline interval)."""

    dataset: str
    symbol: str
    market: str
    interval: str | None
    files: list[FoundFile]
    first_day: date
    last_day: date
    missing_days: list[date]
    overlapping_days: list[date]  # days a monthly and a daily file both cover

    @property
    def label(self) -> str:
        return self.dataset + (f" {self.interval}" if self.interval else "")

    @property
    def daily_files(self) -> int:
        return sum(f.archive.frequency == "daily" for f in self.files)

    @property
    def monthly_files(self) -> int:
        return sum(f.archive.frequency == "monthly" for f in self.files)

    @property
    def zip_files(self) -> int:
        return sum(f.kind == "zip" for f in self.files)

    @property
    def csv_files(self) -> int:
        return sum(f.kind == "csv" for f in self.files)

    @property
    def without_checksum(self) -> list[FoundFile]:
        """Files ingest will load as unverified: zips without a `.CHECKSUM`, and extracted csvs."""
        return [f for f in self.files if f.checksum_path is None]

    @property
    def source_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)

    @property
    def estimated_lake_bytes(self) -> int:
        return sum(f.estimated_lake_bytes for f in self.files)


@dataclass(frozen=True)
class Writability:
    path: Path
    ok: bool
    message: str


@dataclass
class PreflightReport:
    data_dir: Path
    groups: list[GroupSummary] = field(default_factory=list)
    unrecognised: list[tuple[Path, str]] = field(default_factory=list)  # (file, why)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)  # empty or broken zips
    checksum_mismatches: list[Path] = field(default_factory=list)
    checksums_verified: int = 0
    orphan_checksums: list[Path] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)  # hidden, or neither .zip nor .csv
    duplicates: list[tuple[Path, Path]] = field(default_factory=list)  # (copy, the file ingest takes)
    lake: Path | None = None
    estimated_lake_bytes: int = 0
    already_in_lake_bytes: int = 0  # estimate for files the lake's manifest already lists
    free_bytes: int | None = None
    lake_writable: Writability | None = None
    warehouse_writable: Writability | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def recognised_files(self) -> int:
        return sum(len(g.files) for g in self.groups)

    @property
    def needed_bytes(self) -> int:
        return int(max(0, self.estimated_lake_bytes - self.already_in_lake_bytes) * DISK_MARGIN)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


# ------------------------------------------------------------------------------------------ walking


def _ignored_by_ingest(data_dir: Path, lake: Path | None) -> tuple[list[Path], list[Path]]:
    """What ingest's discovery passes over without a word: hidden names, and files that are neither
    .zip nor .csv (returned apart: `.CHECKSUM` files, then the rest)."""
    skip = lake.resolve() if lake is not None else None
    checksums: list[Path] = []
    ignored: list[Path] = []
    for root, dirs, names in os.walk(data_dir):
        here = Path(root)
        for name in sorted(dirs):
            if (here / name).resolve() == skip:
                dirs.remove(name)
            elif name.startswith("."):
                dirs.remove(name)
                ignored.append(here / name)
        dirs.sort()
        for name in sorted(names):
            if name.startswith("."):
                ignored.append(here / name)
            elif name.endswith(".CHECKSUM"):
                checksums.append(here / name)
            elif not name.endswith(SOURCE_SUFFIXES):
                ignored.append(here / name)
    return checksums, sorted(ignored)


def _zip_problem(path: Path) -> str | None:
    """Why ingest could not open this zip (reads only its directory), or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError) as error:
        return f"not a readable zip ({error}); truncated or corrupt download?"
    if not any(m.filename.lower().endswith(".csv") for m in members):
        return "zip holds no csv file"
    return None


def scan_data_dir(
    data_dir: Path, report: PreflightReport, lake: Path | None = None, verify_checksums: bool = False
) -> list[FoundFile]:
    """The files ingest would load from data_dir; record what it would reject or pass over."""
    discovery = discover(data_dir, lake=lake)
    checksums, report.ignored = _ignored_by_ingest(data_dir, lake)
    zips = {s.path for s in [*discovery.files, *discovery.duplicates] if s.path.suffix == ".zip"}
    report.orphan_checksums = [
        c for c in checksums if c.with_name(c.name.removesuffix(".CHECKSUM")) not in zips
    ]
    report.duplicates = [(d.path, d.duplicate_of) for d in discovery.duplicates if d.duplicate_of is not None]
    checksum_set = set(checksums)
    found: list[FoundFile] = []
    for source in discovery.files:
        path = source.path
        if source.archive is None:
            why = (source.name_error or "not a Binance archive file name").removeprefix(f"{path.name}: ")
            report.unrecognised.append((path, why))
            continue
        kind = path.suffix.lstrip(".")
        size = path.stat().st_size
        checksum = path.with_name(path.name + ".CHECKSUM") if kind == "zip" else None
        checksum = checksum if checksum in checksum_set else None
        problem = "empty file (0 bytes)" if size == 0 else (_zip_problem(path) if kind == "zip" else None)
        if problem:
            report.unreadable.append((path, problem))
            continue
        if verify_checksums and checksum is not None:
            try:
                expected = read_checksum_file(checksum)
            except ValueError as error:
                report.unreadable.append((checksum, str(error).removeprefix(f"{checksum}: ")))
                continue
            if sha256_file(path) != expected:
                report.checksum_mismatches.append(path)
                continue
            report.checksums_verified += 1
        found.append(FoundFile(path, source.archive, kind, size, checksum))
    report.unrecognised.sort()
    return found


# ---------------------------------------------------------------------------------------- summaries


def summarise(found: list[FoundFile]) -> list[GroupSummary]:
    """Per (dataset, symbol, market, interval): range, missing days between first and last, overlaps."""
    groups: dict[tuple[str, str, str, str], list[FoundFile]] = {}
    for f in found:
        a = f.archive
        groups.setdefault((a.dataset, a.symbol, a.market, a.interval or ""), []).append(f)
    summaries = []
    for (dataset, symbol, market, interval), files in sorted(groups.items()):
        covered: dict[date, int] = {}
        for f in files:
            for day in f.archive.days():
                covered[day] = covered.get(day, 0) + 1
        first, last = min(covered), max(covered)
        span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        files.sort(key=lambda f: (f.archive.first_day, f.archive.frequency, f.path.name))
        summaries.append(
            GroupSummary(
                dataset=dataset,
                symbol=symbol,
                market=market,
                interval=interval or None,
                files=files,
                first_day=first,
                last_day=last,
                missing_days=[d for d in span if d not in covered],
                overlapping_days=sorted(d for d, n in covered.items() if n > 1),
            )
        )
    return summaries


# ------------------------------------------------------------------------------------ disk and writes


def nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable_dir(directory: Path) -> Writability:
    """Can files be created in `directory` (or, if it does not exist yet, can it be created)?

    Tries for real (a temp file in the nearest existing folder, removed at once) rather than trusting
    permission bits, which say nothing about read-only mounts or root.
    """
    existing = nearest_existing(directory)
    if not existing.is_dir():
        return Writability(directory, False, f"{existing} is a file, so {directory} cannot be a folder")
    try:
        handle, name = tempfile.mkstemp(prefix=".liquidationheatmap-write-test-", dir=existing)
    except OSError as error:
        return Writability(directory, False, f"cannot write in {existing}: {error.strerror or error}")
    os.close(handle)
    os.unlink(name)
    if existing == directory.absolute():
        return Writability(directory, True, f"{directory} is writable")
    return Writability(directory, True, f"{directory} does not exist yet; it can be created in {existing}")


def check_warehouse(warehouse: Path) -> Writability:
    """DuckDB writes the warehouse file and a `.wal` beside it: the file (if any) and its folder must
    be writable."""
    if warehouse.is_dir():
        return Writability(warehouse, False, f"{warehouse} is a folder; the warehouse path must name a file")
    folder = check_writable_dir(warehouse.parent)
    if not folder.ok:
        return Writability(warehouse, False, folder.message)
    if warehouse.exists() and not os.access(warehouse, os.W_OK):
        return Writability(warehouse, False, f"{warehouse} exists and is read-only")
    state = "exists" if warehouse.exists() else "will be created"
    return Writability(warehouse, True, f"{warehouse} {state}; {folder.message}")


def _already_ingested(lake: Path, found: list[FoundFile]) -> int:
    """Estimated lake bytes of files the lake's manifest already holds as loaded with the same size:
    ingesting them again writes nothing new (ingest compares sha256; size is the cheap stand-in)."""
    try:
        state = lake_state(lake)
    except Exception:  # an unreadable manifest is ingest's to report; the estimate stays whole
        return 0
    total = 0
    for f in found:
        record = state.get((f.archive.dataset, f.archive.market, f.archive.stem))
        if record is not None and record.size_bytes == f.size_bytes:
            total += f.estimated_lake_bytes
    return total


# ------------------------------------------------------------------------------------------- runner


def _names(items: list[Path], limit: int = 10) -> str:
    shown = ", ".join(str(p) for p in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def run_preflight(
    data_dir: Path, warehouse: Path, lake: Path, verify_checksums: bool = False
) -> PreflightReport:
    report = PreflightReport(data_dir=data_dir, lake=lake)
    if not data_dir.exists():
        report.errors.append(f"data folder {data_dir} does not exist")
        return report
    if not data_dir.is_dir():
        report.errors.append(f"data folder {data_dir} is a file, not a folder")
        return report

    found = scan_data_dir(data_dir, report, lake, verify_checksums)
    report.groups = summarise(found)
    report.estimated_lake_bytes = sum(g.estimated_lake_bytes for g in report.groups)
    report.already_in_lake_bytes = _already_ingested(lake, found)
    report.free_bytes = shutil.disk_usage(nearest_existing(lake)).free
    report.lake_writable = check_writable_dir(lake)
    report.warehouse_writable = check_warehouse(warehouse)

    if not found:
        report.errors.append(
            f"no Binance archive files found under {data_dir} (expected names like "
            "BTCUSDT-aggTrades-2024-01-01.zip or .csv, in the archive layout or a flat folder)"
        )
    for path, why in report.unrecognised:
        report.errors.append(
            f"unrecognised file {path}: {why}; ingest would reject it (move it out of {data_dir})"
        )
    for path, why in report.unreadable:
        report.errors.append(f"{path}: {why}; ingest would reject it")
    for path in report.checksum_mismatches:
        report.errors.append(f"{path}: sha256 does not match {path.name}.CHECKSUM; ingest would reject it")
    if report.free_bytes is not None and report.needed_bytes > report.free_bytes:
        report.errors.append(
            f"not enough disk space at {nearest_existing(lake)}: the lake needs about "
            f"{human_bytes(report.needed_bytes)} (estimate with a {DISK_MARGIN - 1:.0%} margin), "
            f"{human_bytes(report.free_bytes)} free"
        )
    for writable, what in ((report.lake_writable, "lake"), (report.warehouse_writable, "warehouse")):
        if not writable.ok:
            report.errors.append(f"{what} is not writable: {writable.message}")

    for group in report.groups:
        where = f"{group.label} {group.symbol} ({group.market})"
        if group.missing_days:
            report.warnings.append(f"{where}: {len(group.missing_days)} missing day(s) between "
                                   f"{group.first_day} and {group.last_day}")  # fmt: skip
        if group.overlapping_days:
            report.warnings.append(
                f"{where}: {len(group.overlapping_days)} day(s) covered by both a monthly and a daily "
                "file; the lake will hold their rows twice"
            )
        if group.without_checksum:
            report.warnings.append(
                f"{where}: {len(group.without_checksum)} file(s) without .CHECKSUM will load as unverified"
            )
    if report.orphan_checksums:
        report.warnings.append(f".CHECKSUM files without their zip: {_names(report.orphan_checksums)}")
    if report.duplicates:
        copies = [copy for copy, _ in report.duplicates]
        report.warnings.append(f"copies ingest skips (it takes the zip): {_names(copies)}")
    if report.ignored:
        report.warnings.append(f"ignored (hidden, or neither .zip nor .csv): {_names(report.ignored)}")
    return report


def human_bytes(count: int) -> str:
    """Decimal units, as disk tools print them: 950 B, 1.2 MB, 79.0 GB."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
