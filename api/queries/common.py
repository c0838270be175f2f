"""Lookups shared by the resources: known symbols, the table that holds a model's rows."""

from __future__ import annotations

from api.errors import BUILD_HINT, DataNotBuilt, NotFound
from api.warehouse import WarehouseSession

ENSEMBLE = "ensemble"


def symbol_bin_sizes(wh: WarehouseSession) -> dict[str, float]:
    """symbol -> price-bin size, from dim_symbols (cached per warehouse file)."""

    def load() -> dict[str, float]:
        wh.require_table("dim_symbols", "the symbol list is")
        rows = wh.fetch("select symbol, price_bin_size from dim_symbols order by symbol")
        return {symbol: float(size) for symbol, size in rows}

    return wh.cached(("symbol-bin-sizes",), load)


def known_symbol(wh: WarehouseSession, symbol: str) -> float:
    """The symbol's price-bin size; 404 naming the known symbols when it is not in the warehouse."""
    sizes = symbol_bin_sizes(wh)
    if symbol not in sizes:
        known = ", ".join(sizes) or "none"
        raise NotFound(f"unknown symbol {symbol}: the warehouse holds {known}")
    return sizes[symbol]


def model_table(wh: WarehouseSession, base: str, model: str, what: str) -> str:
    """The table holding `model`'s rows of mart `base`.

    The ensemble (issue 5's dbt Python models) lives in `<base>_ensemble` when built as its own
    table, or as rows with model = 'ensemble' in the mart itself; until either exists the answer is
    503 saying so.
    """
    if model == ENSEMBLE and wh.has_table(f"{base}_ensemble"):
        return f"{base}_ensemble"
    wh.require_table(base, what)
    if model == ENSEMBLE:

        def has_rows() -> bool:
            return bool(wh.fetch(f"select 1 from {base} where model = ? limit 1", [ENSEMBLE]))

        if not wh.cached(("has-ensemble", base), has_rows):
            raise DataNotBuilt(
                f"the ensemble model is not built yet: the warehouse has no {base}_ensemble table and no "
                f"ensemble rows in {base} (the ensemble comes from the dbt Python models); {BUILD_HINT}"
            )
    return base
