"""Who asked, where, and how to answer them: passed to every subcommand handler."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.async_app import AsyncRespond

from bot.services import Services


@dataclass(frozen=True)
class CommandContext:
    services: Services
    respond: AsyncRespond
    team_id: str
    user_id: str
    channel_id: str

    async def tell(self, text: str) -> None:
        """An ephemeral answer to the person who typed the command."""
        await self.respond(text=text, response_type="ephemeral", replace_original=False)
