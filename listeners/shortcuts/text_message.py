"""The "Text this message" message shortcut: the compose modal, with the message's text and
a link back to it already in the message field, and the message's channel for the updates.

The link is built from the payload (workspace domain, channel, timestamp) rather than asked of
Slack: the trigger_id that opens the modal lasts three seconds.
"""

from __future__ import annotations

import html
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from listeners.compose_form import parts_line, view

CALLBACK_ID = "text_this_message"
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_URL = re.compile(r"<(https?://[^>]+)>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]+))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(?:subteam\^[A-Z0-9]+\|)?([^>|]+)(?:\|[^>]*)?>")


def plain(text: str) -> str:
    """Slack's message markup as a phone shows plain text: links as their label or address,
    mentions as @name (or @ID), and the three escaped characters back."""
    text = _LINK.sub(r"\2", text)
    text = _URL.sub(r"\1", text)
    text = _USER.sub(lambda m: "@" + (m[2] or m[1]), text)
    text = _CHANNEL.sub(lambda m: "#" + (m[2] or m[1]), text)
    text = _SPECIAL.sub(lambda m: "@" + m[1].lstrip("@"), text)
    return html.unescape(text)


def permalink(domain: str, channel_id: str, ts: str) -> str:
    return f"https://{domain}.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"


async def open_prefilled(
    ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, settings: Settings
) -> None:
    await ack()
    channel_id = (shortcut.get("channel") or {}).get("id")
    message = shortcut.get("message") or {}
    text = plain(str(message.get("text") or "")).strip()
    domain = (shortcut.get("team") or {}).get("domain")
    ts = str(message.get("ts") or shortcut.get("message_ts") or "")
    if domain and channel_id and ts:
        text = f"{text}\n{permalink(domain, channel_id, ts)}".strip()
    await client.views_open(
        trigger_id=shortcut["trigger_id"],
        view=view(parts_line(text, 0, settings), channel_id, message=text),
    )


def register(app: AsyncApp) -> None:
    app.shortcut(CALLBACK_ID)(open_prefilled)
