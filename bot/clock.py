"""Time as the bot sees it: the wall clock, a monotonic clock, and every background wait.

The background loops (poller, escalator, outbox worker, pacer, profile cache) wait and
measure through one `Clock`, so a test can hand the bot a clock that moves only when the
test says (standins.manual_clock) instead of sleeping and hoping the machine kept up.
Deadlines on the outside world (HTTP calls to Slack and the gateway, shutdown grace) stay
on real time with `asyncio.timeout`: they are about other machines, not about the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Protocol

__all__ = ["Clock", "SystemClock", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Clock(Protocol):
    def now(self) -> datetime:
        """The wall time, timezone-aware UTC: what is stored and compared in the database."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going back: for gaps and ages."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds`."""
        ...

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait until `event` is set or `seconds` have passed; whether it is set."""
        ...

    def background(self, loop: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Start a background loop that runs on this clock's time (a test clock waits for it)."""
        ...


class SystemClock:
    """Real time. `wall` replaces only the wall clock (tests that jump days ahead)."""

    def __init__(self, wall: Callable[[], datetime] = utc_now) -> None:
        self._wall = wall

    def now(self) -> datetime:
        return self._wall()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that lands
        # as the event is set, and the waiting loop then outlives the shutdown that cancelled it.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()
        return event.is_set()

    def background(self, loop: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        return asyncio.create_task(loop, name=name)
