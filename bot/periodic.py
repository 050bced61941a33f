"""The loop of a background worker that works in rounds: one failed round is not the end."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.clock import Clock

log = logging.getLogger(__name__)


async def every(
    clock: Clock, interval: float, step: Callable[[], Awaitable[object]], what: str
) -> None:
    """Run `step` every `interval` seconds of `clock` until cancelled; a failed round is logged."""
    while True:
        try:
            await step()
        except Exception:
            log.exception("%s round failed; trying again next round", what)
        await clock.sleep(interval)
