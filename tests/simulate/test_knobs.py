"""The market knobs of `simulate`: at their defaults the market is today's byte for byte; each knob
moves what it says it moves."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from simulated_files import minute_closes, read_truth

from liquidationheatmap.cli import main
from liquidationheatmap.simulate import MarketKnobs, simulate_market

# sha256 over the path and bytes of every file of these datasets, written by the code before the
# knobs existed (commit c18367f): BTCUSDT + ETHUSDT, 2026-10-01, 2 days, 20,000 trades a day, seed 7.
# Datasets added later (e.g. mark-price klines) are not part of it.
DEFAULT_MARKET_SHA256 = "9156b62b31d69b34b9e46f7ea2dafaba33f63feaf2c4f8c37172e3c8a1b95b91"
HASHED = (
    "data/futures/um/daily/aggTrades",
    "data/futures/um/daily/bookDepth",
    "data/futures/um/daily/metrics",
    "data/futures/um/monthly/fundingRate",
    "truth/liquidations",
    "truth/positions",
)
START = date(2026, 10, 1)


def market_hash(out: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out).as_posix()
        if path.is_file() and relative.startswith(HASHED):
            digest.update(relative.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize("knobs", [None, MarketKnobs()], ids=["no knobs", "default knobs"])
def test_default_knobs_write_todays_market_byte_for_byte(tmp_path, knobs):
    simulate_market(tmp_path, ["BTCUSDT", "ETHUSDT"], START, 2, 20_000, 7, show_progress=False, knobs=knobs)
    assert market_hash(tmp_path) == DEFAULT_MARKET_SHA256


def test_the_cli_with_knobs_at_their_defaults_writes_todays_market(tmp_path):
    args = ["simulate", "--symbol", "BTCUSDT", "ETHUSDT", "--days", "2", "--trades-per-day", "20000"]
    args += ["--seed", "7", "--out", str(tmp_path), "--no-progress", "--maker-share", "1"]
    args += ["--holding-time-scale", "1", "--volatility-scale", "1", "--drift-per-day", "0"]
    assert main(args) == 0
    assert market_hash(tmp_path) == DEFAULT_MARKET_SHA256


def one_day(tmp_path: Path, name: str, knobs: MarketKnobs) -> Path:
    out = tmp_path / name
    simulate_market(out, ["BTCUSDT"], START, 1, 20_000, 5, show_progress=False, knobs=knobs)
    return out


def takers(out: Path) -> list[dict[str, str]]:
    return [p for p in read_truth(out, "positions") if p["trader"] == "taker"]


def test_each_knob_moves_what_it_names(tmp_path):
    base = one_day(tmp_path, "base", MarketKnobs())

    def median_leverage(out):
        return float(np.median([int(p["leverage"]) for p in takers(out)]))

    high = one_day(tmp_path, "lev", MarketKnobs(taker_leverage_median=30.0))
    assert median_leverage(base) == pytest.approx(6.0, abs=1.0)
    assert median_leverage(high) == pytest.approx(30.0, abs=3.0)

    def median_hold_s(out):
        held = [
            (int(p["closed_at"]) - int(p["opened_at"])) / 1000
            for p in takers(out)
            if p["close_reason"] == "closed" and int(p["opened_at"]) >= 1_790_000_000_000
        ]
        return float(np.median(held))

    longer = one_day(tmp_path, "hold", MarketKnobs(holding_time_scale=3.0))
    assert median_hold_s(longer) / median_hold_s(base) == pytest.approx(3.0, rel=0.25)

    def minute_vol(out):
        _, last, _ = minute_closes(out, [START.isoformat()])
        return float(np.diff(np.log(last)).std())

    wild = one_day(tmp_path, "vol", MarketKnobs(volatility_scale=3.0))
    assert minute_vol(wild) > 2 * minute_vol(base)

    def day_return(out):
        _, last, _ = minute_closes(out, [START.isoformat()])
        return float(np.log(last[-1] / last[0]))

    rising = one_day(tmp_path, "up", MarketKnobs(drift_per_day=0.2))
    falling = one_day(tmp_path, "down", MarketKnobs(drift_per_day=-0.2))
    assert day_return(rising) - day_return(falling) == pytest.approx(0.4, abs=0.1)

    def maker_share(out):
        positions = read_truth(out, "positions")
        return sum(p["trader"] == "market_maker" for p in positions) / (len(positions) / 2)

    assert maker_share(base) == 1.0
    half = one_day(tmp_path, "half", MarketKnobs(maker_share=0.5))
    none = one_day(tmp_path, "none", MarketKnobs(maker_share=0.0))
    assert maker_share(half) == pytest.approx(0.5, abs=0.05)
    assert maker_share(none) == 0.0


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--maker-share", "1.5", "maker share must be between 0 and 1"),
        ("--taker-leverage-median", "1.5", "taker leverage median must be above 2 and below 63.5"),
        ("--volatility-scale", "0", "volatility scale must be positive"),
    ],
)
def test_a_knob_out_of_range_is_refused_before_anything_is_written(tmp_path, capsys, flag, value, message):
    assert main(["simulate", "--out", str(tmp_path / "m"), "--no-progress", flag, value]) == 2
    assert message in capsys.readouterr().out
    assert not (tmp_path / "m").exists()


def test_help_explains_every_knob(capsys):
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    text = capsys.readouterr().out
    for flag in ("--taker-leverage-median", "--holding-time-scale", "--volatility-scale", "--drift-per-day"):
        assert flag in text
    assert "--maker-share" in text and "byte for byte" in text
