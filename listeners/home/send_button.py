"""The Home tab's **Send an SMS** button: the same compose modal as the global shortcut.

The tab has no conversation, so the modal opens with no channel chosen: the delivery
message then goes to the sender's DM with the app, as the modal's hint says.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.home import SEND_BUTTON
from listeners.compose_form import parts_line, view


async def open_compose(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, settings: Settings
) -> None:
    """Open at once: the trigger_id lasts three seconds."""
    await ack()
    await client.views_open(trigger_id=body["trigger_id"], view=view(parts_line("", 0, settings)))


def register(app: AsyncApp) -> None:
    app.action(SEND_BUTTON)(open_compose)
