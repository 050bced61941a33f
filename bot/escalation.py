"""Pages that did not get through are said loudly, once, in the channel.

A page recipient that fails, or is not `delivered` within SMS_PAGE_TIMEOUT seconds of the
page going out, gets one alert: a reply in the tracked message's thread, also broadcast to
the channel, mentioning the sender and the person paged, with the reason and a "Retry
failed" button.

At least once, never twice: the recipients are marked `ALERTING` before the post, and
the post carries a marker made from their ids. A passing Slack error (a rate limit, a
5xx, a dropped connection) leaves the mark, and the alert is tried again with backoff;
when Slack's answer was lost, or after a restart, the thread and the sender's DM are
read for the marker first, so an alert that did go out is not posted again. A channel
that refuses the bot gets the alert in the sender's DM instead.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.clock import Clock
from bot.metrics import Metrics
from bot.notifier import Pacer
from bot.notifier.errors import error_code, may_have_acted
from bot.notifier.once import PostOnce, Thread
from bot.periodic import every
from sms.delivery import State
from storage import Pages, Recipient, SendView
from storage.pages import ALERTING

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0


def needs_alert(recipient: Recipient, send: SendView, timed_out_before: datetime) -> bool:
    """Failed, or still undelivered a timeout after the page went out (not after the command)."""
    if recipient.escalated or recipient.state == State.DELIVERED:
        return False
    if recipient.state == State.FAILED:
        return True
    return datetime.fromisoformat(send.goes_out or send.created) <= timed_out_before


@dataclass(frozen=True)
class Attempts:
    """How an alert's earlier tries went; kept in memory (a restart begins with `unsure`)."""

    count: int = 0
    not_before: datetime | None = None
    unsure: bool = False  # an earlier try may have posted it: look before posting


class Escalator:
    def __init__(
        self,
        pages: Pages,
        client: AsyncWebClient,
        metrics: Metrics,
        pacer: Pacer,
        *,
        timeout: float,
        interval: float,
        mask: bool,
        clock: Clock,
    ) -> None:
        self.pages = pages
        self.once = PostOnce(client, pacer, metrics)
        self.metrics = metrics
        self.timeout = timedelta(seconds=timeout)
        self.interval = interval
        self.mask = mask
        self.clock = clock
        self._attempts: dict[int, Attempts] = {}

    async def run(self) -> None:
        await every(self.clock, self.interval, self.check_once, "page escalation")

    async def check_once(self) -> int:
        """Alert about every page recipient that is due; returns how many.

        Channels go side by side, each paced on its own, so one busy channel does not hold
        another channel's alerts.
        """
        timed_out_before = self.clock.now() - self.timeout
        by_channel: dict[str, list[SendView]] = {}
        for send in await self.pages.due_escalations(timed_out_before):
            by_channel.setdefault(str(send.message_channel), []).append(send)
        counts = await asyncio.gather(
            *(self._channel(sends, timed_out_before) for sends in by_channel.values())
        )
        return sum(counts)

    async def _channel(self, sends: list[SendView], timed_out_before: datetime) -> int:
        """One channel's alerts, in turn. Never raises: a channel's task must end with the
        round, or the next round could post an alert this one is still posting."""
        alerted = 0
        for send in sends:
            try:
                alerted += await self._escalate(send, timed_out_before)
            except Exception:
                log.exception("page escalation of send %s failed; again next round", send.id)
        return alerted

    async def _escalate(self, send: SendView, timed_out_before: datetime) -> int:
        claimed = [r for r in send.recipients if r.escalated == ALERTING]
        if claimed:
            # Not in memory: decided before a restart, and may have gone out.
            attempts = self._attempts.get(send.id, Attempts(unsure=True))
            if attempts.not_before and attempts.not_before > self.clock.now():
                return 0
        else:
            claimed = [r for r in send.recipients if needs_alert(r, send, timed_out_before)]
            if not claimed:
                return 0
            await self.pages.claim_alert([r.id for r in claimed])
            attempts = Attempts()
        return await self._alert(send, claimed, attempts)

    async def _alert(self, send: SendView, claimed: list[Recipient], attempts: Attempts) -> int:
        """Post the alert about `claimed` unless it is in Slack already; how many it named."""
        assert send.message_channel and send.message_ts
        where = Thread(send.message_channel, send.message_ts, send.user_id)
        marker = f"smsbot-page-alert-{send.id}-{min(r.id for r in claimed)}"
        # Delivered since the alert was decided: saying it now would be a false alarm.
        due = [r for r in claimed if r.state != State.DELIVERED]
        try:
            if attempts.unsure and await self.once.find(where, marker):
                log.info("page alert %s was posted; its answer had been lost", marker)
                due = []
            elif due:
                message = render.page_alert(send, due, mask=self.mask, timeout=self.timeout)
                await self.once.post(where, message, marker, reply_broadcast=True)
        except Exception as error:
            self._failed(send, attempts, error)
            return 0
        self._attempts.pop(send.id, None)
        await self.pages.settle_alert([r.id for r in claimed])
        self.metrics.page_alerts.inc(len(due))
        return len(due)

    def _failed(self, send: SendView, attempts: Attempts, error: Exception) -> None:
        """Try again later, with backoff; looking first if Slack may have posted it."""
        code = error_code(error)
        self.metrics.slack_errors.labels("chat.postMessage", code).inc()
        count = attempts.count + 1
        delay = min(self.interval * 2 ** (count - 1), MAX_BACKOFF)
        self._attempts[send.id] = Attempts(
            count=count,
            not_before=self.clock.now() + timedelta(seconds=delay),
            unsure=attempts.unsure or may_have_acted(error),
        )
        log.warning(
            "page alert for send %s not posted (%s, try %d); again in %.0fs",
            send.id,
            code,
            count,
            delay,
        )
