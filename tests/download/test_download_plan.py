"""Which archive files cover a date range: monthly vs daily per dataset."""

from __future__ import annotations

from datetime import date

import pytest

from liquidationheatmap.archive_layout import ArchiveFile
from liquidationheatmap.datasets import DEFAULT_DATASETS
from liquidationheatmap.download import compress_days, daily_files_of_month, plan_downloads


def _periods(plan: list[ArchiveFile]) -> list[tuple[str, str, str]]:
    return [(f.dataset, f.frequency, f.period) for f in plan]


def test_whole_months_are_monthly_files_and_edges_are_daily():
    plan = plan_downloads(["BTCUSDT"], ["aggTrades"], date(2024, 1, 29), date(2024, 3, 2))

    assert _periods(plan) == [
        ("aggTrades", "daily", "2024-01-29"),
        ("aggTrades", "daily", "2024-01-30"),
        ("aggTrades", "daily", "2024-01-31"),
        ("aggTrades", "monthly", "2024-02"),
        ("aggTrades", "daily", "2024-03-01"),
        ("aggTrades", "daily", "2024-03-02"),
    ]


def test_range_of_exactly_one_month_is_one_monthly_file():
    plan = plan_downloads(["BTCUSDT"], ["trades"], date(2024, 2, 1), date(2024, 2, 29))

    assert _periods(plan) == [("trades", "monthly", "2024-02")]


def test_funding_rate_is_monthly_for_every_month_touching_the_range():
    plan = plan_downloads(["BTCUSDT"], ["fundingRate"], date(2023, 12, 31), date(2024, 2, 1))

    assert _periods(plan) == [
        ("fundingRate", "monthly", "2023-12"),
        ("fundingRate", "monthly", "2024-01"),
        ("fundingRate", "monthly", "2024-02"),
    ]


def test_metrics_and_book_depth_are_daily_even_for_whole_months():
    plan = plan_downloads(["BTCUSDT"], ["metrics", "bookDepth"], date(2024, 2, 1), date(2024, 2, 29))

    assert len(plan) == 58
    assert {f.frequency for f in plan} == {"daily"}
    assert (plan[0].period, plan[28].period, plan[29].dataset, plan[57].period) == (
        "2024-02-01",
        "2024-02-29",
        "bookDepth",
        "2024-02-29",
    )


def test_plan_covers_each_symbol_and_builds_archive_urls():
    plan = plan_downloads(
        ["BTCUSDT", "ETHUSDT"],
        ["klines", "fundingRate"],
        date(2024, 1, 1),
        date(2024, 1, 1),
        kline_interval="1h",
    )

    assert [f.relative_path().as_posix() for f in plan] == [
        "data/futures/um/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01-01.zip",
        "data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-01.zip",
        "data/futures/um/daily/klines/ETHUSDT/1h/ETHUSDT-1h-2024-01-01.zip",
        "data/futures/um/monthly/fundingRate/ETHUSDT/ETHUSDT-fundingRate-2024-01.zip",
    ]


def test_coin_m_market_uses_the_cm_folder():
    plan = plan_downloads(["BTCUSD_PERP"], ["aggTrades"], date(2024, 1, 1), date(2024, 1, 1), market="cm")

    assert [f.relative_path().as_posix() for f in plan] == [
        "data/futures/cm/daily/aggTrades/BTCUSD_PERP/BTCUSD_PERP-aggTrades-2024-01-01.zip"
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"start": date(2024, 1, 2), "end": date(2024, 1, 1)},
            "end date 2024-01-01 is before start date 2024-01-02",
        ),
        ({"market": "spot"}, "unknown market 'spot'; expected one of um, cm"),
        ({"datasets": ["liquidationSnapshot"]}, "unknown dataset 'liquidationSnapshot'"),
    ],
)
def test_plan_rejects_bad_arguments(kwargs, message):
    args = {
        "symbols": ["BTCUSDT"],
        "datasets": ["aggTrades"],
        "start": date(2024, 1, 1),
        "end": date(2024, 1, 1),
    }
    with pytest.raises(ValueError, match=message):
        plan_downloads(**{**args, **kwargs})


def test_daily_files_of_a_monthly_file_cover_each_day_of_the_month():
    month = ArchiveFile("aggTrades", "BTCUSDT", "monthly", "2024-02")

    days = daily_files_of_month(month)

    assert [d.period for d in days][:2] == ["2024-02-01", "2024-02-02"]
    assert len(days) == 29
    assert days[-1].relative_path().as_posix() == (
        "data/futures/um/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-02-29.zip"
    )


def test_compress_days_joins_consecutive_days_into_ranges():
    days = [
        date(2024, 1, 1),
        date(2024, 1, 2),
        date(2024, 1, 3),
        date(2024, 1, 7),
        date(2024, 1, 9),
        date(2024, 1, 10),
    ]

    assert compress_days(days) == ["2024-01-01..2024-01-03", "2024-01-07", "2024-01-09..2024-01-10"]
    assert compress_days([]) == []


def test_mark_price_klines_are_planned_by_default_in_their_interval_folder():
    assert "markPriceKlines" in DEFAULT_DATASETS
    plan = plan_downloads(["BTCUSDT"], ["markPriceKlines"], date(2025, 1, 1), date(2025, 1, 2))
    assert [str(f.relative_path()) for f in plan] == [
        "data/futures/um/daily/markPriceKlines/BTCUSDT/1m/BTCUSDT-1m-2025-01-01.zip",
        "data/futures/um/daily/markPriceKlines/BTCUSDT/1m/BTCUSDT-1m-2025-01-02.zip",
    ]
