"""One pace per channel for every Slack call the bot makes there.

Slack allows about one post a second per channel, and edits, thread replies, new posts
and page alerts all count towards it; they come from the notifier worker, from commands
posting their tracked message and from the escalator, so they all wait on one Pacer.

Why not aiolimiter (a per-channel `AsyncLimiter(1, interval)`): it passes the pacing test
and keeps the same least gap, but it is no shorter than the few lines below and adds a
dependency, and it would change behaviour: its waiters are not served strictly in
arrival order (on a busy loop a later caller can take the slot a woken waiter was about
to take, and that waiter waits one interval more), and a cancelled waiter hands its slot
back. Here a slot is a time, reserved in arrival order and kept even if its caller is
cancelled.
"""

from __future__ import annotations

import asyncio

from bot.clock import Clock

__all__ = ["Pacer"]


class Pacer:
    """At most one call per channel per `interval` seconds."""

    def __init__(self, interval: float, clock: Clock) -> None:
        self.interval = interval
        self.clock = clock
        self._last_call: dict[str, float] = {}
        self._pacing = asyncio.Lock()

    async def wait(self, channel: str) -> None:
        """Return when the caller may make its call to `channel`.

        The slot is reserved before sleeping, so callers that arrive together get
        successive slots instead of sharing one. A caller cancelled while it sleeps keeps
        its slot: the pace errs on the slow side, never the fast one.
        """
        async with self._pacing:
            now = self.clock.monotonic()
            last = self._last_call.get(channel)
            slot = now if last is None else max(now, last + self.interval)
            self._last_call[channel] = slot
        if slot > self.clock.monotonic():
            await self.clock.sleep(slot - self.clock.monotonic())
