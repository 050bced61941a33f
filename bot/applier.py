"""Applies pushed reports after the webhook has answered for them.

The webhook answers `{"code": 0}` once a report's body is committed to the inbox: that is
the promise the gateway needs. Moving the recipient, its counts, the outbox and the report
log happens here, oldest report first, `CHUNK` at a time. While the webhook is saturated
(after a bulk send, `BUSY` or more pushes waiting for their commit on average), answering
comes first: the applier takes one chunk per `PAUSE`, so the channel keeps moving while
most of the one core goes to answers. When pushes are answered as fast as they come,
however many a second, or once `CATCH_UP` reports wait, it applies what waits without
pausing. A report left by a crash is applied at the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from bot.clock import Clock
from bot.metrics import Metrics
from bot.notifier import Notifier
from storage import Inbox, Reports

log = logging.getLogger(__name__)

# Reports per transaction: large enough to share pages and the commit, small enough that
# the webhook's own inserts never wait on the writer for more than a few milliseconds.
CHUNK = 100
# Pushes waiting for their commit, on average, that mean the webhook is saturated: with
# answers keeping up, one or two wait at a time whatever the rate; saturated, most of the
# gateway's connections do.
BUSY = 4.0
PAUSE = 0.2  # between chunks while saturated: still 500 reports a second applied
CATCH_UP = 50_000  # reports waiting (10 MB or so) beyond which the applier never pauses
IDLE = 60.0  # a round even when nobody rang, should a poke ever be lost
RETRY = 1.0  # after a failed round, e.g. the disk full


class ReportApplier:
    """The background worker that applies the reports waiting in the inbox."""

    def __init__(
        self,
        reports: Reports,
        inbox: Inbox,
        notifier: Notifier,
        metrics: Metrics,
        *,
        clock: Clock,
    ) -> None:
        self.reports = reports
        self.inbox = inbox
        self.notifier = notifier
        self.metrics = metrics
        self.clock = clock
        self.wake = asyncio.Event()

    def poke(self) -> None:
        """A report was stored: apply it soon."""
        self.wake.set()

    async def run(self) -> None:
        """The background loop; its first round applies what a previous run left."""
        self.wake.set()
        while True:
            await self.clock.wait(self.wake, IDLE)
            self.wake.clear()
            try:
                await self.apply_all(pause=True)
            except Exception:
                log.exception("applying pushed reports failed; trying again")
                await self.clock.sleep(RETRY)
                self.wake.set()

    async def apply_all(self, *, pause: bool = False) -> int:
        """Apply every stored report, a chunk per transaction; how many were applied.

        With `pause`, while the webhook is saturated each chunk waits `PAUSE` first. The
        pause is real time, not the bot's clock: it shares the core, it schedules nothing."""
        done = 0
        while True:
            if pause and self.inbox.load() >= BUSY:
                await asyncio.sleep(PAUSE)
            outcomes, waiting = await self.reports.apply_inbox(CHUNK)
            done += len(outcomes)
            for outcome, count in Counter(outcomes).items():
                self.metrics.reports_received.labels("push", outcome).inc(count)
            if "applied" in outcomes:
                self.notifier.poke()
            if not waiting:
                return done
            pause = pause and waiting < CATCH_UP
