"""Shortcuts: the "Send an SMS" global shortcut, its modal and the modal's live parts count."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from listeners.shortcuts import send_sms


def register(app: AsyncApp) -> None:
    send_sms.register(app)
