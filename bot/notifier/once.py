"""A post that must be seen once: a marker in it, and looking for the marker before any repeat.

Slack has no idempotency key for `chat.postMessage`, and a 5xx answer or a dropped
connection does not say whether the message was posted. So a post that may be repeated
carries a marker (the `block_id` of its first block) that the caller derives from what
it stored before posting; before posting again after an answer was lost (or after a
restart), the caller asks `find`, which reads the thread, and the sender's DM with the
app, for that marker.

A channel that refuses us (`CHANNEL_REFUSES`, a definite answer: nothing was posted) is
replaced by the sender's DM with the app, as for the tracked message.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics
from bot.notifier.errors import CHANNEL_REFUSES, MESSAGE_GONE, error_code, may_have_acted
from bot.notifier.pacer import Pacer
from bot.render import Message

__all__ = ["Found", "PostOnce", "Thread", "marked_blocks"]

log = logging.getLogger(__name__)

# Reading a thread: how many pages of replies to look through at most.
MAX_PAGES = 10
# A thread that cannot be read: it is not there for us, so neither is our post in it.
UNREADABLE = CHANNEL_REFUSES | MESSAGE_GONE | {"thread_not_found"}


@dataclass(frozen=True)
class Found:
    channel: str
    ts: str


@dataclass(frozen=True)
class Thread:
    """Where a marked post goes: a thread, and whose DM takes it if the channel refuses."""

    channel: str
    ts: str
    user_id: str


def marked_blocks(message: Message, marker: str) -> list[dict[str, Any]]:
    """The message's blocks, the first one carrying `marker` as its block_id."""
    return [{**message.blocks[0], "block_id": marker}, *message.blocks[1:]]


class PostOnce:
    def __init__(self, client: AsyncWebClient, pacer: Pacer, metrics: Metrics) -> None:
        self.client = client
        self.pacer = pacer
        self.metrics = metrics

    async def post(self, where: Thread, message: Message, marker: str, **extra: Any) -> str:
        """Post `message` marked with `marker` in the thread, or in the DM if the channel
        refuses; returns the channel it went to. Raises what the last call raised."""
        blocks = marked_blocks(message, marker)
        await self.pacer.wait(where.channel)
        try:
            response = await self.client.chat_postMessage(
                channel=where.channel,
                thread_ts=where.ts,
                text=message.text,
                blocks=blocks,
                **extra,
            )
        except SlackApiError as error:
            code = error_code(error)
            if may_have_acted(error) or code not in CHANNEL_REFUSES:
                raise
            self.metrics.slack_errors.labels("chat.postMessage", code).inc()
            log.warning("channel %s refuses %s (%s): using the DM", where.channel, marker, code)
            await self.pacer.wait(where.user_id)
            response = await self.client.chat_postMessage(
                channel=where.user_id, text=message.text, blocks=blocks
            )
        self.metrics.slack_updates.labels("chat.postMessage").inc()
        return str(response["channel"])

    async def find(self, where: Thread, marker: str) -> bool:
        """Whether a post marked `marker` is in the thread or the sender's DM.

        Raises when Slack cannot say (the caller tries again later).
        """
        return (
            await self._looking(marker, self._in_thread(where, marker), where.user_id) is not None
        )

    async def find_top(self, channel: str, user_id: str, marker: str) -> Found | None:
        """Where a top-level post marked `marker` is: in the channel's recent history, or
        the sender's DM. Raises when Slack cannot say."""
        return await self._looking(marker, self._in_history(channel, marker), user_id)

    async def _looking(
        self, marker: str, first: Coroutine[Any, Any, Found | None], user_id: str
    ) -> Found | None:
        """Look in the first place, then the DM. Without the scopes to read, the answer is
        "not there": a message said twice is better than a page nobody hears."""
        try:
            found = await first
            if found is None:
                dm = await self.client.conversations_open(users=user_id)
                found = await self._in_history(dm["channel"]["id"], marker)
        except SlackApiError as error:
            if error_code(error) != "missing_scope" or may_have_acted(error):
                raise
            log.error(
                "cannot read Slack to look for %s (missing_scope): reinstall the app with "
                "manifest.yml's scopes",
                marker,
            )
            return None
        return found

    async def _in_history(self, channel: str, marker: str) -> Found | None:
        """The channel's latest messages (a marked post is looked for soon after it)."""
        try:
            page = await self.client.conversations_history(channel=channel, limit=200)
        except SlackApiError as error:
            if may_have_acted(error) or error_code(error) not in CHANNEL_REFUSES:
                raise
            return None  # a channel we cannot see is one we could not post in either
        return _marked(channel, page.get("messages") or [], marker)

    async def _in_thread(self, where: Thread, marker: str) -> Found | None:
        cursor = None
        for _ in range(MAX_PAGES):
            try:
                page = await self.client.conversations_replies(
                    channel=where.channel, ts=where.ts, limit=200, cursor=cursor
                )
            except SlackApiError as error:
                if may_have_acted(error) or error_code(error) not in UNREADABLE:
                    raise
                return None  # a thread we cannot see is one we could not post in either
            found = _marked(where.channel, page.get("messages") or [], marker)
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if found or not cursor:
                return found
        return None


def _marked(channel: str, messages: list[dict[str, Any]], marker: str) -> Found | None:
    for message in messages:
        if any(block.get("block_id") == marker for block in message.get("blocks") or []):
            return Found(channel, str(message["ts"]))
    return None
