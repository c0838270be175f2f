"""`GET /stream?symbol=`: Server-Sent Events relaying the live Redis channels to the pages.

Events: `liquidation` (a forceOrder as it arrives), `price` (the per-second summary) and `marts`
(a build landed). Without a Redis URL the answer is 204, which tells an EventSource to stop trying:
a page without a live source behaves as it does without live mode. A Redis that goes away is
retried every 2 s while the client stays connected.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from liquidationheatmap.live.publisher import MARTS_CHANNEL, liquidation_channel, price_channel

router = APIRouter(tags=["live"])
KEEPALIVE_SECONDS = 15.0


@router.get(
    "/stream",
    summary="Live events (Server-Sent Events): liquidations, per-second prices, marts updated",
    responses={200: {"content": {"text/event-stream": {}}}, 204: {"description": "no live source"}},
)
async def stream(request: Request, symbol: str = Query(min_length=1, max_length=32)) -> Response:
    url = request.app.state.config.redis_url
    if not url:
        return Response(status_code=204)
    symbol = symbol.upper()
    kinds = {
        liquidation_channel(symbol): "liquidation",
        price_channel(symbol): "price",
        MARTS_CHANNEL: "marts",
    }
    return StreamingResponse(
        _events(request, url, kinds),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(request: Request, url: str, kinds: dict[str, str]):
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    yield "retry: 2000\n: connected\n\n"
    while not await request.is_disconnected():
        client = aioredis.Redis.from_url(url, socket_connect_timeout=2)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(*kinds)
            yield 'event: status\ndata: {"live": true}\n\n'
            idle = 0.0
            while not await request.is_disconnected():
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None:
                    idle += 1.0
                    if idle >= KEEPALIVE_SECONDS:
                        idle = 0.0
                        yield ": keep-alive\n\n"
                    continue
                idle = 0.0
                channel = (
                    message["channel"].decode()
                    if isinstance(message["channel"], bytes)
                    else message["channel"]
                )
                data = (
                    message["data"].decode() if isinstance(message["data"], bytes) else str(message["data"])
                )
                yield f"event: {kinds.get(channel, 'message')}\ndata: {data}\n\n"
        except (RedisError, OSError):
            yield 'event: status\ndata: {"live": false}\n\n'
            await asyncio.sleep(2.0)
        finally:
            try:
                await pubsub.aclose()
                await client.aclose()
            except (RedisError, OSError):
                pass
