"""The tracked message: posting it, editing it, its failure replies, and the fallbacks.

Each permanent Slack error has one fallback: a message that is gone is posted anew, a
channel that refuses us is replaced by the sender's DM with the app, and a dead token
drops the update with a metric (no retry can help until an admin fixes it). `update`
raises whatever went wrong; the worker asks `fall_back` first and retries the rest with
backoff.

The message's first block carries a marker made from the send's id: a send with no
message on record (its post's answer was lost, or the process died posting it) is looked
for by that marker before it is posted, so a lost answer does not make two messages.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.alerts import render as alert_render
from bot.alerts.notice import AlertNotice
from bot.metrics import Metrics
from bot.notifier.errors import (
    CHANNEL_REFUSES,
    MESSAGE_GONE,
    TOKEN_DEAD,
    error_code,
    may_have_acted,
)
from bot.notifier.once import PostOnce, marked_blocks
from bot.notifier.pacer import Pacer
from bot.notifier.placed import Placements, Posted
from sms.delivery import State
from storage import Outbox, Sends, SendView
from storage.alert_groups import AlertGroups

__all__ = [
    "CHANNEL_REFUSES",
    "MESSAGE_GONE",
    "TOKEN_DEAD",
    "Posted",
    "TrackedMessages",
    "error_code",
    "may_have_acted",
]

log = logging.getLogger(__name__)


def marker(send_id: int) -> str:
    """What marks a send's tracked message, so it can be found if its post's answer is lost."""
    return f"smsbot-send-{send_id}"


class TrackedMessages:
    """One message per send, kept showing every recipient's state."""

    def __init__(
        self,
        sends: Sends,
        outbox: Outbox,
        client: AsyncWebClient,
        metrics: Metrics,
        pacer: Pacer,
        *,
        mask: bool,
        clock: Callable[[], datetime],
        poke: Callable[[], None],
        alerts: AlertGroups | None = None,
    ) -> None:
        self.sends = sends
        self.outbox = outbox
        self.client = client
        self.metrics = metrics
        self.pacer = pacer
        self.once = PostOnce(client, pacer, metrics)
        self.mask = mask
        self.clock = clock
        self.alerts = alerts  # an alert's page shows its alert, and notes in its thread
        # Wakes the outbox worker: a post may leave an update behind it still to do.
        self.poke = poke
        # Commands waiting to learn where the worker posted their send's message.
        self._placed = Placements(sends, poke)
        # Sends whose post may have landed unseen: one this process tried (its answer lost),
        # or one made before this process started (a crash may have cut the answer off).
        # Only these are looked for before posting; a fresh send is simply posted.
        self._in_doubt: set[int] = set()
        self._started = clock()

    def begin(self) -> None:
        """The worker starts (a start, or a replica taking over): sends made before now may
        have had a post tried by a process that is gone, so those are looked for first."""
        self._started = self.clock()

    async def placed(self, send_id: int, timeout: float) -> Posted | None:  # noqa: ASYNC109
        """Where the send's tracked message went, once the worker has posted it
        (bot/notifier/placed.py)."""
        return await self._placed.wait(send_id, timeout)

    async def post(self, send_id: int) -> Posted:
        """Post a send's tracked message in its channel, or in the sender's DM if we can't.

        Raises SlackApiError when neither place takes it.
        """
        version = await self.outbox.version(send_id)
        send = await self.sends.load(send_id)
        assert send is not None
        message = await self._message(send)
        blocks = marked_blocks(message, marker(send.id))
        notice = None
        try:
            await self.pacer.wait(send.channel_id)
            self._in_doubt.add(send.id)  # until Slack's answer says where it went
            response = await self.client.chat_postMessage(
                channel=send.channel_id, text=message.text, blocks=blocks
            )
        except SlackApiError as error:
            if not may_have_acted(error):
                self._in_doubt.discard(send.id)
            code = error_code(error)
            self.metrics.slack_errors.labels("chat.postMessage", code).inc()
            if code not in CHANNEL_REFUSES:
                raise
            notice = (
                f"I can't post in <#{send.channel_id}> ({code}), so delivery updates for "
                "this SMS go to our direct messages instead. Invite me to the channel "
                "(`/invite @smsbot`) to see them there next time."
            )
            self._in_doubt.add(send.id)
            response = await self.client.chat_postMessage(
                channel=send.user_id, text=message.text, blocks=blocks
            )
        self.metrics.slack_updates.labels("chat.postMessage").inc()
        self._in_doubt.discard(send.id)
        posted = Posted(channel=str(response["channel"]), ts=str(response["ts"]), notice=notice)
        # Failures (an alert's notes) that came before the post still need their reply: keep
        # the row.
        unsaid = (
            send.kind not in ("page", "alert")
            and any(r.state == State.FAILED and not r.announced for r in send.recipients)
        ) or (send.kind == "alert" and bool(self.alerts and await self.alerts.unsaid(send.id)))
        shown = None if unsaid else version
        await self.outbox.set_tracked_message(send_id, posted.channel, posted.ts, notice, shown)
        self.poke()
        self._placed.settle(send_id, posted)
        return posted

    async def update(self, send: SendView) -> None:
        """Edit the tracked message; post newly failed recipients (an alert's notes) in its
        thread."""
        assert send.message_channel and send.message_ts
        message = await self._message(send)
        await self.pacer.wait(send.message_channel)
        await self.client.chat_update(
            channel=send.message_channel,
            ts=send.message_ts,
            text=message.text,
            blocks=marked_blocks(message, marker(send.id)),
        )
        self.metrics.slack_updates.labels("chat.update").inc()
        if send.kind == "alert" and (alerts := self.alerts) is not None:
            notes = await alerts.unsaid(send.id)
            ids = [note.id for note in notes]
            said = notes and await self._reply_once(
                send, alert_render.notes_reply(notes), lambda s: alerts.mark_said(ids, s)
            )
            for note in notes if said else ():
                self.metrics.alert_notes.labels(note.kind).inc()
            return
        if send.kind in ("page", "alert"):
            return  # a page's failures are alerted loudly by the escalator instead
        failed = [r for r in send.recipients if r.state == State.FAILED and not r.announced]
        if not failed:
            return
        ids = [r.id for r in failed]
        reply = render.failure_reply(failed, mask=self.mask)
        await self._reply_once(send, reply, lambda said: self.outbox.mark_announced(ids, said))

    async def _reply_once(
        self, send: SendView, reply: render.Message, mark: Callable[[bool], Awaitable[None]]
    ) -> bool:
        """A thread reply made at most once: marked said just before the post (the window is
        small); Slack's definite no unmarks it and raises, to be tried again; a lost answer
        is not said again. Whether Slack took it."""
        assert send.message_channel and send.message_ts
        await self.pacer.wait(send.message_channel)
        await mark(True)
        try:
            await self.client.chat_postMessage(
                channel=send.message_channel,
                thread_ts=send.message_ts,
                text=reply.text,
                blocks=reply.blocks,
            )
        except Exception as error:
            if not may_have_acted(error):
                await mark(False)  # Slack said no: later
                raise
            # It may be in the thread already: at most once means not saying it again.
            self.metrics.slack_errors.labels("chat.postMessage", error_code(error)).inc()
            log.warning("thread reply for send %s may be lost: %s", send.id, error_code(error))
            return False
        self.metrics.slack_updates.labels("chat.postMessage").inc()
        return True

    async def _message(self, send: SendView) -> render.Message:
        """The tracked message as it should look now: an alert's page shows its alert."""
        group = await self.alerts.of_send(send.id) if self.alerts and send.kind == "alert" else None
        if group is None:
            return render.tracked_message(send, mask=self.mask, now_label=self._now_label())
        notice = AlertNotice.from_json(group.notice)
        return alert_render.alert_page(
            send, group, notice, mask=self.mask, now_label=self._now_label()
        )

    async def fall_back(self, send: SendView, code: str) -> bool:
        """Apply the fallback for a permanent Slack error; False when `code` is not one."""
        if code in MESSAGE_GONE:
            log.warning("tracked message of send %s is gone (%s): posting a new one", send.id, code)
            await self.repost(send, code)
        elif code in CHANNEL_REFUSES:
            log.warning("channel of send %s refuses updates (%s): using the DM", send.id, code)
            await self.repost(send, code)
        elif code in TOKEN_DEAD:
            log.error("Slack token unusable (%s): update of send %s dropped", code, send.id)
            self.metrics.slack_dropped.labels(code).inc()
            await self.outbox.drop(send.id)
        else:
            return False
        return True

    async def post_unposted(self, send: SendView) -> None:
        """Post the message of a send that has none on record, unless an earlier post of it
        is in Slack: a post whose answer was lost (a 5xx, a dropped connection, a crash)
        may have landed, and then that message is adopted instead of posting a second.
        Raises when Slack cannot say; the worker asks again next round."""
        if send.id not in self._in_doubt and datetime.fromisoformat(send.created) >= self._started:
            await self.repost(send, "never posted")
            return
        found = await self.once.find_top(send.channel_id, send.user_id, marker(send.id))
        if found is None:
            await self.repost(send, "never posted")
            return
        log.info("send %s: its message was posted, the answer lost; adopting it", send.id)
        await self.outbox.set_tracked_message(send.id, found.channel, found.ts, None, None)
        self.poke()

    async def repost(self, send: SendView, reason: str) -> None:
        """Post the tracked message anew (in the channel, or the DM if the channel refuses).

        A failure that may have posted it (a 5xx) or that passes (a rate limit) is raised for
        the worker to try again, looking first for the post that may have landed; only an
        answer in which Slack refuses both places drops the send's updates.
        """
        try:
            await self.post(send.id)
        except SlackApiError as error:
            code = error_code(error)
            if may_have_acted(error) or code == "ratelimited":
                raise
            self.metrics.slack_errors.labels("chat.postMessage", code).inc()
            self.metrics.slack_dropped.labels(code).inc()
            log.error("send %s: no place takes its message (%s, then %s)", send.id, reason, code)
            await self.outbox.drop(send.id)
            self._placed.settle(send.id, error)

    def _now_label(self) -> str:
        return self.clock().strftime("%H:%M:%S UTC")
