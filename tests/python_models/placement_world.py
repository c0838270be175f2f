"""Hand-built scoring windows with known answers for the placement metrics and the ensemble fit.

One symbol, price 1000 at every start, scoring bins of 10 USDT; each window's traversed bins are
``low_bin .. high_bin`` as given. ``cells`` and ``truth`` turn {bin: value} dicts into the frames
python_models.scoring takes.
"""

import pandas as pd

SYMBOL = "BTCUSDT"
START = pd.Timestamp("2026-10-01 00:00")
PRICE = 1000.0
BIN = 10.0


def start(hour: int) -> pd.Timestamp:
    return START + pd.Timedelta(hours=hour)


def windows(specs: list[tuple[int, str, int, int]], horizon: int = 1) -> pd.DataFrame:
    """specs: (hour, side, low_bin, high_bin)."""
    return pd.DataFrame(
        [
            {
                "symbol": SYMBOL,
                "window_start": start(h),
                "horizon_hours": horizon,
                "side": side,
                "start_price": PRICE,
                "score_bin_size": BIN,
                "low_bin": low,
                "high_bin": high,
            }
            for h, side, low, high in specs
        ]
    )


def cells(model: str, per_window: dict[tuple[int, str], dict[int, float]], horizon: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "symbol": SYMBOL,
                "window_start": start(h),
                "horizon_hours": horizon,
                "side": side,
                "model": model,
                "score_bin": b,
                "value": v,
            }
            for (h, side), values in per_window.items()
            for b, v in values.items()
        ],
        columns=["symbol", "window_start", "horizon_hours", "side", "model", "score_bin", "value"],
    )


def truth(per_window: dict[tuple[int, str], dict[int, float]], horizon: int = 1) -> pd.DataFrame:
    frame = cells("truth", per_window, horizon).drop(columns="model")
    return frame.rename(columns={"value": "liquidated_notional"})
