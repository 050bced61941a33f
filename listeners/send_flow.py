"""A `SendRequest` from its recipients to the send path, for `/sms send` and its Send button,
the compose modal and the Workflow Builder step.

All run the same steps (resolve the recipients, the guard's checks that need them, then
`listeners.sending.deliver`), so a send confirmed minutes later is checked as of the press,
not as of the command.
"""

from __future__ import annotations

from bot.recipients import Resolved, TooMany, resolve
from bot.sending import SendResult
from bot.services import Services
from listeners.asker import Asker
from listeners.commands.grammar import SendRequest
from listeners.confirming import ask, cost_of, needs_confirming
from listeners.sending import deliver
from storage import NewSend


async def checked_recipients(
    asker: Asker, request: SendRequest, services: Services
) -> Resolved | None:
    """The request's phones once the guard allows them; None once the asker was told why not."""
    guard = services.guard
    try:
        resolved = await resolve(
            numbers=request.recipients,
            users=request.user_mentions,
            groups=request.group_mentions,
            contact_names=request.contacts,
            team_id=asker.team_id,
            directory=services.directory,
            contacts=services.contacts,
            most=services.settings.sms_max_recipients,
        )
    except TooMany as error:
        await asker.tell(guard.too_many(asker.user_id, asker.channel_id, error.count))
        return None
    if not resolved.targets:
        await asker.tell(":x: Nothing was sent: " + " ".join(resolved.problems))
        return None
    refused = await guard.after_resolving(asker.user_id, asker.channel_id, len(resolved.targets))
    if refused:
        await asker.tell(refused)
        return None
    return resolved


async def send_resolved(
    asker: Asker, request: SendRequest, resolved: Resolved, services: Services
) -> SendResult:
    """Write the send down, call the gateway, post the tracked message, tell the asker;
    what the gateway answered, for a caller that reports it (the workflow step)."""
    settings = services.settings
    # storage and the gateway keep the wall time in the gateway's zone (its `sendTime`)
    send_at = request.send_at
    there = send_at.astimezone(settings.sms_gateway_timezone) if send_at else None
    send = NewSend(
        team_id=asker.team_id,
        user_id=asker.user_id,
        channel_id=asker.channel_id,
        kind=request.kind,
        content=request.message,
        sender_id=request.sender_id or settings.sms_sender_id,
        send_at=f"{there:%Y-%m-%d %H:%M}" if there else None,
        zone=settings.sms_gateway_timezone.key if there else None,
    )
    return await deliver(
        asker,
        services,
        send,
        resolved.targets,
        send_at=send_at,
        contacts_used=request.contacts,
        problems=resolved.problems,
        notes=request.schedule_notes,
    )


async def send_or_ask(
    asker: Asker, request: SendRequest, resolved: Resolved, services: Services
) -> None:
    """Send, unless it costs more than SMS_CONFIRM_ABOVE: then show the cost and wait for
    Send (`/sms send` and the compose modal; a workflow step has nobody to ask)."""
    cost = cost_of(request, len(resolved.targets), services.settings)
    if needs_confirming(cost, services.settings):
        await ask(asker, request, cost, services)
    else:
        await send_resolved(asker, request, resolved, services)
