"""Traded volume per price bin and day (fct_volume_profile_daily)."""

from __future__ import annotations

from datetime import date

from api.errors import NotFound
from api.queries.common import known_symbol
from api.schemas import VolumeBin, VolumeProfile
from api.warehouse import WarehouseSession

TABLE = "fct_volume_profile_daily"


def volume_profile(wh: WarehouseSession, symbol: str, day: date | None) -> VolumeProfile:
    bin_size = known_symbol(wh, symbol)
    wh.require_table(TABLE, "the volume profile is")
    first, last = wh.fetch(
        f"select min(trade_date), max(trade_date) from {TABLE} where symbol = ?", [symbol]
    )[0]
    if last is None:
        raise NotFound(f"no traded volume for {symbol} in the warehouse")
    day = day or last
    rows = wh.fetch_dicts(
        f"""
        select price_bin, total_volume, buy_volume, sell_volume
        from {TABLE}
        where symbol = ? and trade_date = ?
        order by price_bin
        """,
        [symbol, day],
    )
    if not rows:
        raise NotFound(f"no traded volume for {symbol} on {day}: the data covers {first} to {last}")
    bins = [VolumeBin(**row) for row in rows]
    return VolumeProfile(
        symbol=symbol,
        date=day,
        price_bin_size=bin_size,
        total_volume=sum(b.total_volume for b in bins),
        bins=bins,
    )
