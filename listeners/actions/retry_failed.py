"""The "Retry failed" button on a page alert: page again only those it did not reach."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.guard import Guard
from bot.inflight import InFlight
from bot.recipients import Target
from bot.render import RETRY_ACTION
from bot.services import Services
from listeners.asker import Asker, answering
from listeners.sending import deliver
from storage import NewSend, Pages, Sends

RETRY_FAILED = ":warning: The retry failed on my side; nothing was re-sent."


async def retry_failed(
    ack: AsyncAck,
    body: dict[str, Any],
    context: AsyncBoltContext,
    respond: AsyncRespond,
    guard: Guard,
    sends: Sends,
    pages: Pages,
    services: Services,
    inflight: InFlight,
) -> None:
    await ack()
    asker = Asker.of(context, respond)
    async with answering(asker, inflight, "retry of a page", RETRY_FAILED):
        send_id = int(body["actions"][0]["value"])
        await _retry(asker, send_id, guard, sends, pages, services)


def register(app: AsyncApp) -> None:
    app.action(RETRY_ACTION)(retry_failed)


async def _retry(
    asker: Asker,
    send_id: int,
    guard: Guard,
    sends: Sends,
    pages: Pages,
    services: Services,
) -> None:
    refused = await guard.before_sending(asker.user_id, asker.channel_id)
    if refused:
        await asker.tell(refused)
        return
    original = await sends.load(send_id)
    if original is None:
        await asker.tell("That page is no longer in my records.")
        return
    again = await pages.claim_retry(send_id)
    if not again:
        await asker.tell(
            "Nothing to retry: everyone on that page was delivered since, or it was retried."
        )
        return
    refused = await guard.after_resolving(asker.user_id, asker.channel_id, len(again))
    if refused:
        await pages.mark_escalated([r.id for r in again])
        await asker.tell(refused)
        return
    send = NewSend(
        team_id=original.team_id,
        user_id=asker.user_id,
        channel_id=original.channel_id,
        kind="page",
        content=original.content,
        sender_id=original.sender_id,
        retry_of=original.id,
    )
    await deliver(asker, services, send, [Target(r.mobile, r.slack_user) for r in again])
