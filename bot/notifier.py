"""Keeps each send's tracked message in step with the database.

Report intake only bumps a row in the `outbox` table, in the same transaction as the
report; this worker wakes, waits one update interval so a burst of reports folds into
one edit, then makes the Slack calls. A row is cleared only if no newer change came in
while Slack was being called, so the last state is always shown, and after a crash the
rows still there are simply done again: an edit shows the same thing twice, never two
messages.

Thread replies about failures are at most once: recipients are marked announced before
the reply is posted, so a crash in between loses that reply rather than doubling it.
The tracked message, which always shows every failure, is the record that cannot be lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.metrics import Metrics
from sms.delivery import State
from storage import Outbox, Pending, Sends, SendView

log = logging.getLogger(__name__)

# The channel will not take our message: the sender's DM with the app takes it instead.
CHANNEL_REFUSES = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
# The tracked message is gone: post a new one where it was.
MESSAGE_GONE = {"message_not_found", "cant_update_message", "edit_window_closed"}
# Our token no longer works: no retry can help until an admin fixes it.
TOKEN_DEAD = {
    "token_revoked",
    "invalid_auth",
    "account_inactive",
    "not_authed",
    "missing_scope",
    "team_access_not_granted",
}
# Seconds after which a send that has no tracked message is posted by the worker.
ORPHAN_AFTER = 60
MAX_ATTEMPTS = 8
MAX_BACKOFF = 300.0


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str
    notice: str | None


def _error(error: SlackApiError) -> str:
    return str(error.response.get("error") or "unknown")


class Notifier:
    def __init__(
        self,
        sends: Sends,
        outbox: Outbox,
        client: AsyncWebClient,
        metrics: Metrics,
        *,
        interval: float,
        mask: bool,
        clock: Callable[[], datetime],
    ) -> None:
        self.sends = sends
        self.outbox = outbox
        self.client = client
        self.metrics = metrics
        self.interval = interval
        self.mask = mask
        self.clock = clock
        self._wake = asyncio.Event()
        self._last_call: dict[str, float] = {}
        self._pacing = asyncio.Lock()

    def poke(self) -> None:
        """Something changed: run a round soon."""
        self._wake.set()

    async def run(self) -> None:
        """The background loop; also catches up on whatever was pending at start."""
        self._wake.set()
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval * 5)
            except TimeoutError:
                pass
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
            if send is None:
                await self.outbox.drop(pending.send_id)
            elif send.message_ts is None:
                if self._orphaned(send):
                    await self._repost(send, "never posted")
            else:
                await self._bring_up_to_date(send, pending)

    async def _bring_up_to_date(self, send: SendView, pending: Pending) -> None:
        try:
            await self._update(send)
        except SlackApiError as error:
            await self._handle_failure(send, pending, "chat.update", _error(error), error)
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
        if code in MESSAGE_GONE:
            log.warning("tracked message of send %s is gone (%s): posting a new one", send.id, code)
            await self._repost(send, code)
        elif code in CHANNEL_REFUSES:
            log.warning("channel of send %s refuses updates (%s): using the DM", send.id, code)
            await self._repost(send, code)
        elif code in TOKEN_DEAD:
            log.error("Slack token unusable (%s): update of send %s dropped", code, send.id)
            self.metrics.slack_dropped.labels(code).inc()
            await self.outbox.drop(send.id)
        elif pending.attempts + 1 >= MAX_ATTEMPTS:
            log.error("giving up on send %s after %d attempts (%s)", send.id, MAX_ATTEMPTS, code)
            self.metrics.slack_dropped.labels(code).inc()
            await self.outbox.drop(send.id)
        else:
            delay = min(self.interval * 2 ** (pending.attempts + 1), MAX_BACKOFF)
            log.warning("update of send %s failed (%s); again in %.1fs", send.id, error, delay)
            await self.outbox.defer(send.id, self.clock() + timedelta(seconds=delay))

    async def _repost(self, send: SendView, reason: str) -> None:
        """Post the tracked message anew (in the channel, or the DM if the channel refuses)."""
        try:
            await self.post_tracked(send.id)
        except SlackApiError as error:
            code = _error(error)
            self.metrics.slack_errors.labels("chat.postMessage", code).inc()
            self.metrics.slack_dropped.labels(code).inc()
            log.error("send %s: no place takes its message (%s, then %s)", send.id, reason, code)
            await self.outbox.drop(send.id)

    def _orphaned(self, send: SendView) -> bool:
        """A send stored but never posted: the command that made it died before posting."""
        created = datetime.fromisoformat(send.created)
        return (self.clock() - created).total_seconds() > ORPHAN_AFTER

    async def pace(self, channel: str) -> None:
        """At most one call per channel per interval: Slack allows about one post a second.

        Every Slack call the bot makes to a channel (edits, replies, posts, page alerts)
        waits here, so together they stay under that pace.
        """
        loop = asyncio.get_running_loop()
        async with self._pacing:
            slot = max(loop.time(), self._last_call.get(channel, 0) + self.interval)
            self._last_call[channel] = slot
        if slot > loop.time():
            await asyncio.sleep(slot - loop.time())

    def _now_label(self) -> str:
        return self.clock().strftime("%H:%M:%S UTC")

    async def _update(self, send: SendView) -> None:
        """Edit the tracked message; post newly failed recipients in its thread."""
        assert send.message_channel and send.message_ts
        message = render.tracked_message(send, mask=self.mask, now_label=self._now_label())
        await self.pace(send.message_channel)
        await self.client.chat_update(
            channel=send.message_channel,
            ts=send.message_ts,
            text=message.text,
            blocks=message.blocks,
        )
        self.metrics.slack_updates.labels("chat.update").inc()
        if send.kind == "page":
            return  # a page's failures are alerted loudly by the escalator instead
        failed = [r for r in send.recipients if r.state == State.FAILED and not r.announced]
        if not failed:
            return
        ids = [r.id for r in failed]
        reply = render.failure_reply(failed, mask=self.mask)
        await self.pace(send.message_channel)
        await self.outbox.mark_announced(ids)  # last thing before the post: the window is small
        try:
            await self.client.chat_postMessage(
                channel=send.message_channel,
                thread_ts=send.message_ts,
                text=reply.text,
                blocks=reply.blocks,
            )
        except SlackApiError as error:
            self.metrics.slack_errors.labels("chat.postMessage", _error(error)).inc()
            log.warning("thread reply for send %s not posted: %s", send.id, _error(error))
            return
        except Exception:
            await self.outbox.mark_announced(ids, announced=False)
            raise
        self.metrics.slack_updates.labels("chat.postMessage").inc()

    async def post_tracked(self, send_id: int) -> Posted:
        """Post a send's tracked message in its channel, or in the sender's DM if we can't.

        Raises SlackApiError when neither place takes it.
        """
        version = await self.outbox.version(send_id)
        send = await self.sends.load(send_id)
        assert send is not None
        message = render.tracked_message(send, mask=self.mask, now_label=self._now_label())
        notice = None
        try:
            await self.pace(send.channel_id)
            response = await self.client.chat_postMessage(
                channel=send.channel_id, text=message.text, blocks=message.blocks
            )
        except SlackApiError as error:
            code = _error(error)
            self.metrics.slack_errors.labels("chat.postMessage", code).inc()
            if code not in CHANNEL_REFUSES:
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
        # Failures that came before the post still need their thread reply: keep the row.
        unsaid = send.kind != "page" and any(
            r.state == State.FAILED and not r.announced for r in send.recipients
        )
        shown = None if unsaid else version
        await self.outbox.set_tracked_message(send_id, posted.channel, posted.ts, notice, shown)
        self.poke()
        return posted
