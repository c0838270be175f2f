"""DBSCAN liquidation zones over the latest levels (fct_liquidation_clusters, issue 5)."""

from __future__ import annotations

import math

from api.errors import BUILD_HINT, DataNotBuilt
from api.queries.common import ENSEMBLE, known_symbol
from api.schemas import Clusters, Zone
from api.warehouse import WarehouseSession

TABLE = "fct_liquidation_clusters"


def _number(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def liquidation_clusters(wh: WarehouseSession, symbol: str, model: str) -> Clusters:
    known_symbol(wh, symbol)
    wh.require_table(TABLE, "liquidation zones (clusters) are")
    rows = wh.fetch_dicts(
        f"""
        select side, zone_id, centroid_price, price_low, price_high, total_notional, member_count,
            eps, min_samples, current_price
        from {TABLE}
        where symbol = ? and model = ?
        order by side, zone_id
        """,
        [symbol, model],
    )
    if not rows and model == ENSEMBLE:
        raise DataNotBuilt(
            f"the ensemble model's zones are not built yet: {TABLE} has no ensemble rows; {BUILD_HINT}"
        )
    zones = [
        Zone(
            side=row["side"],
            zone_id=int(row["zone_id"]),
            centroid_price=row["centroid_price"],
            price_low=row["price_low"],
            price_high=row["price_high"],
            total_notional=row["total_notional"],
            member_count=int(row["member_count"]),
        )
        for row in rows
    ]
    first = rows[0] if rows else {}
    return Clusters(
        symbol=symbol,
        model=model,
        current_price=_number(first.get("current_price")),
        eps=_number(first.get("eps")),
        min_samples=int(first["min_samples"]) if first.get("min_samples") is not None else None,
        zones=zones,
    )
