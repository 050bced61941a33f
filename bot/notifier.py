"""Keeps each send's tracked message in step with the database.

Report intake only bumps a row in the `outbox` table; this worker wakes, waits one
update interval so a burst of reports folds into one edit, then makes the Slack calls.
A row is cleared only if no newer change arrived while Slack was being called, so
the last state is always shown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.delivery import State
from bot.metrics import Metrics
from storage import SendView, Store

log = logging.getLogger(__name__)

# The channel cannot take our message: post to the sender's DM with the app instead.
CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
# The tracked message is gone for good: retrying the edit can never succeed.
# Seconds after which a send that has no tracked message is posted by the worker.
ORPHAN_AFTER = 60
GONE = {"message_not_found", "channel_not_found", "is_archived", "cant_update_message"}


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str
    notice: str | None


class Notifier:
    def __init__(
        self,
        store: Store,
        client: AsyncWebClient,
        metrics: Metrics,
        *,
        interval: float,
        mask: bool,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.client = client
        self.metrics = metrics
        self.interval = interval
        self.mask = mask
        self.clock = clock
        self._wake = asyncio.Event()
        self._last_call: dict[str, float] = {}

    def poke(self) -> None:
        """Something changed: run a round soon."""
        self._wake.set()

    async def run(self) -> None:
        """The background loop; also catches up on whatever was pending at start."""
        self._wake.set()
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=30)
            except TimeoutError:
                pass
            self._wake.clear()
            await asyncio.sleep(self.interval)
            try:
                retry = await self.flush()
            except Exception:
                log.exception("notifier round failed; retrying")
                retry = True
            if retry:
                await asyncio.sleep(self.interval * 5)
                self._wake.set()

    async def flush(self) -> bool:
        """One round over the outbox; True when something must be tried again later."""
        retry = False
        for send_id, version in await self.store.pending_updates():
            send = await self.store.load_send(send_id)
            if send is None:
                await self.store.drop_update(send_id)
                continue
            if send.message_ts is None:
                if self._orphaned(send):
                    await self._recover_post(send_id)
                continue
            try:
                announced = await self._update(send)
            except SlackApiError as error:
                code = str(error.response.get("error", "unknown"))
                self.metrics.slack_errors.labels("chat.update", code).inc()
                if code in GONE:
                    log.warning("tracked message of send %s is gone (%s)", send_id, code)
                    await self.store.drop_update(send_id)
                else:
                    log.warning("update of send %s failed (%s); will retry", send_id, code)
                    retry = True
                continue
            except Exception as error:
                self.metrics.slack_errors.labels("chat.update", type(error).__name__).inc()
                log.warning("update of send %s failed (%s); will retry", send_id, error)
                retry = True
                continue
            await self.store.mark_updated(send_id, version, announced)
        return retry

    def _orphaned(self, send: SendView) -> bool:
        """A send stored but never posted: the command that made it died before posting."""
        created = datetime.fromisoformat(send.created)
        return (self.clock() - created).total_seconds() > ORPHAN_AFTER

    async def _recover_post(self, send_id: int) -> None:
        try:
            await self.post_tracked(send_id)
        except SlackApiError as error:
            log.warning("could not post tracked message of send %s: %s", send_id, error)
            await self.store.drop_update(send_id)

    async def _pace(self, channel: str) -> None:
        """At most one call per channel per interval, Slack's pace for posting."""
        loop = asyncio.get_running_loop()
        wait = self._last_call.get(channel, 0) + self.interval - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_call[channel] = loop.time()

    def _now_label(self) -> str:
        return self.clock().strftime("%H:%M:%S UTC")

    async def _update(self, send: SendView) -> list[int]:
        assert send.message_channel and send.message_ts
        message = render.tracked_message(send, mask=self.mask, now_label=self._now_label())
        await self._pace(send.message_channel)
        await self.client.chat_update(
            channel=send.message_channel,
            ts=send.message_ts,
            text=message.text,
            blocks=message.blocks,
        )
        self.metrics.slack_updates.labels("chat.update").inc()
        failed = [r for r in send.recipients if r.state == State.FAILED and not r.announced]
        if failed:
            reply = render.failure_reply(failed, mask=self.mask)
            await self._pace(send.message_channel)
            await self.client.chat_postMessage(
                channel=send.message_channel,
                thread_ts=send.message_ts,
                text=reply.text,
                blocks=reply.blocks,
            )
            self.metrics.slack_updates.labels("chat.postMessage").inc()
        return [r.id for r in failed]

    async def post_tracked(self, send_id: int) -> Posted:
        """Post a send's tracked message in its channel, or in the sender's DM if we can't.

        Raises SlackApiError when neither place takes it.
        """
        version = await self.store.outbox_version(send_id)
        send = await self.store.load_send(send_id)
        assert send is not None
        message = render.tracked_message(send, mask=self.mask, now_label=self._now_label())
        notice = None
        try:
            await self._pace(send.channel_id)
            response = await self.client.chat_postMessage(
                channel=send.channel_id, text=message.text, blocks=message.blocks
            )
        except SlackApiError as error:
            code = str(error.response.get("error", "unknown"))
            self.metrics.slack_errors.labels("chat.postMessage", code).inc()
            if code not in CANNOT_POST:
                raise
            notice = (
                f"I can't post in <#{send.channel_id}> ({code}), so delivery updates for "
                "this SMS go to our direct messages instead. Invite me to the channel "
                "(`/invite @smsbot`) to see them there next time."
            )
            response = await self.client.chat_postMessage(
                channel=send.user_id, text=message.text, blocks=message.blocks
            )
        self.metrics.slack_updates.labels("chat.postMessage").inc()
        posted = Posted(channel=str(response["channel"]), ts=str(response["ts"]), notice=notice)
        await self.store.set_tracked_message(send_id, posted.channel, posted.ts, notice, version)
        self.poke()
        return posted
