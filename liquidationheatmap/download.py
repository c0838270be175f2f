"""Mirror Binance's public futures archive into the same layout on disk, verified and resumable.

`plan_downloads` turns symbols, datasets and a date range into archive files (monthly where a
dataset only exists monthly, daily where it only exists daily, whole months as monthly files and the
remaining days as daily files for the others). `download_archive` fetches each zip and its
`.CHECKSUM`, keeps a zip only once its sha256 matches, writes both atomically (temp name in the same
folder, then `os.replace`), skips files already present and verified against their local
`.CHECKSUM`, retries transient failures with exponential backoff, records a 404 as missing, and
falls back to daily files when a monthly file is not published (yet).

Decisions worth knowing:
- A checksum mismatch is retried like a transient error (a proxy or a cut transfer can corrupt a
  body), and after the last attempt the file is rejected: nothing is kept and the run exits non-zero.
- The `.CHECKSUM` is written before the zip, so a zip on disk always has the checksum it was
  verified against beside it.
- A zip that exists without a published `.CHECKSUM` cannot be verified, so it is not kept (failed).
"""

from __future__ import annotations

import calendar
import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx

from liquidationheatmap.archive_layout import KLINE_INTERVALS, ArchiveFile
from liquidationheatmap.checksum import read_checksum_file, sha256_file
from liquidationheatmap.datasets import MARKETS, get_spec
from liquidationheatmap.logs import step_logger

DEFAULT_BASE_URL = "https://data.binance.vision"
_CHUNK = 1 << 16

# Statuses of one planned file.
DOWNLOADED = "downloaded"  # fetched and verified now
PRESENT = "present"  # already on disk and verified against its local .CHECKSUM: no request made
MISSING = "missing"  # the archive answered 404
FALLBACK = "fallback"  # monthly file not published: its daily files were planned instead
FAILED = "failed"  # anything else: not kept, the run exits non-zero


@dataclass(frozen=True)
class DownloadConfig:
    out: Path
    base_url: str = DEFAULT_BASE_URL
    concurrency: int = 4
    retries: int = 3  # extra attempts after the first one
    retry_base_delay: float = 1.0  # seconds; attempt n waits base * 2**(n-1), capped at retry_max_delay
    retry_max_delay: float = 30.0
    timeout: float = 60.0

    def url(self, file: ArchiveFile) -> str:
        return f"{self.base_url.rstrip('/')}/{file.relative_path().as_posix()}"

    def local_zip(self, file: ArchiveFile) -> Path:
        return self.out / Path(file.relative_path())


@dataclass
class FileResult:
    file: ArchiveFile
    status: str
    size_bytes: int = 0
    attempts: int = 0
    reason: str | None = None


@dataclass
class DownloadReport:
    results: list[FileResult] = field(default_factory=list)
    start: date | None = None
    end: date | None = None

    def by_status(self, status: str) -> list[FileResult]:
        return [r for r in self.results if r.status == status]

    @property
    def failed(self) -> list[FileResult]:
        return self.by_status(FAILED)

    @property
    def bytes_downloaded(self) -> int:
        return sum(r.size_bytes for r in self.by_status(DOWNLOADED))

    def missing_days(self) -> dict[tuple[str, str, str | None], list[date]]:
        """Days of the range that no file covers because the archive answered 404, per
        (dataset, symbol, kline interval)."""
        missing: dict[tuple[str, str, str | None], set[date]] = {}
        for result in self.by_status(MISSING):
            f = result.file
            days = [d for d in f.days() if _in_range(d, self.start, self.end)]
            missing.setdefault((f.dataset, f.symbol, f.interval), set()).update(days)
        return {key: sorted(days) for key, days in sorted(missing.items(), key=lambda kv: str(kv[0]))}

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def _in_range(day: date, start: date | None, end: date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


# --------------------------------------------------------------------------------------------- plan


def _month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _months_touching(start: date, end: date) -> list[tuple[int, int]]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def daily_files_of_month(monthly: ArchiveFile) -> list[ArchiveFile]:
    """The daily files that replace a monthly file that is not published (e.g. the current month)."""
    return [
        ArchiveFile(monthly.dataset, monthly.symbol, "daily", d.isoformat(), monthly.interval, monthly.market)
        for d in monthly.days()
    ]


def plan_downloads(
    symbols: Sequence[str],
    datasets: Sequence[str],
    start: date,
    end: date,
    market: str = "um",
    kline_interval: str = "1m",
) -> list[ArchiveFile]:
    """The archive files that cover [start, end] for each symbol and dataset.

    fundingRate (monthly only): every month that touches the range. metrics, bookDepth (daily
    only): every day. Others: months wholly inside the range as monthly files, other days daily.
    """
    if end < start:
        raise ValueError(f"end date {end} is before start date {start}")
    if market not in MARKETS:
        raise ValueError(f"unknown market {market!r}; expected one of {', '.join(MARKETS)}")
    if kline_interval not in KLINE_INTERVALS:
        raise ValueError(f"unknown kline interval {kline_interval!r}; known: {', '.join(KLINE_INTERVALS)}")
    plan: list[ArchiveFile] = []
    for symbol in symbols:
        for dataset in datasets:
            spec = get_spec(dataset)
            interval = kline_interval if spec.has_interval else None

            def daily(day: date) -> ArchiveFile:
                return ArchiveFile(dataset, symbol, "daily", day.isoformat(), interval, market)  # noqa: B023

            def monthly(y: int, m: int) -> ArchiveFile:
                return ArchiveFile(dataset, symbol, "monthly", f"{y:04d}-{m:02d}", interval, market)  # noqa: B023

            if not spec.daily:
                plan.extend(monthly(y, m) for y, m in _months_touching(start, end))
            elif not spec.monthly:
                plan.extend(daily(d) for d in _days(start, end))
            else:
                for y, m in _months_touching(start, end):
                    first, last = _month_bounds(y, m)
                    if start <= first and last <= end:
                        plan.append(monthly(y, m))
                    else:
                        plan.extend(daily(d) for d in _days(max(first, start), min(last, end)))
    return plan


# ----------------------------------------------------------------------------------------- transfer


class _Transient(Exception):
    """A failure worth another attempt (5xx, 429, cut connection, short body, checksum mismatch)."""


class _Permanent(Exception):
    """A failure another attempt will not fix (403, 400, a malformed .CHECKSUM...)."""


class _NotFound(Exception):
    """The archive answered 404."""


def _temp_path(final: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    os.close(fd)
    return Path(name)


def _remove_stale_temps(final: Path) -> None:
    """Temp files a killed earlier run left beside `final` (never visible under the final name)."""
    for stale in final.parent.glob(f".{final.name}.*.part"):
        with contextlib.suppress(OSError):
            stale.unlink()


def _remove_empty_folders(folder: Path, root: Path) -> None:
    """Undo the folders made for a file that was not kept (a 404 must not leave an empty tree)."""
    root = root.absolute()
    folder = folder.absolute()
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()  # only succeeds when empty; another file of the folder may be in flight
        except OSError:
            return
        folder = folder.parent


def _stream_to(client: httpx.Client, url: str, target: Path, on_bytes: Callable[[int], None]) -> int:
    """GET url into target; returns the byte count. Raises _NotFound, _Transient or _Permanent."""
    try:
        with client.stream("GET", url) as response:
            status = response.status_code
            if status == 404:
                raise _NotFound(f"404 Not Found: {url}")
            if status >= 500 or status == 429:
                raise _Transient(f"HTTP {status} from {url}")
            if status != 200:
                raise _Permanent(f"HTTP {status} from {url}")
            expected = response.headers.get("content-length")
            written = 0
            with target.open("wb") as handle:
                for chunk in response.iter_bytes(_CHUNK):
                    handle.write(chunk)
                    written += len(chunk)
                    on_bytes(len(chunk))
            received = response.num_bytes_downloaded
            if expected is not None and expected.isdigit() and received != int(expected):
                raise _Transient(f"short read from {url}: {received} of {expected} bytes")
            return written
    except httpx.TransportError as error:  # connection reset, cut body, timeout
        raise _Transient(f"{type(error).__name__} from {url}: {error}") from error


def _verified_locally(zip_path: Path) -> bool:
    checksum_path = zip_path.with_name(zip_path.name + ".CHECKSUM")
    if not (zip_path.is_file() and checksum_path.is_file()):
        return False
    try:
        return read_checksum_file(checksum_path) == sha256_file(zip_path)
    except (OSError, ValueError):
        return False


def _attempt(
    client: httpx.Client, config: DownloadConfig, file: ArchiveFile, on_bytes: Callable[[int], None]
) -> int:
    """One attempt at one file: zip to a temp name, then its CHECKSUM, verify, then replace both."""
    final_zip = config.local_zip(file)
    final_sum = final_zip.with_name(final_zip.name + ".CHECKSUM")
    url = config.url(file)
    zip_tmp = _temp_path(final_zip)
    sum_tmp = _temp_path(final_sum)
    try:
        size = _stream_to(client, url, zip_tmp, on_bytes)
        try:
            _stream_to(client, url + ".CHECKSUM", sum_tmp, lambda n: None)
        except _NotFound:
            raise _Permanent(f"{url}.CHECKSUM is not published: the zip cannot be verified") from None
        try:
            expected = read_checksum_file(sum_tmp)
        except ValueError:
            raise _Permanent(f"{url}.CHECKSUM holds no sha256 digest") from None
        actual = sha256_file(zip_tmp)
        if actual != expected:
            raise _Transient(f"checksum mismatch for {file.zip_name}: got {actual}, CHECKSUM says {expected}")
        os.replace(sum_tmp, final_sum)
        os.replace(zip_tmp, final_zip)
        return size
    finally:
        for tmp in (zip_tmp, sum_tmp):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def download_file(
    client: httpx.Client,
    config: DownloadConfig,
    file: ArchiveFile,
    on_bytes: Callable[[int], None] = lambda n: None,
    sleep: Callable[[float], None] = time.sleep,
) -> FileResult:
    """Fetch one archive file (unless present and verified), retrying transient failures."""
    log = step_logger(__name__, "download", file.symbol)
    final_zip = config.local_zip(file)
    if _verified_locally(final_zip):
        return FileResult(file, PRESENT, final_zip.stat().st_size, 0)
    try:
        final_zip.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return FileResult(file, FAILED, 0, 0, f"cannot create {final_zip.parent}: {error}")
    _remove_stale_temps(final_zip)
    _remove_stale_temps(final_zip.with_name(final_zip.name + ".CHECKSUM"))
    attempts = 0
    while True:
        attempts += 1
        try:
            size = _attempt(client, config, file, on_bytes)
            log.info("downloaded %s (%d bytes, %d attempts)", file.zip_name, size, attempts)
            return FileResult(file, DOWNLOADED, size, attempts)
        except _NotFound as error:
            log.info("missing %s: %s", file.zip_name, error)
            return FileResult(file, MISSING, 0, attempts, str(error))
        except _Permanent as error:
            log.error("failed %s: %s", file.zip_name, error)
            return FileResult(file, FAILED, 0, attempts, str(error))
        except _Transient as error:
            if attempts > config.retries:
                log.error("failed %s after %d attempts: %s", file.zip_name, attempts, error)
                return FileResult(file, FAILED, 0, attempts, f"{error} (after {attempts} attempts)")
            delay = min(config.retry_base_delay * 2 ** (attempts - 1), config.retry_max_delay)
            log.warning("retrying %s in %.2fs: %s", file.zip_name, delay, error)
            sleep(delay)
        except OSError as error:  # disk full, permission denied: another attempt will not help
            log.error("failed %s: %s", file.zip_name, error)
            return FileResult(file, FAILED, 0, attempts, f"{final_zip}: {error}")


# ---------------------------------------------------------------------------------------------- run


class ProgressSink:
    """What download_archive reports to (the rich progress bar in the command; nothing in tests)."""

    def add_files(self, count: int) -> None: ...

    def file_done(self, result: FileResult) -> None: ...

    def bytes_received(self, count: int) -> None: ...


def _collect(
    running: set[Future[FileResult]],
    submit: Callable[[ArchiveFile], None],
    report: DownloadReport,
    sink: ProgressSink,
    start: date | None,
    end: date | None,
) -> None:
    """Gather results as transfers finish; a monthly 404 queues its daily files in its place."""
    while running:
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            running.discard(future)
            result = future.result()
            if (
                result.status == MISSING
                and result.file.frequency == "monthly"
                and get_spec(result.file.dataset).daily
            ):
                result.status = FALLBACK
                result.reason = f"{result.reason}; fetching its daily files instead"
                dailies = [d for d in daily_files_of_month(result.file) if _in_range(d.first_day, start, end)]
                sink.add_files(len(dailies))
                for daily in dailies:
                    submit(daily)
            report.results.append(result)
            sink.file_done(result)


def download_archive(
    plan: Iterable[ArchiveFile],
    config: DownloadConfig,
    progress: ProgressSink | None = None,
    start: date | None = None,
    end: date | None = None,
) -> DownloadReport:
    """Fetch every planned file with at most `config.concurrency` transfers at once.

    A monthly file that answers 404 becomes FALLBACK and its daily files are fetched instead.
    """
    if config.concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if config.retries < 0:
        raise ValueError("retries must be 0 or more")
    sink = progress or ProgressSink()
    pending = list(plan)
    sink.add_files(len(pending))
    report = DownloadReport(start=start, end=end)
    limits = httpx.Limits(max_connections=config.concurrency, max_keepalive_connections=config.concurrency)
    with (
        httpx.Client(timeout=config.timeout, limits=limits, follow_redirects=True) as client,
        ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="download") as pool,
    ):
        running: set[Future[FileResult]] = set()

        def submit(file: ArchiveFile) -> None:
            running.add(pool.submit(download_file, client, config, file, sink.bytes_received))

        try:
            for file in pending:
                submit(file)
            _collect(running, submit, report, sink, start, end)
        except BaseException:  # Ctrl-C: drop queued files; transfers in flight clean their temp files
            for future in running:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    # After all transfers (no thread can be about to write there): folders made for files not kept.
    for result in report.results:
        if result.status in (MISSING, FAILED):
            _remove_empty_folders(config.local_zip(result.file).parent, config.out)
    # a monthly file before the daily files that replaced it
    report.results.sort(
        key=lambda r: (
            r.file.symbol,
            r.file.dataset,
            r.file.interval or "",
            r.file.first_day,
            r.file.frequency != "monthly",
        )
    )
    return report


def compress_days(days: Sequence[date]) -> list[str]:
    """Runs of consecutive days as 'YYYY-MM-DD' or 'YYYY-MM-DD..YYYY-MM-DD'."""
    runs: list[str] = []
    if not days:
        return runs
    first = prev = days[0]
    for day in [*days[1:], None]:
        if day is not None and day == prev + timedelta(days=1):
            prev = day
            continue
        runs.append(first.isoformat() if first == prev else f"{first.isoformat()}..{prev.isoformat()}")
        if day is not None:
            first = prev = day
    return runs
