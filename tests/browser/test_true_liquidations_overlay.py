"""The heatmap page overlays the recorded liquidations as dots sized by notional, in real headless
Chromium: the dots are the API's rows, they follow the side control, and their total is the
warehouse's for the heatmap's window."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest
from test_pages import open_page, settle

DOTS = """() => {
    const t = (document.getElementById('plot').data || []).find(d => d.name === 'true liquidations');
    return t ? {n: t.x.length, y: t.y, sizes: t.marker.size, sides: t.customdata.map(c => c[0]),
                notional: t.customdata.map(c => c[1])} : null;
}"""


def _window_total(warehouse, side: str | None = None) -> float:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        last = con.sql(
            "select max(bucket_start) from int_trades__per_bucket where symbol = 'BTCUSDT'"
        ).fetchone()[0]
        start = last - timedelta(days=7) + timedelta(minutes=5)
        start = start.replace(
            minute=(start.minute // 30) * 30, second=0, microsecond=0
        )  # 7d: 30-minute buckets
        where = "symbol = 'BTCUSDT' and liquidated_at >= ? and liquidated_at < ?"
        params = [start, last + timedelta(minutes=5)]
        if side:
            where += " and side = ?"
            params.append(side)
        return con.execute(
            f"select sum(fill_notional) from fct_true_liquidations where {where}", params
        ).fetchone()[0]


@pytest.mark.slow
def test_heatmap_page_draws_true_liquidations_as_dots_sized_by_notional(browser, server, dataset):
    with open_page(browser, "desktop") as (page, messages):
        with page.expect_response(lambda r: "/liquidations/true" in r.url) as answer:
            page.goto(f"{server.url}/heatmap?timeframe=7d")
        body = answer.value.json()
        settle(page)
        dots = page.evaluate(DOTS)
        assert body["rows"] and dots is not None
        assert dots["n"] == len(body["rows"])
        assert sum(dots["notional"]) == pytest.approx(body["total_notional"], rel=1e-9)
        assert body["total_notional"] == pytest.approx(_window_total(dataset.warehouse), rel=1e-9)
        # Larger notional, larger dot.
        ranked = sorted(zip(dots["notional"], dots["sizes"], strict=True))
        assert ranked[0][1] < ranked[-1][1]
        assert max(dots["sizes"]) == pytest.approx(22.0)
        assert set(dots["sides"]) == {"long", "short"}
        assert "of recorded liquidations" in page.inner_text("#summary")

        page.select_option("#side", "long")
        page.wait_for_function(
            "() => { const t = document.getElementById('plot').data"
            ".find(d => d.name === 'true liquidations');"
            " return t && t.customdata.every(c => c[0] === 'long'); }",
            timeout=30_000,
        )
        longs = page.evaluate(DOTS)
        assert sum(longs["notional"]) == pytest.approx(_window_total(dataset.warehouse, "long"), rel=1e-9)
        assert messages == []
