"""Bounded REST calls to the USD-M API with backoff, honouring 429/418 `Retry-After`."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
BACKOFF_START = 0.5
BACKOFF_MAX = 30.0
TIMEOUT_SECONDS = 10.0


class RestUnavailable(RuntimeError):
    """The endpoint did not answer usefully within the attempts allowed."""


class RestClient:
    def __init__(self, base_url: str, stop: asyncio.Event | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.stop = stop or asyncio.Event()
        self.client = httpx.AsyncClient(base_url=self.base_url, timeout=TIMEOUT_SECONDS)
        self.rate_limited = 0  # 429/418 answers seen
        self.failures = 0

    async def close(self) -> None:
        await self.client.aclose()

    async def get(self, path: str, params: dict) -> object:
        """GET path; retries up to MAX_ATTEMPTS with exponential backoff, waiting `Retry-After` on 429."""
        delay = BACKOFF_START
        last_error = "no attempt"
        for _attempt in range(MAX_ATTEMPTS):
            if self.stop.is_set():
                break
            try:
                response = await self.client.get(path, params=params)
            except httpx.HTTPError as error:
                last_error = f"{type(error).__name__}: {error}"
                self.failures += 1
            else:
                if response.status_code == 200:
                    return response.json()
                last_error = f"HTTP {response.status_code}"
                if response.status_code in (429, 418):
                    self.rate_limited += 1
                    wait = _retry_after(response, delay)
                    log.warning("%s: rate limited (%d), waiting %.1f s as Retry-After says",
                                path, response.status_code, wait)  # fmt: skip
                    await self._sleep(wait)
                    continue
                if 400 <= response.status_code < 500:
                    detail = f"{last_error} {response.text[:200]}"
                    raise RestUnavailable(f"{self.base_url}{path} {params}: {detail}")
                self.failures += 1
            await self._sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)
        raise RestUnavailable(f"{self.base_url}{path} {params}: {last_error}")

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)


def _retry_after(response: httpx.Response, fallback: float) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return fallback
