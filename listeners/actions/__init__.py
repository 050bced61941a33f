"""Block actions: the buttons the bot puts in its own messages."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from listeners.actions import acknowledge, confirm_send, retry_failed


def register(app: AsyncApp) -> None:
    retry_failed.register(app)
    acknowledge.register(app)
    confirm_send.register(app)
