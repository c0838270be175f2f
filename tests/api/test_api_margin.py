"""The margin calculator through the API: Binance's FAQ golden value and a bracket change."""

from __future__ import annotations

import pytest


def calculate(client, **body):
    return client.post("/api/margin/calculate", json={"symbol": "BTCUSDT", **body})


@pytest.mark.parametrize("table_version", [None, "2021-faq"])
def test_binance_faq_example_gives_25100_40(client, table_version):
    # long, WB = 500 USDT (0.02 BTC x 50,000 / 2x), MMR 0.4 %, cum 0 in both published tables.
    body = calculate(
        client, side="long", entry_price=50_000, quantity=0.02, leverage=2, table_version=table_version
    ).json()
    assert round(body["liquidation_price"], 2) == 25_100.40
    assert body["wallet_balance"] == 500.0 and body["notional"] == 1000.0
    assert body["bracket"]["bracket"] == 1
    assert body["maint_margin_ratio"] == 0.004 and body["maint_amount"] == 0.0
    assert body["maintenance_margin"] == pytest.approx(0.02 * 25_100.4016064257 * 0.004)
    assert body["table_version"] == (table_version or "2025-08-19")


def test_newest_table_applies_by_default_and_the_bracket_follows_the_liquidation_notional(client):
    # Short 3.7 BTC at 80,000, 25x: 296,000 USDT at entry (bracket 1 of the 2025 table, cap 300,000),
    # but at the liquidation price the notional passes 300,000, so bracket 2 (MMR 0.5 %, cum 300) holds.
    body = calculate(client, side="short", entry_price=80_000, quantity=3.7, leverage=25).json()
    wallet = 3.7 * 80_000 / 25
    expected = (wallet + 300 + 3.7 * 80_000) / (3.7 * (0.005 + 1))
    assert body["table_version"] == "2025-08-19"
    assert body["bracket"]["bracket"] == 2
    assert body["liquidation_price"] == pytest.approx(expected, rel=1e-12)
    assert 3.7 * body["liquidation_price"] >= 300_000
    assert body["maintenance_margin"] == pytest.approx(3.7 * expected * 0.005 - 300, rel=1e-12)


def test_same_position_under_the_2021_table_uses_its_own_brackets(client):
    body = calculate(
        client, side="short", entry_price=80_000, quantity=3.7, leverage=25, table_version="2021-faq"
    ).json()
    wallet = 3.7 * 80_000 / 25
    expected = (wallet + 1300 + 3.7 * 80_000) / (3.7 * (0.01 + 1))
    assert body["bracket"]["bracket"] == 3
    assert body["liquidation_price"] == pytest.approx(expected, rel=1e-12)


def test_a_long_at_1x_cannot_be_liquidated(client):
    body = calculate(client, side="long", entry_price=60_000, quantity=1, leverage=1).json()
    assert body["liquidation_price"] is None
    assert body["maintenance_margin"] == 0.0


def test_extra_margin_moves_a_long_liquidation_price_down(client):
    plain = calculate(client, side="long", entry_price=50_000, quantity=0.02, leverage=10).json()
    padded = calculate(
        client, side="long", entry_price=50_000, quantity=0.02, leverage=10, extra_margin=50
    ).json()
    assert padded["wallet_balance"] == 150.0
    assert padded["liquidation_price"] == pytest.approx(
        plain["liquidation_price"] - 50 / (0.02 * (1 - 0.004))
    )


def test_leverage_above_the_brackets_maximum_is_a_422(client):
    response = calculate(client, side="long", entry_price=80_000, quantity=20, leverage=100)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == (
        "leverage 100x is above the 75x Binance allows for a 1,600,000.00 USDT position under bracket "
        "table 2025-08-19"
    )


def test_unknown_symbol_and_unknown_table_are_404s(client):
    unknown = calculate(client, symbol="DOGEUSDT", side="long", entry_price=1, quantity=1, leverage=2)
    no_table = calculate(client, side="long", entry_price=1, quantity=1, leverage=2, table_version="1999")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "unknown symbol DOGEUSDT: bracket tables exist for BTCUSDT"
    assert no_table.status_code == 404
    assert no_table.json()["detail"] == "no bracket table '1999' for BTCUSDT: tables are 2021-faq, 2025-08-19"


def test_negative_quantity_is_a_422(client):
    response = calculate(client, side="long", entry_price=50_000, quantity=-1, leverage=2)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "quantity"]


def test_tiers_list_both_dated_tables_with_the_newest_flagged(client):
    body = client.get("/api/margin/tiers/btcusdt").json()
    assert body["symbol"] == "BTCUSDT" and body["uses_default_table"] is False
    assert [(t["table_version"], t["valid_from"], t["valid_to"], t["is_newest"]) for t in body["tables"]] == [
        ("2021-faq", "2019-09-01", "2025-08-18", False),
        ("2025-08-19", "2025-08-19", None, True),
    ]
    assert [len(t["brackets"]) for t in body["tables"]] == [10, 12]
    assert body["tables"][1]["brackets"][0] == {
        "bracket": 1,
        "notional_floor": 0.0,
        "notional_cap": 300000.0,
        "max_leverage": 150,
        "maint_margin_ratio": 0.004,
        "maint_amount": 0.0,
    }
