"""The "Retry failed" button on a page alert: page again only those it did not reach."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.recipients import Target
from bot.render import RETRY_ACTION
from bot.services import Services
from listeners import guard
from listeners.commands.send import deliver
from listeners.context import CommandContext
from storage import NewSend

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    @app.action(RETRY_ACTION)
    async def retry(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        context = CommandContext(
            services=services,
            respond=respond,
            team_id=str(body.get("team", {}).get("id", "")),
            user_id=str(body.get("user", {}).get("id", "")),
            channel_id=str(body.get("channel", {}).get("id", "")),
        )
        with services.inflight.track():
            try:
                await _retry(context, int(body["actions"][0]["value"]))
            except Exception:
                log.exception("retry of a page failed")
                await context.tell(":warning: The retry failed on my side; nothing was re-sent.")


async def _retry(context: CommandContext, send_id: int) -> None:
    refused = await guard.before_sending(context)
    if refused:
        await context.tell(refused)
        return
    services = context.services
    original = await services.sends.load(send_id)
    if original is None:
        await context.tell("That page is no longer in my records.")
        return
    again = await services.pages.claim_retry(send_id)
    if not again:
        await context.tell(
            "Nothing to retry: everyone on that page was delivered since, or it was retried."
        )
        return
    refused = await guard.after_resolving(context, len(again))
    if refused:
        await services.pages.mark_escalated([r.id for r in again])
        await context.tell(refused)
        return
    send = NewSend(
        team_id=original.team_id,
        user_id=context.user_id,
        channel_id=original.channel_id,
        kind="page",
        content=original.content,
        sender_id=original.sender_id,
        retry_of=original.id,
    )
    targets = [Target(r.mobile, r.slack_user) for r in again]
    await deliver(context, send, targets, None, [])
