"""`/sms send`: text numbers and post the tracked message in the channel."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot import phones
from bot.sending import SendResult, gateway_content, send_and_store
from commands.context import CommandContext
from commands.grammar import SendRequest, segments
from storage import NewSend

log = logging.getLogger(__name__)


def refusal(request: SendRequest) -> str | None:
    """Requests this version cannot carry out, said before anything is sent."""
    if request.kind == "page":
        return (
            "`/sms page` (paging with escalation) is not available yet. "
            "Use `/sms send &lt;number&gt; &lt;message&gt;` for now."
        )
    if request.user_mentions or request.group_mentions:
        return (
            "Slack users and user groups can't be recipients yet: "
            "write their phone numbers instead, e.g. `/sms send +2348031000010 Hello`."
        )
    return None


def acknowledgement(request: SendRequest) -> str:
    count = len(request.recipients)
    return f"Sending your SMS to {count} number{'s' if count != 1 else ''}…"


def _confirmation(request: SendRequest, result: SendResult, where: str, content: str) -> str:
    parts = segments(content)
    numbers = ", ".join(phones.display(m) for m in result.accepted[:20])
    if len(result.accepted) > 20:
        numbers += f" and {len(result.accepted) - 20} more"
    ids = ", ".join(b.msg_id for b in result.batches if b.msg_id)
    lines = []
    if result.accepted:
        when = "Scheduled" if request.send_at else "Sent"
        lines.append(
            f":white_check_mark: {when} to {numbers} "
            f"({parts} SMS part{'s' if parts != 1 else ''} each), msgId {ids}."
        )
    if request.send_at:
        lines.append(
            f"It goes out at {request.send_at:%Y-%m-%d %H:%M} {request.send_at.tzname()} "
            f"({request.send_at.tzinfo})."
        )
    for batch in result.unknown:
        lines.append(
            f":warning: For {len(batch.mobiles)} number(s) the gateway did not answer "
            f"({batch.error}). They may or may not have been sent; I will not re-send "
            "them on my own."
        )
    for batch in result.rejected:
        lines.append(f":x: {len(batch.mobiles)} number(s) were not sent: {batch.error}")
    lines.append(where)
    return "\n".join(lines)


async def handle(request: SendRequest, context: CommandContext) -> None:
    services = context.services
    settings = services.settings
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
    result = await send_and_store(services, send, request.recipients, request.send_at)
    if result.send_id is None:
        reasons = "; ".join(sorted({str(b.error) for b in result.rejected}))
        await context.tell(f":x: Nothing was sent: {reasons}")
        return
    try:
        posted = await services.notifier.post_tracked(result.send_id)
        where = posted.notice or "Delivery updates will appear on the message in this channel."
    except SlackApiError as error:
        log.warning("tracked message for send %s not posted: %s", result.send_id, error)
        where = (
            f":warning: I could not post delivery updates anywhere "
            f"({error.response.get('error')}). Check them with `/sms status`."
        )
    content = gateway_content(services, request.message)
    await context.tell(_confirmation(request, result, where, content))
