from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import WarehouseDep
from api.errors import DATA_ERRORS
from api.queries import catalog
from api.schemas import SymbolList

router = APIRouter(tags=["symbols"])


@router.get("/symbols", response_model=SymbolList, responses=DATA_ERRORS, summary="Symbols in the warehouse")
def symbols(wh: WarehouseDep) -> Response:
    return wh.respond(("symbols",), lambda: catalog.symbols(wh))
