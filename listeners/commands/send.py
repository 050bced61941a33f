"""`/sms send` and `/sms page`: text people and post the tracked message in the channel."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.config import Settings
from bot.guard import Guard
from bot.inflight import InFlight
from bot.services import Services
from listeners.asker import Asker, answering
from listeners.commands.grammar import SendRequest
from listeners.commands.reading import COMMAND, COULD_NOT_FINISH, asks_for
from listeners.confirming import cost_of, needs_confirming
from listeners.send_flow import checked_recipients, send_or_ask


def acknowledgement(request: SendRequest, settings: Settings) -> str:
    """What the sender reads at once; a send the numbers alone make too costly to send
    without asking is not announced as being sent."""
    verb = "Paging" if request.kind == "page" else "Sending your SMS to"
    if needs_confirming(cost_of(request, len(request.recipients), settings), settings):
        verb = "Working out the cost of " + ("paging" if request.kind == "page" else "your SMS to")
    if request.user_mentions or request.group_mentions or request.contacts:
        return f"{verb} {'everyone named' if request.kind == 'page' else 'the recipients'}…"
    count = len(request.recipients)
    return f"{verb} {count} number{'s' if count != 1 else ''}…"


async def send_sms(
    ack: AsyncAck,
    context: AsyncBoltContext,
    respond: AsyncRespond,
    sms_request: SendRequest,
    guard: Guard,
    services: Services,
    inflight: InFlight,
) -> None:
    """Refuse in the ack, or ack at once and send after: Slack waits only three seconds.

    A send costing more than SMS_CONFIRM_ABOVE parts shows its cost and waits for Send.
    """
    asker = Asker.of(context, respond)
    async with answering(asker, inflight, f"/sms {sms_request.kind}", COULD_NOT_FINISH):
        refused = await guard.before_sending(asker.user_id, asker.channel_id)
        if refused:
            await ack(text=refused)
            return
        await ack(text=acknowledgement(sms_request, services.settings))
        resolved = await checked_recipients(asker, sms_request, services)
        if resolved is not None:
            await send_or_ask(asker, sms_request, resolved, services)


def register(app: AsyncApp) -> None:
    app.command(COMMAND, matchers=[asks_for(SendRequest)])(send_sms)
