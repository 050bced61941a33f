"""The loop of a background worker that works in rounds: one failed round is not the end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def every(interval: float, step: Callable[[], Awaitable[object]], what: str) -> None:
    """Run `step` every `interval` seconds until cancelled, logging a round that fails."""
    while True:
        try:
            await step()
        except Exception:
            log.exception("%s round failed; trying again next round", what)
        await asyncio.sleep(interval)
