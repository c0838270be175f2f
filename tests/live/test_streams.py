"""Frames parsed into events, the combined-stream URL, and the per-symbol id bookkeeping."""

from __future__ import annotations

import json

import pytest

from liquidationheatmap.live.aggregate import FundingRows, MarkKlines, OpenInterestRows
from liquidationheatmap.live.recorder import TradeIds
from liquidationheatmap.live.streams import AggTrade, BadFrame, ForceOrder, combined_url, parse_frame


def test_combined_url_puts_every_stream_under_market_stream() -> None:
    url = combined_url("wss://fstream.binance.com", ["BTCUSDT", "ETHUSDT"])
    assert url == (
        "wss://fstream.binance.com/market/stream?streams=btcusdt@aggTrade/btcusdt@markPrice@1s/"
        "ethusdt@aggTrade/ethusdt@markPrice@1s/!forceOrder@arr"
    )


def test_agg_trade_frame_keeps_exchange_and_receive_time() -> None:
    data = {
        "e": "aggTrade",
        "E": 1789655280300,
        "s": "BTCUSDT",
        "a": 3454067270,
        "p": "76988.7",
        "q": "0.037",
        "nq": "0.037",
        "f": 8089233297,
        "l": 8089233297,
        "T": 1789655280294,
        "m": False,
    }
    event = parse_frame(json.dumps({"stream": "btcusdt@aggTrade", "data": data}), received_time=1789655280400)
    assert event == AggTrade("BTCUSDT", 3454067270, 76988.7, 0.037, 8089233297, 8089233297, 1789655280294,
                             False, 1789655280300, 1789655280400)  # fmt: skip


def test_force_order_keeps_text_fields_and_drops_coin_m() -> None:
    order = {"s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "0.014", "p": "9910", "ap": "9910",
             "X": "FILLED", "l": "0.014", "z": "0.014", "T": 1568014460893}  # fmt: skip
    frame = {"stream": "!forceOrder@arr", "data": {"e": "forceOrder", "E": 1568014460893, "o": order}}
    event = parse_frame(json.dumps(frame), 1)
    assert isinstance(event, ForceOrder)
    assert event.truth_row() == ("BTCUSDT", "1568014460893", "SELL", "LIMIT", "IOC", "0.014", "9910", "9910",
                                 "FILLED", "0.014", "0.014")  # fmt: skip
    assert event.as_event()["position_side"] == "long"
    coin_m = {**order, "s": "BTCUSD_PERP", "ps": "BTCUSD"}
    assert parse_frame(json.dumps({"data": {"e": "forceOrder", "E": 1, "o": coin_m}}), 1) is None


@pytest.mark.parametrize(
    "frame", ['{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade",', '{"data":{"e":"aggTrade"}}']
)
def test_malformed_frames_raise_bad_frame(frame: str) -> None:
    with pytest.raises(BadFrame):
        parse_frame(frame, 0)


def test_subscribe_replies_are_not_events() -> None:
    assert parse_frame('{"result": null, "id": 1}', 0) is None


def _trade(ident: int) -> AggTrade:
    return AggTrade("BTCUSDT", ident, 1.0, 1.0, ident, ident, ident * 10, False, 0, 0)


def test_trade_ids_drop_duplicates_and_find_holes() -> None:
    ids = TradeIds()
    assert [ids.add(_trade(i)) for i in (10, 11, 11, 14, 13, 17)] == [True, True, False, True, True, True]
    assert ids.holes() == [(12, 12), (15, 16)]
    ids.advance()
    assert not ids.add(_trade(12))  # behind the frontier: already recorded or declared a gap
    assert ids.add(_trade(18))


def test_open_interest_rows_label_the_period_start_and_list_missed_periods() -> None:
    rows = OpenInterestRows()
    base = 1_790_812_800_000  # 2026-10-01 00:00 UTC
    assert rows.add("BTCUSDT", base + 1_000, 100.0, 2.0) is None
    row = rows.add("BTCUSDT", base + 300_500, 110.0, 2.0)
    assert row == {"create_time": base, "symbol": "BTCUSDT", "sum_open_interest": 110.0,
                   "sum_open_interest_value": 220.0}  # fmt: skip
    assert rows.add("BTCUSDT", base + 1_200_100, 120.0, 2.0) is None  # 3 periods without a poll
    assert rows.missing("BTCUSDT") == [base + 300_000, base + 600_000, base + 900_000]
    rows.settle("BTCUSDT")
    assert rows.missing("BTCUSDT") == []


def test_mark_klines_close_each_minute_with_its_high_and_low() -> None:
    klines = MarkKlines()
    assert klines.add("BTCUSDT", 60_000, 10.0) == []
    assert klines.add("BTCUSDT", 61_000, 12.0) == []
    assert klines.add("BTCUSDT", 62_000, 9.0) == []
    [row] = klines.add("BTCUSDT", 120_000, 11.0)
    assert (row["open_time"], row["open"], row["high"], row["low"], row["close"], row["count"]) == (
        60_000, 10.0, 12.0, 9.0, 9.0, 3,
    )  # fmt: skip
    assert row["close_time"] == 119_999


def test_funding_row_when_next_funding_time_moves_on() -> None:
    funding = FundingRows()
    assert funding.add("BTCUSDT", 28_800_009, 0.0001) is None
    assert funding.add("BTCUSDT", 28_800_009, 0.0001) is None
    assert funding.add("BTCUSDT", 57_600_002, 0.0002) == {
        "symbol": "BTCUSDT",
        "calc_time": 28_800_009,
        "funding_interval_hours": 8,
        "last_funding_rate": 0.0002,
    }
