"""Who asked, from where, and how to answer them privately.

Bolt already puts the workspace, user and channel of every request in its context; this
gathers them with `respond` so the code below a listener speaks to one person, not to Bolt.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from slack_bolt.async_app import AsyncBoltContext, AsyncRespond

from bot.inflight import InFlight

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asker:
    team_id: str
    user_id: str
    channel_id: str
    respond: AsyncRespond

    @classmethod
    def of(cls, context: AsyncBoltContext, respond: AsyncRespond) -> Asker:
        return cls(
            team_id=context.team_id or "",
            user_id=context.user_id or "",
            channel_id=context.channel_id or "",
            respond=respond,
        )

    async def tell(self, text: str) -> None:
        """An ephemeral answer to the person who asked."""
        await self.respond(text=text, response_type="ephemeral", replace_original=False)


@asynccontextmanager
async def answering(
    asker: Asker, inflight: InFlight, what: str, if_it_fails: str
) -> AsyncIterator[None]:
    """Run a listener's work to its end: shutdown waits for it, and a crash is said in words.

    A listener that fails must still answer the person who asked, or they would read the
    silence as success; the exception goes to the log with `what` was being done.
    """
    with inflight.track():
        try:
            yield
        except Exception:
            log.exception("%s failed", what)
            await asker.tell(if_it_fails)
