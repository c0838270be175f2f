"""download against a local archive mirror: verify, retry, 404s, cut transfers, resume, fallback."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import httpx

from liquidationheatmap import cli
from liquidationheatmap.archive_layout import ArchiveFile
from liquidationheatmap.download import (
    DOWNLOADED,
    FAILED,
    FALLBACK,
    MISSING,
    PRESENT,
    DownloadConfig,
    download_archive,
    download_file,
    plan_downloads,
)


def _daily(dataset: str, day: str, symbol: str = "BTCUSDT") -> ArchiveFile:
    return ArchiveFile(dataset, symbol, "daily", day)


def _config(mirror, out: Path, **kwargs) -> DownloadConfig:
    settings = {"retries": 3, "retry_base_delay": 0.001, "concurrency": 2, "timeout": 10.0, **kwargs}
    return DownloadConfig(out=out, base_url=mirror.base_url, **settings)


def _files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _metrics_days(mirror, days: list[str]) -> dict[str, bytes]:
    return {day: mirror.publish(_daily("metrics", day), f"2024-01-01 00:05:00,BTCUSDT,{i}\n") for i, day in
            enumerate(days)}  # fmt: skip


def test_missing_day_is_recorded_as_missing_and_the_rest_is_mirrored(mirror, tmp_path):
    payloads = _metrics_days(mirror, ["2024-01-01", "2024-01-02", "2024-01-04"])
    plan = plan_downloads(["BTCUSDT"], ["metrics"], date(2024, 1, 1), date(2024, 1, 4))

    report = download_archive(plan, _config(mirror, tmp_path), start=date(2024, 1, 1), end=date(2024, 1, 4))

    assert [(r.file.period, r.status) for r in report.results] == [
        ("2024-01-01", DOWNLOADED),
        ("2024-01-02", DOWNLOADED),
        ("2024-01-03", MISSING),
        ("2024-01-04", DOWNLOADED),
    ]
    assert report.missing_days() == {("metrics", "BTCUSDT", None): [date(2024, 1, 3)]}
    assert report.exit_code == 0
    folder = "data/futures/um/daily/metrics/BTCUSDT"
    assert _files_under(tmp_path) == [
        f"{folder}/BTCUSDT-metrics-{day}.zip{suffix}"
        for day in ("2024-01-01", "2024-01-02", "2024-01-04")
        for suffix in ("", ".CHECKSUM")
    ]
    for day, payload in payloads.items():
        assert (tmp_path / folder / f"BTCUSDT-metrics-{day}.zip").read_bytes() == payload
    checksum = (tmp_path / folder / "BTCUSDT-metrics-2024-01-01.zip.CHECKSUM").read_text()
    assert (
        checksum == f"{hashlib.sha256(payloads['2024-01-01']).hexdigest()}  BTCUSDT-metrics-2024-01-01.zip\n"
    )
    # the missing day was asked for once (its CHECKSUM is never asked for), the others zip + CHECKSUM
    assert sorted(p.rsplit("/", 1)[1] for p, _ in mirror.requests) == [
        "BTCUSDT-metrics-2024-01-01.zip",
        "BTCUSDT-metrics-2024-01-01.zip.CHECKSUM",
        "BTCUSDT-metrics-2024-01-02.zip",
        "BTCUSDT-metrics-2024-01-02.zip.CHECKSUM",
        "BTCUSDT-metrics-2024-01-03.zip",
        "BTCUSDT-metrics-2024-01-04.zip",
        "BTCUSDT-metrics-2024-01-04.zip.CHECKSUM",
    ]


def test_second_run_makes_no_request_for_files_already_verified(mirror, tmp_path):
    _metrics_days(mirror, ["2024-01-01", "2024-01-02"])
    mirror.publish(ArchiveFile("fundingRate", "BTCUSDT", "monthly", "2024-01"))
    plan = plan_downloads(["BTCUSDT"], ["metrics", "fundingRate"], date(2024, 1, 1), date(2024, 1, 2))
    first = download_archive(plan, _config(mirror, tmp_path))
    assert [r.status for r in first.results] == [DOWNLOADED] * 3
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    mirror.requests.clear()

    second = download_archive(plan, _config(mirror, tmp_path))

    assert [r.status for r in second.results] == [PRESENT] * 3
    assert [r.attempts for r in second.results] == [0, 0, 0]
    assert mirror.requests == []
    assert second.bytes_downloaded == 0
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == before


def test_local_zip_that_no_longer_matches_its_checksum_is_fetched_again(mirror, tmp_path):
    file = _daily("aggTrades", "2024-01-05")
    payload = mirror.publish(file, "1,100.0,0.5,1,1,1704412800000,false\n")
    config = _config(mirror, tmp_path)
    download_archive([file], config)
    local = config.local_zip(file)
    local.write_bytes(payload[:-10])  # damaged on disk since
    mirror.requests.clear()

    report = download_archive([file], config)

    assert [(r.status, r.attempts) for r in report.results] == [(DOWNLOADED, 1)]
    assert mirror.zip_requests() == [file.relative_path().as_posix()]
    assert local.read_bytes() == payload


def test_checksum_mismatch_is_retried_then_rejected_and_nothing_is_kept(mirror, tmp_path):
    file = _daily("aggTrades", "2024-01-05")
    mirror.publish(file, checksum="0" * 64)
    config = _config(mirror, tmp_path, retries=2)

    report = download_archive([file], config)

    result = report.results[0]
    assert (result.status, result.attempts) == (FAILED, 3)
    assert result.reason.startswith("checksum mismatch for BTCUSDT-aggTrades-2024-01-05.zip: got ")
    assert result.reason.endswith(f"CHECKSUM says {'0' * 64} (after 3 attempts)")
    assert mirror.url_requests(file.relative_path().as_posix()) == 3
    assert report.exit_code == 1
    assert _files_under(tmp_path) == []  # no zip, no CHECKSUM, no temp file


def test_server_errors_and_a_reset_connection_are_retried_with_exponential_backoff(mirror, tmp_path):
    file = _daily("aggTrades", "2024-01-05")
    payload = mirror.publish(file)
    mirror.fault(file, "500", "reset", "503")
    config = _config(mirror, tmp_path, retry_base_delay=0.01, retries=3)
    sleeps: list[float] = []

    with httpx.Client(timeout=10.0) as client:
        result = download_file(client, config, file, sleep=sleeps.append)

    assert (result.status, result.attempts, result.size_bytes) == (DOWNLOADED, 4, len(payload))
    assert sleeps == [0.01, 0.02, 0.04]
    assert [status for _, status in mirror.requests] == [500, 0, 503, 200, 200]
    assert config.local_zip(file).read_bytes() == payload


def test_backoff_delay_is_capped(mirror, tmp_path):
    file = _daily("aggTrades", "2024-01-05")
    mirror.publish(file)
    mirror.fault(file, "500", "500", "500", "500")
    config = _config(mirror, tmp_path, retry_base_delay=1.0, retry_max_delay=3.0, retries=4)
    sleeps: list[float] = []

    with httpx.Client(timeout=10.0) as client:
        result = download_file(client, config, file, sleep=sleeps.append)

    assert (result.status, result.attempts) == (DOWNLOADED, 5)
    assert sleeps == [1.0, 2.0, 3.0, 3.0]


def test_transfer_cut_short_keeps_no_partial_file_and_the_retry_succeeds(mirror, tmp_path):
    file = _daily("aggTrades", "2024-01-05")
    payload = mirror.publish(
        file, "".join(f"{i},100.0,0.5,{i},{i},1704412800000,false\n" for i in range(500))
    )
    mirror.fault(file, "short")

    report = download_archive([file], _config(mirror, tmp_path))

    assert [(r.status, r.attempts, r.size_bytes) for r in report.results] == [(DOWNLOADED, 2, len(payload))]
    assert _config(mirror, tmp_path).local_zip(file).read_bytes() == payload
    assert [name.rsplit("/", 1)[1] for name in _files_under(tmp_path)] == [
        "BTCUSDT-aggTrades-2024-01-05.zip",
        "BTCUSDT-aggTrades-2024-01-05.zip.CHECKSUM",
    ]


def test_transfer_always_cut_short_is_reported_failed_with_no_file_left(mirror, tmp_path):
    file = _daily("aggTrades", "2024-01-05")
    mirror.publish(file, "".join(f"{i},100.0,0.5,{i},{i},1704412800000,false\n" for i in range(500)))
    mirror.fault(file, "short", "short", "short")

    report = download_archive([file], _config(mirror, tmp_path, retries=2))

    result = report.results[0]
    assert (result.status, result.attempts) == (FAILED, 3)
    assert result.reason.startswith("RemoteProtocolError from ")
    assert result.reason.endswith("(after 3 attempts)")
    assert report.exit_code == 1
    assert _files_under(tmp_path) == []


def test_forbidden_is_not_retried(mirror, tmp_path):
    file = _daily("aggTrades", "2024-01-05")
    mirror.publish(file)
    mirror.fault(file, "403")

    report = download_archive([file], _config(mirror, tmp_path))

    assert [(r.status, r.attempts) for r in report.results] == [(FAILED, 1)]
    assert report.results[0].reason == f"HTTP 403 from {mirror.base_url}/{file.relative_path().as_posix()}"
    assert report.exit_code == 1


def test_zip_without_published_checksum_is_not_kept(mirror, tmp_path):
    file = _daily("aggTrades", "2024-01-05")
    mirror.publish(file)
    del mirror.files[file.relative_path().as_posix() + ".CHECKSUM"]

    report = download_archive([file], _config(mirror, tmp_path))

    url = f"{mirror.base_url}/{file.relative_path().as_posix()}"
    assert [(r.status, r.reason) for r in report.results] == [
        (FAILED, f"{url}.CHECKSUM is not published: the zip cannot be verified")
    ]
    assert _files_under(tmp_path) == []


def test_unpublished_monthly_file_falls_back_to_its_daily_files(mirror, tmp_path):
    # February 2023 is wholly in the range, so a monthly file is planned; the server only has days.
    days = [date(2023, 2, d).isoformat() for d in range(1, 29) if d != 14]
    for day in days:
        mirror.publish(_daily("aggTrades", day))
    plan = plan_downloads(["BTCUSDT"], ["aggTrades"], date(2023, 2, 1), date(2023, 2, 28))
    assert [f.period for f in plan] == ["2023-02"]

    report = download_archive(plan, _config(mirror, tmp_path), start=date(2023, 2, 1), end=date(2023, 2, 28))

    statuses = [(r.file.period, r.status) for r in report.results]
    assert statuses[0] == ("2023-02", FALLBACK)
    assert statuses[1:] == [(date(2023, 2, d).isoformat(), MISSING if d == 14 else DOWNLOADED) for d in
                            range(1, 29)]  # fmt: skip
    assert report.missing_days() == {("aggTrades", "BTCUSDT", None): [date(2023, 2, 14)]}
    assert report.exit_code == 0
    assert len(list((tmp_path / "data/futures/um/daily/aggTrades/BTCUSDT").glob("*.zip"))) == 27


def test_missing_monthly_only_file_lists_only_the_days_in_range(mirror, tmp_path):
    plan = plan_downloads(["BTCUSDT"], ["fundingRate"], date(2024, 1, 30), date(2024, 2, 2))

    report = download_archive(plan, _config(mirror, tmp_path), start=date(2024, 1, 30), end=date(2024, 2, 2))

    assert [(r.file.period, r.status) for r in report.results] == [("2024-01", MISSING), ("2024-02", MISSING)]
    assert report.missing_days() == {
        ("fundingRate", "BTCUSDT", None): [
            date(2024, 1, 30),
            date(2024, 1, 31),
            date(2024, 2, 1),
            date(2024, 2, 2),
        ]
    }
    assert list(tmp_path.iterdir()) == []  # no empty folders left for files that do not exist


def test_concurrency_limits_transfers_in_flight(mirror, tmp_path):
    days = [date(2024, 1, d).isoformat() for d in range(1, 9)]
    _metrics_days(mirror, days)
    mirror.delay = 0.05
    plan = plan_downloads(["BTCUSDT"], ["metrics"], date(2024, 1, 1), date(2024, 1, 8))

    report = download_archive(plan, _config(mirror, tmp_path, concurrency=3))

    assert [r.status for r in report.results] == [DOWNLOADED] * 8
    assert mirror.max_in_flight == 3


def test_stale_temp_file_of_a_killed_run_is_removed(mirror, tmp_path):
    file = _daily("aggTrades", "2024-01-05")
    payload = mirror.publish(file)
    config = _config(mirror, tmp_path)
    folder = config.local_zip(file).parent
    folder.mkdir(parents=True)
    (folder / ".BTCUSDT-aggTrades-2024-01-05.zip.k1ll3d.part").write_bytes(b"half a zip")

    download_archive([file], config)

    assert sorted(p.name for p in folder.iterdir()) == [
        "BTCUSDT-aggTrades-2024-01-05.zip",
        "BTCUSDT-aggTrades-2024-01-05.zip.CHECKSUM",
    ]
    assert (folder / "BTCUSDT-aggTrades-2024-01-05.zip").read_bytes() == payload


def test_command_lists_missing_days_and_exits_zero(mirror, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _metrics_days(mirror, ["2024-01-01", "2024-01-04"])
    argv = ["download", "--symbol", "btcusdt", "--datasets", "metrics", "--start-date", "2024-01-01",
            "--end-date", "2024-01-04", "--out", "raw", "--base-url", mirror.base_url,
            "--retry-delay", "0.001"]  # fmt: skip

    status = cli.main(argv)

    out = capsys.readouterr().out
    assert status == 0
    assert "missing metrics BTCUSDT: 2 day(s): 2024-01-02..2024-01-03" in out
    assert len(list((tmp_path / "raw/data/futures/um/daily/metrics/BTCUSDT").glob("*.zip"))) == 2


def test_command_exits_non_zero_and_names_the_failed_file(mirror, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    mirror.publish(_daily("bookDepth", "2024-01-01"), checksum="f" * 64)
    argv = ["download", "--symbol", "BTCUSDT", "--datasets", "bookDepth", "--start-date", "2024-01-01",
            "--end-date", "2024-01-01", "--out", "raw", "--base-url", mirror.base_url, "--retries", "1",
            "--retry-delay", "0.001"]  # fmt: skip

    status = cli.main(argv)

    out = capsys.readouterr().out
    assert status == 1
    assert "failed BTCUSDT-bookDepth-2024-01-01.zip: checksum mismatch" in out
    assert "(after 2 attempts)" in out
    assert not (
        tmp_path / "raw/data/futures/um/daily/bookDepth/BTCUSDT/BTCUSDT-bookDepth-2024-01-01.zip"
    ).exists()


def test_command_rejects_end_before_start(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status = cli.main(
        ["download", "--symbol", "BTCUSDT", "--start-date", "2024-02-01", "--end-date", "2024-01-01"]
    )

    assert status == 2
    assert "end date 2024-01-01 is before start date 2024-02-01" in capsys.readouterr().out


def test_output_path_that_is_a_file_fails_the_file_without_crashing_the_run(mirror, tmp_path):
    file = _daily("aggTrades", "2024-01-05")
    mirror.publish(file)
    (tmp_path / "data").write_text("not a folder")

    report = download_archive([file], _config(mirror, tmp_path))

    assert [(r.status, r.attempts) for r in report.results] == [(FAILED, 0)]
    folder = tmp_path / "data/futures/um/daily/aggTrades/BTCUSDT"
    assert report.results[0].reason.startswith(f"cannot create {folder}: ")
    assert mirror.requests == []
