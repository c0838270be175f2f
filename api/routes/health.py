from __future__ import annotations

from fastapi import APIRouter

from api.deps import WarehouseDep
from api.queries import catalog
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Is the API up, and when were the marts built?")
def health(wh: WarehouseDep) -> Health:
    """Always 200 while the API runs; `status` is `no_data` until `liquidationheatmap build` has run."""
    return catalog.health(wh)
