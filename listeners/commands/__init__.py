"""The `/sms` slash command: its text is read once, then one listener per subcommand answers.

`reading.read_sms_command` turns the text into a typed request (or answers a usage error)
before any listener runs; each subcommand module registers a listener for its own request
types, so adding a subcommand is adding a module.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from listeners.commands import alerts, balance, contacts, help, send, status
from listeners.commands.reading import read_sms_command


def register(app: AsyncApp) -> None:
    app.middleware(read_sms_command)
    for subcommand in (help, balance, status, contacts, alerts, send):
        subcommand.register(app)
