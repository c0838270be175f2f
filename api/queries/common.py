"""Lookups shared by the resources: known symbols, the table that holds a model's rows."""

from __future__ import annotations

from api.errors import BUILD_HINT, DataNotBuilt, NotFound
from api.warehouse import WarehouseSession
from python_models.calibration import in_force_scales_sql

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


CALIBRATION = "fct_model_calibration"


def notional_scales(wh: WarehouseSession) -> str | None:
    """The notional scales in force (python_models.calibration.in_force_scales_sql of
    fct_model_calibration) as a SQL relation (symbol, model, notional_scale, in_force_from,
    in_force_to), cached per warehouse file; None when the warehouse has no such mart (served
    unscaled)."""
    if not wh.has_table(CALIBRATION):
        return None

    def load() -> str:
        rows = wh.fetch(f"select window_id, symbol, model, notional_scale, fitted_to from {CALIBRATION}")
        return in_force_scales_sql(rows)

    return wh.cached(("notional-scales",), load)


def scaled_join(wh: WarehouseSession, alias: str, at: str, calibrated: bool) -> tuple[str, str]:
    """(a left join of the scales in force at the time expression ``at`` of the rows ``alias``, the
    factor expression to multiply a notional by): ('', '1.0') when not calibrated or unbuilt."""
    scales = notional_scales(wh) if calibrated else None
    if scales is None:
        return "", "1.0"
    join = f"""
        left join ({scales}) as scales
            on scales.symbol = {alias}.symbol
            and scales.model = {alias}.model
            and {at} >= scales.in_force_from
            and {at} < scales.in_force_to"""
    return join, "coalesce(scales.notional_scale, 1.0)"
