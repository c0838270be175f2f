"""markPriceKlines: the simulator's mark price is the mid it liquidates on, one 1m candle a minute."""

from __future__ import annotations

import numpy as np
from simulated_files import DAYS, START, read_rows, read_truth

from liquidationheatmap.archive_layout import ArchiveFile, parse_archive_path
from liquidationheatmap.datasets import get_spec


def _mark_path(out, day: str):
    entry = ArchiveFile("markPriceKlines", "BTCUSDT", "daily", day, interval="1m")
    return out / entry.relative_path()


def _candles(out) -> dict[str, np.ndarray]:
    rows = []
    for i in range(DAYS):
        day = START.fromordinal(START.toordinal() + i).isoformat()
        header, body = read_rows(_mark_path(out, day))
        assert header == list(get_spec("markPriceKlines").column_names)
        assert len(body) == 1440
        rows += body
    values = np.array([[float(v) for v in r] for r in rows])
    return {name: values[:, i] for i, name in enumerate(get_spec("markPriceKlines").column_names)}


def test_mark_candles_are_whole_minutes_in_the_archive_layout(sim):
    path = _mark_path(sim.out, START.isoformat())
    assert path.relative_to(sim.out).as_posix() == (
        "data/futures/um/daily/markPriceKlines/BTCUSDT/1m/BTCUSDT-1m-2026-10-01.zip"
    )
    parsed = parse_archive_path(path)
    assert (parsed.dataset, parsed.interval, parsed.period) == ("markPriceKlines", "1m", "2026-10-01")
    assert path.with_name(path.name + ".CHECKSUM").exists()
    c = _candles(sim.out)
    assert (np.diff(c["open_time"]) == 60_000).all()
    assert (c["close_time"] == c["open_time"] + 59_999).all()
    assert (c["high"] >= np.maximum(c["open"], c["close"])).all()
    assert (c["low"] <= np.minimum(c["open"], c["close"])).all()
    assert (c["open"][1:] == c["close"][:-1]).all()  # the mid carries on from minute to minute
    assert (c["volume"] == 0).all() and (c["count"] == 0).all()


def test_every_liquidated_position_was_reached_by_the_mark_price(sim):
    c = _candles(sim.out)
    minute = {int(t): i for i, t in enumerate(c["open_time"])}
    liquidated = [p for p in read_truth(sim.out, "positions") if p["close_reason"] == "liquidated"]
    assert len(liquidated) > 50
    for p in liquidated:
        i = minute[int(p["closed_at"]) // 60_000 * 60_000]
        window = slice(max(i - 1, 0), i + 1)  # a cascade round can land in the next minute
        lp = float(p["liquidation_price"])
        if p["side"] == "long":
            assert c["low"][window].min() <= lp * (1 + 1e-6), p
        else:
            assert c["high"][window].max() >= lp * (1 - 1e-6), p
