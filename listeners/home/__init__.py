"""App Home: the tab published when a person opens it, and its Send an SMS button."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from listeners.home import opened, send_button


def register(app: AsyncApp) -> None:
    opened.register(app)
    send_button.register(app)
