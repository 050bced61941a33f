"""`/sms send` and `/sms page`: text people and post the tracked message in the channel."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.recipients import Resolved, Target, resolve
from bot.sending import SendResult, gateway_content, send_and_store
from listeners import guard
from listeners.commands.grammar import SendRequest, segments
from listeners.context import CommandContext
from sms import phones
from storage import NewSend

log = logging.getLogger(__name__)


async def refusal(request: SendRequest, context: CommandContext) -> str | None:
    """What stops this command before anything is looked up or sent."""
    return await guard.before_sending(context)


def acknowledgement(request: SendRequest) -> str:
    verb = "Paging" if request.kind == "page" else "Sending your SMS to"
    if request.user_mentions or request.group_mentions or request.contacts:
        return f"{verb} {'everyone named' if request.kind == 'page' else 'the recipients'}…"
    count = len(request.recipients)
    return f"{verb} {count} number{'s' if count != 1 else ''}…"


def _numbers(result: SendResult, people: dict[str, str | None]) -> str:
    shown = []
    for mobile in result.accepted[:20]:
        user = people.get(mobile)
        shown.append(f"<@{user}> {phones.display(mobile)}" if user else phones.display(mobile))
    if len(result.accepted) > 20:
        shown.append(f"and {len(result.accepted) - 20} more")
    return ", ".join(shown)


def confirmation(
    request: SendRequest | None,
    result: SendResult,
    targets: list[Target],
    where: str,
    content: str,
    problems: list[str],
) -> str:
    """The private answer to the sender: full numbers, msgIds, and anything that went wrong."""
    parts = segments(content)
    people = {t.mobile: t.slack_user for t in targets}
    ids = ", ".join(b.msg_id for b in result.batches if b.msg_id)
    send_at = request.send_at if request else None
    lines = []
    if result.accepted:
        when = "Scheduled" if send_at else "Sent"
        lines.append(
            f":white_check_mark: {when} to {_numbers(result, people)} "
            f"({parts} SMS part{'s' if parts != 1 else ''} each), msgId {ids}."
        )
    if send_at:
        lines.append(
            f"It goes out at {send_at:%Y-%m-%d %H:%M} {send_at.tzname()} ({send_at.tzinfo})."
        )
    for batch in result.unknown:
        lines.append(
            f":warning: {len(batch.mobiles)} number(s): {batch.error}. I will not re-send "
            "them on my own; check with the provider before sending again."
        )
    for batch in result.rejected:
        lines.append(f":x: {len(batch.mobiles)} number(s) were not sent: {batch.error}")
    if request and request.contacts:
        lines.append("Contacts used: " + ", ".join(f"`{name}`" for name in request.contacts))
    if problems:
        lines.append(":warning: Not texted: " + " ".join(problems))
    lines.append(where)
    return "\n".join(lines)


async def resolve_request(request: SendRequest, context: CommandContext) -> Resolved:
    services = context.services
    return await resolve(
        numbers=request.recipients,
        users=request.user_mentions,
        groups=request.group_mentions,
        contact_names=request.contacts,
        team_id=context.team_id,
        directory=services.directory,
        contacts=services.contacts,
    )


async def deliver(
    context: CommandContext,
    send: NewSend,
    targets: list[Target],
    request: SendRequest | None,
    problems: list[str],
) -> None:
    """Send to `targets`, post the tracked message and tell the sender how it went."""
    services = context.services
    send_at = request.send_at if request else None
    result = await send_and_store(services, send, targets, send_at)
    if result.send_id is None:
        reasons = "; ".join(sorted({str(b.error) for b in result.rejected}))
        await context.tell(f":x: Nothing was sent: {reasons}")
        return
    try:
        posted = await services.tracked.post(result.send_id)
        where = posted.notice or "Delivery updates will appear on the message in the channel."
    except SlackApiError as error:
        log.warning("tracked message for send %s not posted: %s", result.send_id, error)
        where = (
            f":warning: I could not post delivery updates anywhere "
            f"({error.response.get('error')}). Check them with `/sms status`."
        )
    content = gateway_content(services, send.content)
    await context.tell(confirmation(request, result, targets, where, content, problems))


async def handle(request: SendRequest, context: CommandContext) -> None:
    resolved = await resolve_request(request, context)
    if not resolved.targets:
        await context.tell(":x: Nothing was sent: " + " ".join(resolved.problems))
        return
    refused = await guard.after_resolving(context, len(resolved.targets))
    if refused:
        await context.tell(refused)
        return
    settings = context.services.settings
    send = NewSend(
        team_id=context.team_id,
        user_id=context.user_id,
        channel_id=context.channel_id,
        kind=request.kind,
        content=request.message,
        sender_id=request.sender_id or settings.sms_sender_id,
        send_at=f"{request.send_at:%Y-%m-%d %H:%M}" if request.send_at else None,
        zone=str(request.send_at.tzinfo) if request.send_at else None,
    )
    await deliver(context, send, resolved.targets, request, resolved.problems)
