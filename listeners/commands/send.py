"""`/sms send` and `/sms page`: text people and post the tracked message in the channel."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.config import Settings
from bot.directory import Directory
from bot.guard import Guard
from bot.inflight import InFlight
from bot.recipients import TooMany, resolve
from bot.services import Services
from listeners.asker import Asker, answering
from listeners.commands.grammar import SendRequest
from listeners.commands.reading import COMMAND, COULD_NOT_FINISH, asks_for
from listeners.sending import deliver
from storage import NewSend
from storage.contacts import Contacts


def acknowledgement(request: SendRequest) -> str:
    verb = "Paging" if request.kind == "page" else "Sending your SMS to"
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
    directory: Directory,
    contacts: Contacts,
    settings: Settings,
    services: Services,
    inflight: InFlight,
) -> None:
    """Refuse in the ack, or ack at once and send after: Slack waits only three seconds."""
    asker = Asker.of(context, respond)
    async with answering(asker, inflight, f"/sms {sms_request.kind}", COULD_NOT_FINISH):
        refused = await guard.before_sending(asker.user_id, asker.channel_id)
        if refused:
            await ack(text=refused)
            return
        await ack(text=acknowledgement(sms_request))
        try:
            resolved = await resolve(
                numbers=sms_request.recipients,
                users=sms_request.user_mentions,
                groups=sms_request.group_mentions,
                contact_names=sms_request.contacts,
                team_id=asker.team_id,
                directory=directory,
                contacts=contacts,
                most=settings.sms_max_recipients,
            )
        except TooMany as error:
            await asker.tell(guard.too_many(asker.user_id, asker.channel_id, error.count))
            return
        if not resolved.targets:
            await asker.tell(":x: Nothing was sent: " + " ".join(resolved.problems))
            return
        refused = await guard.after_resolving(
            asker.user_id, asker.channel_id, len(resolved.targets)
        )
        if refused:
            await asker.tell(refused)
            return
        # storage and the gateway keep the wall time in the gateway's zone (its `sendTime`)
        send_at = sms_request.send_at
        there = send_at.astimezone(settings.sms_gateway_timezone) if send_at else None
        send = NewSend(
            team_id=asker.team_id,
            user_id=asker.user_id,
            channel_id=asker.channel_id,
            kind=sms_request.kind,
            content=sms_request.message,
            sender_id=sms_request.sender_id or settings.sms_sender_id,
            send_at=f"{there:%Y-%m-%d %H:%M}" if there else None,
            zone=settings.sms_gateway_timezone.key if there else None,
        )
        await deliver(
            asker,
            services,
            send,
            resolved.targets,
            send_at=send_at,
            contacts_used=sms_request.contacts,
            problems=resolved.problems,
            notes=sms_request.schedule_notes,
        )


def register(app: AsyncApp) -> None:
    app.command(COMMAND, matchers=[asks_for(SendRequest)])(send_sms)
