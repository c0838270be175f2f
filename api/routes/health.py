from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import WarehouseDep
from api.queries import catalog
from api.schemas import Health, RecorderHealth
from liquidationheatmap.live.state import recorder_health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Is the API up, and when were the marts built?")
def health(wh: WarehouseDep, request: Request) -> Health:
    """Always 200 while the API runs; `status` is `no_data` until `liquidationheatmap build` has run.

    `recorder` is the live recorder's state per stream (connected, last message age, gaps today),
    from the state file it rewrites every second; null when no recorder has run.
    """
    answer = catalog.health(wh)
    recorder = recorder_health(request.app.state.config.recorder_state)
    answer.recorder = None if recorder is None else RecorderHealth.model_validate(recorder)
    return answer
