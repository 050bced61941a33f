"""Pages that did not get through are said loudly, once, in the channel.

A page recipient that fails, or is not `delivered` within SMS_PAGE_TIMEOUT seconds of the
page going out, gets one alert: a reply in the tracked message's thread, also broadcast to
the channel, mentioning the sender and the person paged, with the reason and a "Retry
failed" button.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.metrics import Metrics
from bot.notifier import Pacer
from bot.periodic import every
from sms.delivery import State
from storage import Pages, Recipient, SendView

log = logging.getLogger(__name__)


def needs_alert(recipient: Recipient, send: SendView, timed_out_before: datetime) -> bool:
    """Failed, or still undelivered a timeout after the page went out (not after the command)."""
    if recipient.escalated or recipient.state == State.DELIVERED:
        return False
    if recipient.state == State.FAILED:
        return True
    return datetime.fromisoformat(send.goes_out or send.created) <= timed_out_before


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
        clock: Callable[[], datetime],
    ) -> None:
        self.pages = pages
        self.client = client
        self.metrics = metrics
        self.pacer = pacer
        self.timeout = timedelta(seconds=timeout)
        self.interval = interval
        self.mask = mask
        self.clock = clock

    async def run(self) -> None:
        await every(self.interval, self.check_once, "page escalation")

    async def check_once(self) -> int:
        """Alert about every page recipient that is due; returns how many."""
        timed_out_before = self.clock() - self.timeout
        alerted = 0
        for send in await self.pages.due_escalations(timed_out_before):
            due = [r for r in send.recipients if needs_alert(r, send, timed_out_before)]
            if not due:
                continue
            await self.pages.mark_escalated([r.id for r in due])
            message = render.page_alert(send, due, mask=self.mask, timeout=self.timeout)
            assert send.message_channel and send.message_ts
            await self.pacer.wait(send.message_channel)
            try:
                await self.client.chat_postMessage(
                    channel=send.message_channel,
                    thread_ts=send.message_ts,
                    reply_broadcast=True,
                    text=message.text,
                    blocks=message.blocks,
                )
            except SlackApiError as error:
                code = str(error.response.get("error"))
                self.metrics.slack_errors.labels("chat.postMessage", code).inc()
                log.error("page alert for send %s not posted: %s", send.id, code)
                continue
            except Exception:
                await self.pages.mark_escalated([r.id for r in due], escalated=False)
                raise
            self.metrics.page_alerts.inc(len(due))
            alerted += len(due)
        return alerted
