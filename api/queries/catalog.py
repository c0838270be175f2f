"""What the warehouse holds: health, symbols and their freshness."""

from __future__ import annotations

from datetime import UTC, datetime

from api.errors import BUILD_HINT
from api.queries.common import symbol_bin_sizes
from api.schemas import Health, SymbolFreshness, SymbolInfo, SymbolList
from api.warehouse import WarehouseSession

MARTS = (
    "fct_liquidation_levels",
    "fct_liquidation_heatmap",
    "fct_liquidation_history",
    "fct_volume_profile_daily",
    "dim_margin_tiers",
    "dim_symbols",
    "fct_liquidation_clusters",
    "fct_model_scores",
    "fct_liquidation_heatmap_ensemble",
    "fct_liquidation_levels_ensemble",
    "fct_liquidation_history_ensemble",
    "fct_ensemble_weights",
    "fct_model_calibration",
)


def health(wh: WarehouseSession) -> Health:
    if not wh.exists:
        return Health(
            status="no_data",
            detail=f"no warehouse at {wh.path}; {BUILD_HINT}",
            warehouse=str(wh.path),
            built_at=None,
            marts={name: False for name in MARTS},
            symbols=[],
        )
    built_at = datetime.fromtimestamp(wh.identity[1] / 1e9, tz=UTC).replace(tzinfo=None)
    marts = {name: wh.has_table(name) for name in MARTS}
    symbols: list[SymbolFreshness] = []
    if marts["fct_liquidation_levels"]:
        rows = wh.fetch(
            "select symbol, max(measured_at) from fct_liquidation_levels group by symbol order by symbol"
        )
        symbols = [SymbolFreshness(symbol=symbol, latest_data_at=at) for symbol, at in rows]
    core = ("fct_liquidation_levels", "fct_liquidation_heatmap", "fct_liquidation_history", "dim_symbols")
    missing = [name for name in core if not marts[name]]
    if missing:
        status, detail = "no_data", f"the warehouse lacks {', '.join(missing)}; {BUILD_HINT}"
    else:
        status, detail = "ok", f"serving {len(symbols)} symbol(s) from {wh.path}"
    return Health(
        status=status,
        detail=detail,
        warehouse=str(wh.path),
        built_at=built_at,
        marts=marts,
        symbols=symbols,
    )


def symbols(wh: WarehouseSession) -> SymbolList:
    sizes = symbol_bin_sizes(wh)  # 503 when dim_symbols is missing
    wh.require_table("fct_liquidation_levels", "liquidation levels are")
    dates = {
        symbol: (first, last)
        for symbol, first, last in wh.fetch(
            "select symbol, first_trade_date, last_trade_date from dim_symbols"
        )
    }
    latest = {
        symbol: (at, price, models)
        for symbol, at, price, models in wh.fetch(
            """
            select
                symbol,
                max(measured_at),
                arg_max(current_price, measured_at),
                list(distinct model order by model)
            from fct_liquidation_levels
            group by symbol
            """
        )
    }
    out = []
    for symbol, size in sizes.items():
        at, price, models = latest.get(symbol, (None, None, []))
        models = list(models)
        if "ensemble" not in models and wh.has_table("fct_liquidation_levels_ensemble"):
            models.append("ensemble")
        first, last = dates.get(symbol, (None, None))
        out.append(
            SymbolInfo(
                symbol=symbol,
                price_bin_size=size,
                first_trade_date=first,
                last_trade_date=last,
                current_price=price,
                measured_at=at,
                models=models,
            )
        )
    return SymbolList(symbols=out)
