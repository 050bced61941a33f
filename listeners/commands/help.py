"""`/sms help` and bare `/sms`: the usage text, as the ack itself."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp

from listeners.commands.grammar import USAGE, HelpRequest
from listeners.commands.reading import COMMAND, asks_for


async def show_usage(ack: AsyncAck) -> None:
    await ack(text=USAGE)


def register(app: AsyncApp) -> None:
    app.command(COMMAND, matchers=[asks_for(HelpRequest)])(show_usage)
