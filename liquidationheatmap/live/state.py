"""The recorder's state file (rewritten atomically every second) as /health reports it."""

from __future__ import annotations

import json
import time
from pathlib import Path

STALE_SECONDS = 10.0


def read_state(path: Path | None) -> dict | None:
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def recorder_health(path: Path | None) -> dict | None:
    """Per stream: connected, last message age, gaps today; None when no recorder ever ran here."""
    state = read_state(path)
    if state is None:
        return None
    age = max(0.0, time.time() - state.get("updated_at", 0) / 1000)
    running = age <= STALE_SECONDS
    streams = {}
    for name, stream in state.get("streams", {}).items():
        last = stream.get("last_message_age_seconds")
        streams[name] = {
            "connected": bool(stream.get("connected")) and running,
            "last_message_age_seconds": None if last is None else last + age,
            "messages": int(stream.get("messages", 0)),
            "gaps_today": int(stream.get("gaps_today", 0)),
        }
    redis = state.get("redis", {})
    return {
        "running": running,
        "state_age_seconds": age,
        "redis_connected": redis.get("connected") if redis.get("enabled") else None,
        "streams": streams,
    }
