"""Same seed, same bytes; another seed, another market."""

from __future__ import annotations

import hashlib
from pathlib import Path

from simulated_files import START, archive_path, read_rows

from liquidationheatmap.simulate import simulate_market


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_the_same_seed_writes_byte_identical_files(tmp_path):
    for name in ("a", "b"):
        simulate_market(tmp_path / name, ["BTCUSDT"], START, 1, 3_000, 11, show_progress=False)
    first, second = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert len(first) == 5 * 2 + 2  # five zips with checksums (markPriceKlines too), two truth files
    assert first == second


def test_different_seeds_simulate_different_markets(tmp_path):
    for seed in (11, 12):
        simulate_market(tmp_path / str(seed), ["BTCUSDT"], START, 1, 3_000, seed, show_progress=False)
    day = START.isoformat()
    a = read_rows(archive_path(tmp_path / "11", "aggTrades", day))[1]
    b = read_rows(archive_path(tmp_path / "12", "aggTrades", day))[1]
    assert [r[1] for r in a[:50]] != [r[1] for r in b[:50]]
    assert a[-1][1] != b[-1][1]


def test_symbols_are_independent_markets_in_one_run(tmp_path):
    summary = simulate_market(tmp_path, ["BTCUSDT", "ETHUSDT"], START, 1, 2_000, 5, show_progress=False)
    eth = read_rows(archive_path(tmp_path, "aggTrades", START.isoformat(), "ETHUSDT"))[1]
    assert summary.rows["aggTrades"]["ETHUSDT"] == len(eth)
    assert all(len(r[1].split(".")[1]) <= 2 for r in eth)  # ETHUSDT tick 0.01
    assert 2_000 < float(eth[0][1]) < 4_000
