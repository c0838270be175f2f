from __future__ import annotations

from datetime import date as Date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ConfigDep, WarehouseDep
from api.errors import DATA_ERRORS
from api.params import SymbolQuery
from api.queries.market import volume_profile
from api.schemas import VolumeProfile

router = APIRouter(tags=["market"], responses=DATA_ERRORS)


@router.get("/volume-profile", response_model=VolumeProfile, summary="Traded volume per price bin on one day")
def volume(
    wh: WarehouseDep,
    config: ConfigDep,
    symbol: SymbolQuery = None,
    date: Annotated[Date | None, Query(description="UTC day (default: the latest with data)")] = None,
) -> Response:
    symbol = symbol or config.default_symbol
    return wh.respond(("volume-profile", symbol, date), lambda: volume_profile(wh, symbol, date))
