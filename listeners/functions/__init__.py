"""Workflow functions: the custom steps this app adds to Workflow Builder, run here by Bolt."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from listeners.functions import send_sms


def register(app: AsyncApp) -> None:
    send_sms.register(app)
