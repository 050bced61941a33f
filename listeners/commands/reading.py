"""Reads `/sms` text into a typed request before any subcommand listener sees it.

The grammar needs the workspace's saved contact names (a contact in recipient position is a
recipient, not the first word of the message), so reading happens here, once, with the
database at hand. A usage error is the whole answer: it is the ack, and no listener runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.config import Settings
from bot.directory import Directory
from listeners.commands.grammar import SendRequest, UsageError, parse
from listeners.commands.sender_zone import placed
from storage.contacts import Contacts

COMMAND = "/sms"
COULD_NOT_FINISH = (
    ":warning: Something went wrong on my side and I could not finish that. "
    "If it was a send, check `/sms status` before trying again."
)
REQUEST = "sms_request"
"""The context key (and listener argument) that holds the typed request."""


async def read_sms_command(
    command: dict[str, Any] | None,
    context: AsyncBoltContext,
    ack: AsyncAck,
    contacts: Contacts,
    directory: Directory,
    settings: Settings,
    clock: Callable[[], datetime],
    next: Callable[[], Awaitable[None]],
) -> BoltResponse | None:
    if not command or command.get("command") != COMMAND:
        await next()
        return None
    names = await contacts.names(command.get("team_id", ""))
    now = clock()
    try:
        request = parse(
            command.get("text", ""),
            default_region=settings.sms_default_region,
            zone=None,
            now=now,
            contacts=names,
        )
        if isinstance(request, SendRequest):
            request = await placed(
                request,
                user_id=command.get("user_id", ""),
                directory=directory,
                settings=settings,
                now=now,
            )
        context[REQUEST] = request
    except UsageError as error:
        return await ack(text=str(error))
    await next()
    return None


def asks_for(*kinds: type) -> Callable[..., Awaitable[bool]]:
    """A Bolt matcher: this listener answers requests of these types."""

    async def matches(sms_request: object = None) -> bool:
        return isinstance(sms_request, kinds)

    return matches
