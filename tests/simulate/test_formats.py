"""The simulator writes Binance's archive layout and formats exactly."""

from __future__ import annotations

import hashlib
import itertools
import re
from datetime import date, datetime, timedelta

from simulated_files import DAYS, SEED, START, archive_path, read_rows, read_truth, read_zip_text

from liquidationheatmap.datasets import get_spec
from liquidationheatmap.simulate import simulate_market

DAY_STRINGS = [(START + timedelta(days=i)).isoformat() for i in range(DAYS)]


def _ms(day: str) -> int:
    return int(datetime.fromisoformat(day + "T00:00:00+00:00").timestamp() * 1000)


def test_every_zip_has_a_checksum_file_with_its_sha256_and_name(sim):
    zips = sorted(sim.out.rglob("*.zip"))
    # aggTrades, metrics, bookDepth, markPriceKlines daily + one fundingRate month
    assert len(zips) == 4 * DAYS + 1
    for path in zips:
        text = path.with_name(path.name + ".CHECKSUM").read_text()
        assert text == f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n"


def test_aggtrades_ids_are_consecutive_across_days_and_prices_sit_on_the_tick(sim):
    ids, trade_ids, times = [], [], []
    for day in DAY_STRINGS:
        header, rows = read_rows(archive_path(sim.out, "aggTrades", day))
        assert header == list(get_spec("aggTrades").column_names)
        assert len(rows) == sum(1 for _ in rows)
        start = _ms(day)
        for row in rows:
            assert re.fullmatch(r"\d+\.\d", row[1]), row  # BTCUSDT tick 0.1, printed like 76988.7
            assert re.fullmatch(r"\d+\.\d{1,3}", row[2]) and float(row[2]) >= 0.001, row
            assert row[6] in ("true", "false")
            assert start <= int(row[5]) < start + 86_400_000
        ids += [int(r[0]) for r in rows]
        trade_ids += [(int(r[3]), int(r[4])) for r in rows]
        times += [int(r[5]) for r in rows]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    assert all(first <= last for first, last in trade_ids)
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(trade_ids))
    assert all(a <= b for a, b in itertools.pairwise(times))
    assert sum(sim.rows["aggTrades"].values()) == len(ids)


def test_is_buyer_maker_is_true_for_the_fills_of_forced_sells(sim):
    # A long's liquidation is a taker SELL: its fills carry is_buyer_maker = true at its time.
    fills: dict[int, set[str]] = {}
    for day in DAY_STRINGS:
        for row in read_rows(archive_path(sim.out, "aggTrades", day))[1]:
            fills.setdefault(int(row[5]), set()).add(row[6])
    liquidations = read_truth(sim.out, "liquidations")
    assert len(liquidations) > 10
    for liq in liquidations:
        assert ("true" if liq["side"] == "SELL" else "false") in fills[int(liq["time"])]


def test_metrics_have_288_rows_a_day_labelled_by_period_start_from_2026_06_25(sim):
    for day in DAY_STRINGS:
        header, rows = read_rows(archive_path(sim.out, "metrics", day))
        assert header == list(get_spec("metrics").column_names)
        assert len(rows) == 288
        labels = [r[0] for r in rows]
        expected = [
            (datetime.fromisoformat(day) + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S")
            for i in range(288)
        ]
        assert labels == expected
        assert {r[1] for r in rows} == {"BTCUSDT"}
        assert all(re.fullmatch(r"\d+\.\d{8}", r[2]) for r in rows)


def test_metrics_before_2026_06_25_are_labelled_by_period_end(tmp_path):
    simulate_market(tmp_path, ["BTCUSDT"], date(2026, 6, 24), 1, 2_000, SEED, show_progress=False)
    _, rows = read_rows(archive_path(tmp_path, "metrics", "2026-06-24"))
    assert len(rows) == 288
    assert rows[0][0] == "2026-06-24 00:05:00"
    assert rows[-1][0] == "2026-06-25 00:00:00"


def test_funding_is_every_8_hours_a_few_ms_past_the_hour(sim):
    header, rows = read_rows(archive_path(sim.out, "fundingRate", "2026-10"))
    assert header == ["calc_time", "funding_interval_hours", "last_funding_rate"]
    times = [int(r[0]) for r in rows]
    assert len(rows) == 3 * DAYS
    assert [t // 1000 for t in times] == [_ms(DAY_STRINGS[0]) // 1000 + 8 * 3600 * i for i in range(3 * DAYS)]
    assert all(0 <= t % 1000 < 10 for t in times)
    assert {r[1] for r in rows} == {"8"}
    assert all(re.fullmatch(r"-?0\.\d{8}", r[2]) and abs(float(r[2])) <= 0.003 for r in rows)


def test_bookdepth_snapshots_hold_plus_minus_1_to_5_percent_with_depth_growing_outwards(sim):
    header, rows = read_rows(archive_path(sim.out, "bookDepth", DAY_STRINGS[0]))
    assert header == ["timestamp", "percentage", "depth", "notional"]
    assert len(rows) == 2880 * 10
    first = rows[:10]
    assert [r[1] for r in first] == ["-5", "-4", "-3", "-2", "-1", "1", "2", "3", "4", "5"]
    assert len({r[0] for r in first}) == 1
    bids = [float(r[2]) for r in first[:5]]
    asks = [float(r[2]) for r in first[5:]]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert all(float(r[3]) > float(r[2]) for r in rows[:100])


def test_legacy_headerless_writes_the_same_trades_without_the_header_row(tmp_path):
    plain, legacy = tmp_path / "plain", tmp_path / "legacy"
    simulate_market(plain, ["BTCUSDT"], START, 1, 3_000, SEED, show_progress=False)
    simulate_market(legacy, ["BTCUSDT"], START, 1, 3_000, SEED, legacy_headerless=True, show_progress=False)
    day = START.isoformat()
    with_header = read_zip_text(archive_path(plain, "aggTrades", day))
    without = read_zip_text(archive_path(legacy, "aggTrades", day))
    assert with_header.startswith("agg_trade_id,price,")
    assert re.match(r"\d+,\d+\.\d,", without)
    assert (
        with_header
        == "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n" + without
    )
    # Other datasets keep their headers.
    assert read_zip_text(archive_path(legacy, "metrics", day)).startswith("create_time,")
