"""The truth files agree with the archive files and with Binance's margin rule."""

from __future__ import annotations

import csv
import itertools
from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
from simulated_files import DAYS, START, archive_path, read_rows, read_truth

from liquidationheatmap.margin import liquidation_price, margin_table
from liquidationheatmap.simulate.traders import TraderParams, liquidation_prices

DAY_STRINGS = [(START + timedelta(days=i)).isoformat() for i in range(DAYS)]


def _steps(quantity: str) -> int:
    return round(float(quantity) * 1000)


def _open_long_steps_at(positions: list[dict[str, str]], marks: np.ndarray) -> np.ndarray:
    opened = np.array([int(p["opened_at"]) for p in positions if p["side"] == "long"])
    closed = np.array([int(p["closed_at"] or 2**62) for p in positions if p["side"] == "long"])
    qty = np.array([_steps(p["quantity"]) for p in positions if p["side"] == "long"])
    return np.array([int(qty[(opened < t) & (closed > t)].sum()) for t in marks])


def test_metrics_open_interest_equals_the_truths_open_positions_at_every_5_minute_mark(sim):
    positions = read_truth(sim.out, "positions")
    marks, oi = [], []
    for day in DAY_STRINGS:
        for row in read_rows(archive_path(sim.out, "metrics", day))[1]:
            label = datetime.fromisoformat(row[0] + "+00:00")
            marks.append(int((label + timedelta(minutes=5)).timestamp() * 1000))  # start-of-period labels
            oi.append(_steps(row[2]))
    expected = _open_long_steps_at(positions, np.array(marks))
    assert len(oi) == 288 * DAYS
    assert oi == expected.tolist()
    # Each contract has a long and a short side: open short quantity is the same number.
    shorts = [{**p, "side": "long" if p["side"] == "short" else "short"} for p in positions]
    assert _open_long_steps_at(shorts, np.array(marks[::37])).tolist() == oi[::37]


def test_trading_volume_exceeds_the_change_in_open_interest(sim):
    volume = defaultdict(int)
    for day in DAY_STRINGS:
        for row in read_rows(archive_path(sim.out, "aggTrades", day))[1]:
            volume[int(row[5]) // 300_000] += _steps(row[2])
    oi = [_steps(r[2]) for day in DAY_STRINGS for r in read_rows(archive_path(sim.out, "metrics", day))[1]]
    first = int(datetime.fromisoformat(DAY_STRINGS[0] + "T00:00:00+00:00").timestamp() * 1000) // 300_000
    deltas = [abs(b - a) for a, b in itertools.pairwise(oi)]
    vols = [volume[first + i + 1] for i in range(len(deltas))]
    # Every change of open interest is traded, and openings, closings and liquidations net out.
    assert all(v >= d for v, d in zip(vols, deltas, strict=True))
    assert sum(v > d for v, d in zip(vols, deltas, strict=True)) == len(deltas)
    assert sum(vols) > 2 * sum(deltas)


def test_every_liquidation_price_is_binances_rule_for_the_written_position(sim):
    table = margin_table("BTCUSDT", on=START)
    positions = read_truth(sim.out, "positions")
    assert len(positions) > 10_000
    for p in positions[::7]:
        got = liquidation_price(
            p["side"], float(p["entry_price"]), float(p["quantity"]), float(p["margin"]), table
        )
        if p["liquidation_price"] == "":
            assert got.price is None, p
        else:
            assert got.price == float(p["liquidation_price"]), p


def test_vectorised_liquidation_prices_equal_the_margin_module_bit_for_bit():
    table = margin_table("BTCUSDT", on=START)
    rng = np.random.default_rng(3)
    n = 4000
    sides = np.where(rng.random(n) < 0.5, 1, -1)
    entry = np.round(rng.uniform(20_000, 120_000, n), 1)
    qty = rng.integers(1, 40_000, n) / 1000
    lev = rng.integers(1, 126, n)
    wallet = np.round(qty * entry / lev, 8)
    got = liquidation_prices(sides, entry, qty, wallet, table)
    for i in range(n):
        expected = liquidation_price(
            "long" if sides[i] > 0 else "short", entry[i], qty[i], wallet[i], table
        ).price
        assert (np.isnan(got[i]) and expected is None) or got[i] == expected, i


def test_liquidated_positions_are_the_liquidation_orders_and_price_reached_them(sim):
    positions = [p for p in read_truth(sim.out, "positions") if p["close_reason"] == "liquidated"]
    orders = read_truth(sim.out, "liquidations")
    assert len(orders) == len(positions) > 10
    by_key = defaultdict(int)
    for o in orders:
        by_key[(int(o["time"]), o["side"], o["original_quantity"])] += 1
        assert (o["order_type"], o["time_in_force"], o["order_status"]) == ("LIMIT", "IOC", "FILLED")
        assert o["accumulated_fill_quantity"] == o["original_quantity"]
    for p in positions:
        by_key[(int(p["closed_at"]), "SELL" if p["side"] == "long" else "BUY", p["quantity"])] -= 1
    assert set(by_key.values()) == {0}
    # Price reached each liquidation price within the minute before (one tick of rounding).
    times, prices = [], []
    for day in DAY_STRINGS:
        rows = read_rows(archive_path(sim.out, "aggTrades", day))[1]
        times += [int(r[5]) for r in rows]
        prices += [float(r[1]) for r in rows]
    t, px = np.array(times), np.array(prices)
    for p in positions:
        lo = np.searchsorted(t, int(p["closed_at"]) - 60_000)
        hi = np.searchsorted(t, int(p["closed_at"]), side="right")
        lp = float(p["liquidation_price"])
        if p["side"] == "long":
            assert px[lo:hi].min() <= lp + 0.1, p
        else:
            assert px[lo:hi].max() >= lp - 0.1, p


def test_market_makers_hold_the_other_side_of_every_taker_position_at_low_leverage(sim):
    positions = {int(p["position_id"]): p for p in read_truth(sim.out, "positions")}
    takers = [p for p in positions.values() if p["trader"] == "taker"]
    assert len(takers) * 2 == len(positions)
    for p in takers:
        mm = positions[int(p["position_id"]) + 1]
        assert mm["trader"] == "market_maker"
        assert mm["side"] != p["side"]
        assert (mm["quantity"], mm["entry_price"], mm["opened_at"], mm["closed_at"]) == (
            p["quantity"],
            p["entry_price"],
            p["opened_at"],
            p["closed_at"],
        )
        assert 1 <= int(mm["leverage"]) <= 5


def test_taker_leverage_is_the_simulators_own_heavy_tailed_law_within_bracket_caps(sim):
    table = margin_table("BTCUSDT", on=START)
    takers = [p for p in read_truth(sim.out, "positions") if p["trader"] == "taker"]
    lev = np.array([int(p["leverage"]) for p in takers])
    notional = np.array([float(p["quantity"]) * float(p["entry_price"]) for p in takers])
    caps = np.array([table.max_leverage_for_notional(x) for x in notional])
    assert (lev <= caps).all() and lev.min() == 2 and lev.max() <= TraderParams().lev_max
    assert 4 <= np.median(lev) <= 8
    assert 0.10 < (lev >= 20).mean() < 0.16  # Lomax tail: P(L >= 20) ~ 0.13
    assert np.isin(lev, [5, 10, 25, 50, 100]).mean() < 0.25  # not the models' default grid


def test_positions_are_written_on_the_day_they_close_and_open_ones_on_the_last_day(sim):
    for i, day in enumerate(DAY_STRINGS):
        path = sim.out / "truth" / "positions" / "BTCUSDT" / f"BTCUSDT-positions-{day}.csv"
        start = int(datetime.fromisoformat(day + "T00:00:00+00:00").timestamp() * 1000)
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        closed = [r for r in rows if r["close_reason"] != "open"]
        assert all(start <= int(r["closed_at"]) < start + 86_400_000 for r in closed)
        still_open = [r for r in rows if r["close_reason"] == "open"]
        assert (len(still_open) > 0) == (i == DAYS - 1)
        assert all(r["closed_at"] == "" for r in still_open)
