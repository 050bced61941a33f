"""Work that must finish before shutdown: a send between the gateway and the database.

Bolt runs a command's work after the ack as a task of its own, outside any HTTP
request, so aiohttp's graceful shutdown does not wait for it. Cancelling it halfway
would leave an SMS sent but not recorded; shutdown waits for these instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

log = logging.getLogger(__name__)


class InFlight:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is None:
            yield
            return
        self._tasks.add(task)
        try:
            yield
        finally:
            self._tasks.discard(task)

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109
        """Let tracked work finish, for at most `timeout` seconds."""
        if not self._tasks:
            return
        log.info("waiting up to %.0fs for %d command(s) in flight", timeout, len(self._tasks))
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        if pending:
            log.warning("%d command(s) still running at shutdown", len(pending))
