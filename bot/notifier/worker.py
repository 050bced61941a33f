"""The outbox worker: rounds over the outbox rows, with backoff and a point to give up.

It decides when and whether to try a send's update; what a try does, and what each
permanent Slack error falls back to, is `TrackedMessages`' job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError

from bot.metrics import Metrics
from bot.notifier.tracked import TrackedMessages, error_code
from storage import Outbox, Pending, Sends, SendView
from storage.sends import CALLING

__all__ = ["MAX_ATTEMPTS", "MAX_BACKOFF", "Notifier"]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_BACKOFF = 300.0


class Notifier:
    def __init__(
        self,
        sends: Sends,
        outbox: Outbox,
        tracked: TrackedMessages,
        metrics: Metrics,
        *,
        interval: float,
        clock: Callable[[], datetime],
        wake: asyncio.Event,
    ) -> None:
        self.sends = sends
        self.outbox = outbox
        self.tracked = tracked
        self.metrics = metrics
        self.interval = interval
        self.clock = clock
        # Shared with `tracked`, whose posts ring it too.
        self._wake = wake

    def poke(self) -> None:
        """Something changed: run a round soon."""
        self._wake.set()

    async def run(self) -> None:
        """The background loop; also catches up on whatever was pending at start."""
        await self._recover_interrupted()
        self._wake.set()
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that
            # lands as the event is set, and this loop then outlives the shutdown that
            # cancelled it (seen as a hang in the model test's teardown).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval * 5):
                    await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
            except Exception:
                log.exception("notifier round failed; trying again next round")

    async def drain(self) -> None:
        """Rounds until nothing is due or a round changes nothing: for shutdown, under a limit."""
        before = await self.outbox.pending(due=self.clock())
        while before:
            await self.flush()
            after = await self.outbox.pending(due=self.clock())
            if after == before:
                return
            before = after

    async def flush(self) -> None:
        """One round over the outbox rows that are due."""
        for pending in await self.outbox.pending(due=self.clock()):
            send = await self.sends.load(pending.send_id)
            if send is None or not send.channel_id:  # gone, or sent from a terminal
                await self.outbox.drop(pending.send_id)
            elif send.phase == CALLING:
                continue  # posted once the gateway has answered, with what it answered
            elif send.message_ts is None:
                # The worker alone posts tracked messages: a command never races it to a second.
                await self.tracked.repost(send, "not posted yet")
            else:
                await self._bring_up_to_date(send, pending)

    async def _recover_interrupted(self) -> None:
        """Sends a crash caught in their gateway call: shown as unknown, never sent again."""
        try:
            interrupted = await self.sends.recover_interrupted(before=self.clock())
        except Exception:
            log.exception("could not look for sends interrupted by a crash")
            return
        if interrupted:
            log.warning("sends %s were interrupted in their gateway call: unknown", interrupted)

    async def _bring_up_to_date(self, send: SendView, pending: Pending) -> None:
        try:
            await self.tracked.update(send)
        except SlackApiError as error:
            await self._handle_failure(send, pending, "chat.update", error_code(error), error)
            return
        except Exception as error:
            await self._handle_failure(send, pending, "chat.update", type(error).__name__, error)
            return
        await self.outbox.mark_updated(send.id, pending.version)

    async def _handle_failure(
        self, send: SendView, pending: Pending, method: str, code: str, error: Exception
    ) -> None:
        """Each permanent Slack error has one fallback; anything else is retried with backoff."""
        self.metrics.slack_errors.labels(method, code).inc()
        if await self.tracked.fall_back(send, code):
            return
        if pending.attempts + 1 >= MAX_ATTEMPTS:
            log.error("giving up on send %s after %d attempts (%s)", send.id, MAX_ATTEMPTS, code)
            self.metrics.slack_dropped.labels(code).inc()
            await self.outbox.drop(send.id)
        else:
            delay = min(self.interval * 2 ** (pending.attempts + 1), MAX_BACKOFF)
            log.warning("update of send %s failed (%s); again in %.1fs", send.id, error, delay)
            await self.outbox.defer(send.id, self.clock() + timedelta(seconds=delay))
