"""The "Send an SMS" shortcut opens the compose modal; typing the message updates its cost.

The count is redrawn with `views.update` on each pause in typing (`on_character_entered`),
from the message and the recipients as they stand, so the price is seen before Send.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from listeners.compose_form import CALLBACK_ID, MESSAGE, OTHERS, named_count, parts_line, view
from storage.contacts import Contacts

log = logging.getLogger(__name__)


async def open_compose(
    ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, settings: Settings
) -> None:
    """Open at once: the trigger_id lasts three seconds."""
    await ack()
    channel_id = (shortcut.get("channel") or {}).get("id")
    await client.views_open(
        trigger_id=shortcut["trigger_id"], view=view(parts_line("", 0, settings), channel_id)
    )


async def count_parts(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    settings: Settings,
    contacts: Contacts,
) -> None:
    """Redraw the parts line; `hash` makes Slack drop an update older than what it shows."""
    await ack()
    shown = body["view"]
    values = shown.get("state", {}).get("values", {})
    message = str(values.get(MESSAGE, {}).get(MESSAGE, {}).get("value") or "")
    names = await contacts.names(body.get("team", {}).get("id", "")) if values.get(OTHERS) else ()
    recipients = named_count(values, names, settings.sms_default_region)
    try:
        await client.views_update(
            view_id=shown["id"],
            hash=shown.get("hash"),
            view=view(parts_line(message, recipients, settings)),
        )
    except SlackApiError as error:  # hash_conflict: a newer keystroke already redrew it
        log.info("parts count not redrawn: %s", error.response.get("error"))


def register(app: AsyncApp) -> None:
    app.shortcut(CALLBACK_ID)(open_compose)
    app.block_action({"action_id": MESSAGE, "block_id": MESSAGE})(count_parts)
