"""Stylized facts of real markets, measured on the simulator's own files."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from simulated_files import DAYS, START, archive_path, minute_closes, read_rows, read_truth

DAY_STRINGS = [(START + timedelta(days=i)).isoformat() for i in range(DAYS)]


def _returns(sim) -> tuple[np.ndarray, np.ndarray]:
    _, last, flow = minute_closes(sim.out, DAY_STRINGS)
    return np.diff(np.log(np.array(last))), np.array(flow[1:])


def test_one_minute_returns_have_heavy_tails(sim):
    r, _ = _returns(sim)
    r = r - r.mean()
    excess_kurtosis = (r**4).mean() / r.var() ** 2 - 3
    assert excess_kurtosis > 1.0


def test_absolute_returns_are_autocorrelated_at_short_lags(sim):
    r, _ = _returns(sim)
    a = np.abs(r) - np.abs(r).mean()
    acf = [float((a[:-lag] * a[lag:]).mean() / a.var()) for lag in range(1, 6)]
    assert all(x > 0.05 for x in acf), acf


def test_price_moves_with_signed_order_flow(sim):
    r, flow = _returns(sim)
    assert np.corrcoef(r, flow)[0, 1] > 0.2


def test_liquidations_cluster_in_time(sim):
    times = np.array([int(o["time"]) for o in read_truth(sim.out, "liquidations")])
    start = int(datetime.fromisoformat(DAY_STRINGS[0] + "T00:00:00+00:00").timestamp() * 1000)
    counts = np.bincount((times - start) // 60_000, minlength=1440 * DAYS)
    dispersion = counts.var() / counts.mean()  # 1 for a Poisson process
    assert dispersion > 3, dispersion


def test_funding_sign_follows_the_taker_long_short_imbalance(sim):
    positions = [p for p in read_truth(sim.out, "positions") if p["trader"] == "taker"]
    start = int(datetime.fromisoformat(DAY_STRINGS[0] + "T00:00:00+00:00").timestamp() * 1000)
    grid = start + 60_000 * np.arange(1440 * DAYS + 1)
    opened = np.array([int(p["opened_at"]) for p in positions])
    closed = np.array([int(p["closed_at"] or 2**62) for p in positions])
    qty = np.array([float(p["quantity"]) for p in positions])
    sign = np.array([1.0 if p["side"] == "long" else -1.0 for p in positions])
    first = np.searchsorted(grid, opened, side="right")  # open at t: opened_at < t < closed_at
    stop = np.searchsorted(grid, closed, side="left")
    net = np.cumsum(
        np.bincount(first, sign * qty, len(grid) + 1) - np.bincount(stop, sign * qty, len(grid) + 1)
    )
    gross = np.cumsum(np.bincount(first, qty, len(grid) + 1) - np.bincount(stop, qty, len(grid) + 1))
    imbalance = (net / gross)[: len(grid)]
    rows = read_rows(archive_path(sim.out, "fundingRate", "2026-10"))[1]
    rates = [float(r[2]) for r in rows]
    assert np.sign(rates[0]) == np.sign(imbalance[0])  # the first one: the imbalance at the start
    compared = 0
    for i in range(1, len(rates)):
        window = imbalance[(i - 1) * 480 + 1 : i * 480 + 1]  # minute ends in (T - 8h, T]
        if rates[i] != 0:
            assert np.sign(rates[i]) == np.sign(window.mean()), (i, rates[i], window.mean())
            compared += 1
    assert compared >= 4
