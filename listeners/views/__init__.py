"""View submissions: what a modal the bot opened sends back when its Send is pressed."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from listeners.views import send_sms


def register(app: AsyncApp) -> None:
    send_sms.register(app)
