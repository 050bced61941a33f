"""Shortcuts: "Send an SMS" (global) and "Text this message" (on a message), one compose modal."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from listeners.shortcuts import send_sms, text_message


def register(app: AsyncApp) -> None:
    send_sms.register(app)
    text_message.register(app)
