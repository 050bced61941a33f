"""Asks the gateway's status API about recipients that have had no final report.

Pushed reports are the fast path; this is the one that cannot be lost. It covers a
gateway that cannot reach us (Socket Mode, no public URL), pushes that were dropped,
and operators that never report: after the gateway's 30-day window the recipient
becomes `unknown`, with the reason.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.gateway import GatewayClient, GatewayError
from bot.metrics import Metrics
from bot.notifier import Notifier
from bot.periodic import every
from sms.delivery import Report
from storage import Polling, PollTarget, Reports

log = logging.getLogger(__name__)

# Recipients asked about per round; the client splits them into requests of 500.
ROUND_SIZE = 5000
MAX_BACKOFF = timedelta(hours=6)


def next_poll(now: datetime, after: timedelta, polls: int) -> datetime:
    """Ask again after `after`, doubling each time, at most every six hours."""
    return now + min(after * 2**polls, MAX_BACKOFF)


class Poller:
    def __init__(
        self,
        reports: Reports,
        polling: Polling,
        gateway: GatewayClient,
        notifier: Notifier,
        metrics: Metrics,
        *,
        after: timedelta,
        interval: float,
        clock: Clock,
    ) -> None:
        self.reports = reports
        self.polling = polling
        self.gateway = gateway
        self.notifier = notifier
        self.metrics = metrics
        self.after = after
        self.interval = interval
        self.clock = clock

    async def run(self) -> None:
        await every(self.clock, self.interval, self.poll_once, "status polling")

    async def poll_once(self) -> int:
        """One round; returns how many recipients were asked about."""
        now = self.clock.now()
        if await self.polling.expire_unreported(now):
            self.notifier.poke()
        targets = await self.polling.due(now, self.after, ROUND_SIZE)
        if not targets:
            return 0
        try:
            await self.ask([(t.msg_id, t.mobile) for t in targets])
        except GatewayError as error:
            log.warning("status polling of %d recipients failed: %s", len(targets), error)
        await self._ask_again(targets, now)
        return len(targets)

    async def ask(self, pairs: list[tuple[str, str]]) -> None:
        """Query the status API for (msgId, mobile) pairs and apply the answers like reports."""
        entries = await self.gateway.status(pairs)
        reports = [
            (
                Report(e.msg_id, e.mobile, e.status, e.error_code, e.desc, e.timestamp),
                json.dumps(asdict(e)),
            )
            for e in entries
        ]
        outcomes = await self.reports.record(reports, "poll")
        for outcome in outcomes:
            self.metrics.reports_received.labels("poll", outcome).inc()
        self.notifier.poke()

    async def _ask_again(self, targets: list[PollTarget], now: datetime) -> None:
        """Every target gets its next time; those now final are never selected again anyway."""
        await self.polling.schedule(
            [(t.recipient_id, next_poll(now, self.after, t.polls)) for t in targets]
        )
