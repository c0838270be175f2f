"""A small planted market for the scoring and ensemble tests: truth and predictions built together.

One symbol, 10 price bins of 10 USDT (1000..1090), 5-minute buckets. In bucket b + 1 one long and one
short are liquidated, in bins ``truth_bin(b, side)``. Every heatmap at bucket b has a background of
1..10 that is lowest in the truth's bin and highest in the bin below it, plus 100 in one "hot" bin; its
top 20 % (2 of 10 bins) is the hot bin and the bin below the truth. The "perfect" heatmap's hot bin is
the truth's bin.
"""

import pandas as pd

SYMBOL = "BTCUSDT"
BIN = 10.0
N_BINS = 10
BUCKET = pd.Timedelta("5min")
START = pd.Timestamp("2025-01-01 00:00")
N_BUCKETS = 24  # two hours of heatmap buckets, 0..23


def truth_bin(bucket: int, side: str) -> int:
    return (3 * bucket + (0 if side == "long" else 5)) % N_BINS


def truth_quantity(bucket: int, side: str) -> float:
    return 1.0 + bucket % 3 + (0.5 if side == "short" else 0.0)


def truth_rows(buckets: range = range(N_BUCKETS - 1)) -> pd.DataFrame:
    """Liquidations in bucket b + 1 for every b: prices 3 USDT into the planted bin."""
    rows = []
    for b in buckets:
        for side, order_side in (("long", "SELL"), ("short", "BUY")):
            time = START + (b + 1) * BUCKET + pd.Timedelta("61s")
            rows.append(
                {
                    "symbol": SYMBOL,
                    "time": int(time.value // 1_000_000),
                    "side": order_side,
                    "price": 1000.0 + BIN * truth_bin(b, side) + 3.0,
                    "quantity": truth_quantity(b, side),
                }
            )
    return pd.DataFrame(rows)


def truth_notional(buckets: range, side: str | None = None) -> float:
    sides = ["long", "short"] if side is None else [side]
    return sum((1000.0 + BIN * truth_bin(b, s) + 3.0) * truth_quantity(b, s) for b in buckets for s in sides)


def heatmap(model: str, place_truth_at) -> pd.DataFrame:
    """Heatmap rows for every bucket and side; ``place_truth_at(b, side)`` is the bin given 100."""
    rows = []
    for b in range(N_BUCKETS):
        for side in ("long", "short"):
            hot = place_truth_at(b, side)
            truth = truth_bin(b, side)
            for i in range(N_BINS):
                rows.append(
                    {
                        "symbol": SYMBOL,
                        "model": model,
                        "timeframe": "5m",
                        "bucket_start": START + b * BUCKET,
                        "price_bin": 1000.0 + BIN * i,
                        "side": side,
                        "live_notional": 100.0 if i == hot else float(1 + (i - truth) % N_BINS),
                    }
                )
    return pd.DataFrame(rows)


def perfect_heatmap(model: str = "perfect") -> pd.DataFrame:
    return heatmap(model, truth_bin)


def history(model: str, scale: float = 1.0) -> pd.DataFrame:
    """Predicted liquidations per bucket = ``scale`` × the true notional of that bucket."""
    rows = []
    for b in range(N_BUCKETS - 1):
        for side in ("long", "short"):
            notional = (1000.0 + BIN * truth_bin(b, side) + 3.0) * truth_quantity(b, side)
            rows.append(
                {
                    "symbol": SYMBOL,
                    "model": model,
                    "bucket_start": START + (b + 1) * BUCKET,
                    "side": side,
                    "liquidated_notional": scale * notional,
                    "liquidated_count": 1,
                }
            )
    return pd.DataFrame(rows)
