"""The Send and Cancel buttons of a large send's confirmation (listeners/confirming.py).

Send claims the stored request in one commit, so two presses (or a retried request) send
once; then the request takes the same path as `/sms send`, with the guard asked again, as
of the press. Only the person who typed the command may press either button.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.inflight import InFlight
from bot.services import Services
from listeners.asker import Asker, answering
from listeners.commands.reading import COULD_NOT_FINISH
from listeners.confirming import CANCEL_ACTION, EXPIRES, SEND_ACTION, request_from_json
from listeners.send_flow import checked_recipients, send_resolved
from storage.confirmations import Claim, Confirmations

MINUTES = int(EXPIRES.total_seconds() // 60)
NOT_SENT = {
    "gone": "That confirmation is no longer in my records. Nothing was sent; type the "
    "command again if you still mean it.",
    "not_yours": "Only the person who typed the command can press its buttons.",
    "sent": "That was sent already, once. Pressing again sends nothing more.",
    "cancelled": "That send was cancelled. Nothing was sent.",
    "expired": f"That confirmation expired: Send works for {MINUTES} minutes after the "
    "command. Nothing was sent; type the command again if you still mean it.",
}


def _value(body: dict[str, Any]) -> int:
    return int(body["actions"][0]["value"])


async def _said(asker: Asker, claim: Claim, *, replace: bool) -> None:
    """Why this press does nothing; the first expired press replaces the buttons too."""
    text = NOT_SENT[claim.outcome]
    if replace:
        await asker.respond(text=text, response_type="ephemeral", replace_original=True)
    else:
        await asker.tell(text)


async def confirm_send(
    ack: AsyncAck,
    body: dict[str, Any],
    context: AsyncBoltContext,
    respond: AsyncRespond,
    services: Services,
    inflight: InFlight,
) -> None:
    await ack()
    presser = Asker.of(context, respond)
    async with answering(presser, inflight, "Send on a confirmation", COULD_NOT_FINISH):
        now = services.clock()
        claim = await Confirmations(services.store).claim(
            _value(body), presser.user_id, now - EXPIRES
        )
        if claim.pending is None:
            await _said(presser, claim, replace=claim.outcome == "expired")
            return
        request = request_from_json(claim.pending.request)
        # the channel the command was typed in, wherever the button was pressed
        asker = Asker(claim.pending.team_id, presser.user_id, claim.pending.channel_id, respond)
        await asker.respond(
            text="Sending… (confirmed with Send)",
            response_type="ephemeral",
            replace_original=True,
        )
        refused = await services.guard.before_sending(asker.user_id, asker.channel_id)
        if refused:
            await asker.tell(refused)
            return
        if request.send_at is not None and request.send_at <= now:
            await asker.tell(
                f"Nothing was sent: its time, {request.send_at:%Y-%m-%d %H:%M}, passed while "
                "it waited for Send. Type the command again with a new `--at`."
            )
            return
        resolved = await checked_recipients(asker, request, services)
        if resolved is not None:
            await send_resolved(asker, request, resolved, services)


async def cancel_send(
    ack: AsyncAck,
    body: dict[str, Any],
    context: AsyncBoltContext,
    respond: AsyncRespond,
    services: Services,
    inflight: InFlight,
) -> None:
    await ack()
    presser = Asker.of(context, respond)
    async with answering(presser, inflight, "Cancel on a confirmation", COULD_NOT_FINISH):
        claim = await Confirmations(services.store).cancel(_value(body), presser.user_id)
        if claim.outcome == "sent":
            await presser.tell("That was sent already, so it can't be cancelled.")
        elif claim.pending is None:
            await _said(presser, claim, replace=False)
        else:
            await presser.respond(
                text="Cancelled. Nothing was sent.",
                response_type="ephemeral",
                replace_original=True,
            )


def register(app: AsyncApp) -> None:
    app.action(SEND_ACTION)(confirm_send)
    app.action(CANCEL_ACTION)(cancel_send)
