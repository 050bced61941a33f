"""The outbox worker: rounds over the outbox rows, with backoff and a point to give up.

It decides when and whether to try a send's update; what a try does, and what each
permanent Slack error falls back to, is `TrackedMessages`' job.

Channels are independent: a round hands each channel's rows to that channel's own task,
which works through them in queue order, waiting on the channel's pace. A burst in one
channel then only slows that channel; a round that finds a channel still busy leaves its
rows for the round its task rings when it is done. A send is in at most one task at a
time, so its edits and thread replies stay in order and are never made twice at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from slack_sdk.errors import SlackApiError

from bot.clock import Clock
from bot.metrics import Metrics
from bot.notifier.errors import error_code
from bot.notifier.tracked import TrackedMessages
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
        clock: Clock,
        wake: asyncio.Event,
        shown: Callable[[SendView], None] = lambda send: None,
        replicas: bool = False,
    ) -> None:
        """`replicas`: another process may die in a gateway call at any time, so each round
        looks for sends cut off (storage/sends.py knows whose caller is gone); alone, the
        start is the only time a crash can have left one."""
        self.sends = sends
        self.outbox = outbox
        self.tracked = tracked
        self.metrics = metrics
        self.interval = interval
        self.clock = clock
        # Shared with `tracked`, whose posts ring it too.
        self.wake = wake
        # Told of each send whose new state was taken to its channel (App Home refreshes).
        self._shown = shown
        self.replicas = replicas
        self._channels: dict[str, asyncio.Task[None]] = {}
        self._in_hand: dict[int, str] = {}  # send -> the channel whose task is working on it
        self._missed: set[str] = set()  # busy channels a round found more rows for

    def poke(self) -> None:
        """Something changed: run a round soon."""
        self.wake.set()

    async def run(self) -> None:
        """The background loop; also catches up on whatever was pending at start."""
        self.tracked.begin()
        await self._recover_interrupted()
        self.wake.set()
        while True:
            await self.clock.wait(self.wake, self.interval * 5)
            self.wake.clear()
            await self.clock.sleep(self.interval)  # a burst of changes makes one round
            if self.replicas:
                await self._recover_interrupted()
            try:
                await self.flush()
            except Exception:
                log.exception("notifier round failed; trying again next round")

    async def stop(self) -> None:
        """Cancel the channel tasks (on shutdown, after `run`); `drain` redoes what they left."""
        tasks = list(self._channels.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def drain(self) -> None:
        """Rounds until nothing is due or a round changes nothing: for shutdown, under a limit."""
        try:
            await self._settle()
            before = await self.outbox.pending(due=self.clock.now())
            while before:
                await self.flush()
                await self._settle()
                after = await self.outbox.pending(due=self.clock.now())
                if after == before:
                    return
                before = after
        finally:
            await self.stop()

    async def flush(self) -> None:
        """One round over the outbox rows that are due: each channel's rows to its own task."""
        by_channel: dict[str, list[tuple[Pending, SendView]]] = {}
        for pending in await self.outbox.pending(due=self.clock.now()):
            if pending.send_id in self._in_hand:
                self._missed.add(self._in_hand[pending.send_id])  # changed while in hand
                continue
            send = await self.sends.load(pending.send_id)
            if send is None or not send.channel_id:  # gone, or sent from a terminal
                await self.outbox.drop(pending.send_id)
                continue
            if send.phase == CALLING:
                continue  # posted once the gateway has answered, with what it answered
            channel = send.message_channel or send.channel_id
            if channel in self._channels:
                self._missed.add(channel)
            else:
                # The worker alone posts tracked messages: a command never races it to a second.
                by_channel.setdefault(channel, []).append((pending, send))
        for channel, work in by_channel.items():
            self._in_hand.update((send.id, channel) for _, send in work)
            task = asyncio.create_task(self._work(work), name=f"notifier {channel}")
            self._channels[channel] = task
            task.add_done_callback(lambda _, c=channel, w=work: self._done(c, w))

    async def _settle(self) -> None:
        """Wait for the channel tasks started so far."""
        while self._channels:
            await asyncio.gather(*self._channels.values(), return_exceptions=True)

    def _done(self, channel: str, work: list[tuple[Pending, SendView]]) -> None:
        del self._channels[channel]
        for _, send in work:
            self._in_hand.pop(send.id, None)
        if channel in self._missed:
            self._missed.discard(channel)
            self.poke()  # rows came in for this channel while it was busy

    async def _work(self, work: list[tuple[Pending, SendView]]) -> None:
        """One channel's rows, in queue order.

        A send may wait a while for the channel's pace, so its row and state are read
        again just before its calls: the edit shows the newest state and clears its row.
        """
        for pending, seen in work:
            try:
                version = await self.outbox.version(seen.id)
                send = await self.sends.load(seen.id)
                if version is None or send is None:
                    continue  # done meanwhile (a post showed it), or gone
                if send.message_ts is None:
                    await self.tracked.post_unposted(send)
                else:
                    await self._bring_up_to_date(send, replace(pending, version=version))
                self._shown(send)
            except Exception:
                log.exception("update of send %s failed; trying again next round", seen.id)

    async def _recover_interrupted(self) -> None:
        """Sends a crash caught in their gateway call: shown as unknown, never sent again."""
        try:
            interrupted = await self.sends.recover_interrupted(before=self.clock.now())
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
            await self.outbox.defer(send.id, self.clock.now() + timedelta(seconds=delay))
