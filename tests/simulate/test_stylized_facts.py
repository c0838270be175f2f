"""Stylized facts of real markets, measured on the simulator's own files: on the default market and
on markets with each knob at an extreme (docs/simulator.md, "Knobs")."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from simulated_files import (
    DAYS,
    SEED,
    START,
    TRADES_PER_DAY,
    archive_path,
    minute_closes,
    read_rows,
    read_truth,
)

from liquidationheatmap.simulate import MarketKnobs, simulate_market

DAY_STRINGS = [(START + timedelta(days=i)).isoformat() for i in range(DAYS)]

EXTREMES = {
    "low leverage": MarketKnobs(taker_leverage_median=4.0),
    "high leverage": MarketKnobs(taker_leverage_median=40.0),
    "short holding": MarketKnobs(holding_time_scale=0.25),
    "long holding": MarketKnobs(holding_time_scale=4.0),
    "calm": MarketKnobs(volatility_scale=0.5),
    "wild": MarketKnobs(volatility_scale=2.0),
    "falling": MarketKnobs(drift_per_day=-0.05),
    "rising": MarketKnobs(drift_per_day=0.05),
    "no makers": MarketKnobs(maker_share=0.0),
}


@pytest.fixture(scope="module", params=["default", *EXTREMES])
def market(request, sim, tmp_path_factory):
    """The shared default market, then one market per knob extreme (same size and seed)."""
    if request.param == "default":
        return sim
    out = tmp_path_factory.mktemp("knobs")
    return simulate_market(
        out,
        ["BTCUSDT"],
        START,
        DAYS,
        TRADES_PER_DAY,
        SEED,
        show_progress=False,
        knobs=EXTREMES[request.param],
    )


def _returns(sim) -> tuple[np.ndarray, np.ndarray]:
    _, last, flow = minute_closes(sim.out, DAY_STRINGS)
    return np.diff(np.log(np.array(last))), np.array(flow[1:])


def test_one_minute_returns_have_heavy_tails(market):
    r, _ = _returns(market)
    r = r - r.mean()
    excess_kurtosis = (r**4).mean() / r.var() ** 2 - 3
    assert excess_kurtosis > 1.0


def test_absolute_returns_are_autocorrelated_at_short_lags(market):
    r, _ = _returns(market)
    a = np.abs(r) - np.abs(r).mean()
    acf = [float((a[:-lag] * a[lag:]).mean() / a.var()) for lag in range(1, 6)]
    assert all(x > 0.05 for x in acf), acf


def test_price_moves_with_signed_order_flow(market):
    r, flow = _returns(market)
    # Significantly positive: five standard errors of a zero correlation over these minutes (0.09).
    # Its size varies with the path (0.18-0.27 over the markets here) and falls as news noise grows.
    assert np.corrcoef(r, flow)[0, 1] > 5 / np.sqrt(len(r))


def test_liquidations_cluster_in_time(market):
    times = np.array([int(o["time"]) for o in read_truth(market.out, "liquidations")])
    start = int(datetime.fromisoformat(DAY_STRINGS[0] + "T00:00:00+00:00").timestamp() * 1000)
    counts = np.bincount((times - start) // 60_000, minlength=1440 * DAYS)
    dispersion = counts.var() / counts.mean()  # 1 for a Poisson process
    assert dispersion > 2, dispersion


def test_funding_sign_follows_the_taker_long_short_imbalance(market):
    positions = [p for p in read_truth(market.out, "positions") if p["trader"] == "taker"]
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
    rows = read_rows(archive_path(market.out, "fundingRate", "2026-10"))[1]
    rates = [float(r[2]) for r in rows]
    if np.allclose(imbalance, 0.0):
        # No market makers: both sides of every contract are takers, there is no imbalance to pay for.
        assert rates == [0.0] * len(rates)
        return
    assert np.sign(rates[0]) == np.sign(imbalance[0])  # the first one: the imbalance at the start
    compared = 0
    for i in range(1, len(rates)):
        window = imbalance[(i - 1) * 480 + 1 : i * 480 + 1]  # minute ends in (T - 8h, T]
        if rates[i] != 0:
            assert np.sign(rates[i]) == np.sign(window.mean()), (i, rates[i], window.mean())
            compared += 1
    assert compared >= 4
