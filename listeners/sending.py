"""The one send path every Slack surface takes: send, have the tracked message posted, confirm.

The slash command, the Retry button, the compose modal (both shortcuts) and the Workflow
Builder step use it, so each surface is a new door to the same engine (the guard, the
gateway, storage and the tracked message), not a new engine.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError

from bot.recipients import Target
from bot.sending import SendResult, gateway_content, send_and_store
from bot.services import Services
from listeners.asker import Asker
from sms import phones
from sms.parts import segments
from storage import NewSend

log = logging.getLogger(__name__)

UPDATES_IN_CHANNEL = "Delivery updates will appear on the message in the channel."
# Seconds the confirmation waits for the worker to post the tracked message, to say where it
# went; after that it says "in the channel", which is where it goes unless the channel refuses.
PLACED_WAIT = 10.0


def _numbers(result: SendResult, people: dict[str, str | None]) -> str:
    shown = []
    for mobile in result.accepted[:20]:
        user = people.get(mobile)
        shown.append(f"<@{user}> {phones.display(mobile)}" if user else phones.display(mobile))
    if len(result.accepted) > 20:
        shown.append(f"and {len(result.accepted) - 20} more")
    return ", ".join(shown)


def when_said(send_at: datetime, gateway: ZoneInfo | None) -> str:
    """The send time as the sender reads it, and the gateway's wall time when that differs:
    the gateway's is what the provider's own records will show."""
    zone = getattr(send_at.tzinfo, "key", None) or send_at.tzname()
    said = f"{send_at:%Y-%m-%d %H:%M} {zone}"
    if gateway is None or gateway.key == zone:
        return said
    there = send_at.astimezone(gateway)
    day = "" if there.date() == send_at.date() else f"{there:%Y-%m-%d} "
    return f"{said} ({day}{there:%H:%M} {gateway.key}, the gateway's time)"


def confirmation(
    result: SendResult,
    targets: list[Target],
    where: str,
    content: str,
    *,
    send_at: datetime | None = None,
    gateway: ZoneInfo | None = None,
    notes: tuple[str, ...] = (),
    contacts_used: tuple[str, ...] = (),
    problems: list[str] | None = None,
) -> str:
    """The private answer to the sender: full numbers, msgIds, and anything that went wrong."""
    parts = segments(content)
    people = {t.mobile: t.slack_user for t in targets}
    ids = ", ".join(b.msg_id for b in result.batches if b.msg_id)
    lines = []
    if result.accepted:
        when = "Scheduled" if send_at else "Sent"
        lines.append(
            f":white_check_mark: {when} to {_numbers(result, people)} "
            f"({parts} SMS part{'s' if parts != 1 else ''} each), msgId {ids}."
        )
    if send_at:
        lines.append(f"It goes out at {when_said(send_at, gateway)}.")
        lines.extend(notes)
    for batch in result.unknown:
        lines.append(
            f":warning: {len(batch.mobiles)} number(s): {batch.error}. I will not re-send "
            "them on my own: `/sms status` here lists them, and the provider can tell "
            "whether they went out. Check before sending again."
        )
    for batch in result.rejected:
        lines.append(f":x: {len(batch.mobiles)} number(s) were not sent: {batch.error}")
    if contacts_used:
        lines.append("Contacts used: " + ", ".join(f"`{name}`" for name in contacts_used))
    if problems:
        lines.append(":warning: Not texted: " + " ".join(problems))
    lines.append(where)
    return "\n".join(lines)


def _log_failures(result: SendResult, send: NewSend) -> None:
    """The operator's record of what the gateway refused or left in doubt, once per batch.

    The gateway client only counts failures: each caller says them once, where it knows
    who asked (here; the poller for status queries; the terminal prints them instead).
    """
    for batch in result.unknown:
        log.warning(
            "%s by %s: %d number(s) may or may not have been sent: %s",
            send.kind,
            send.user_id,
            len(batch.mobiles),
            batch.error,
        )
    for batch in result.rejected:
        log.warning(
            "%s by %s: %d number(s) not sent: %s",
            send.kind,
            send.user_id,
            len(batch.mobiles),
            batch.error,
        )


async def deliver(
    asker: Asker,
    services: Services,
    send: NewSend,
    targets: list[Target],
    *,
    send_at: datetime | None = None,
    notes: tuple[str, ...] = (),
    contacts_used: tuple[str, ...] = (),
    problems: list[str] | None = None,
) -> SendResult:
    """Send to `targets`, post the tracked message and tell the sender how it went.

    `send_at` may be in any zone (the sender's); the gateway is told it in its own. The
    result is for callers that answer in kind as well as in words (a workflow step's outputs).
    """
    signature = services.settings.sms_signature
    gateway = services.settings.sms_gateway_timezone
    result = await send_and_store(
        services.gateway,
        services.sends,
        send,
        targets,
        send_at.astimezone(gateway) if send_at else None,
        signature=signature,
        metrics=services.metrics,
    )
    services.low_balance.spent(send.user_id)
    _log_failures(result, send)
    if result.send_id is None:
        reasons = "; ".join(sorted({str(b.error) for b in result.rejected}))
        await asker.tell(f":x: Nothing was sent: {reasons}")
        return result
    try:
        posted = await services.tracked.placed(result.send_id, timeout=PLACED_WAIT)
        where = (posted and posted.notice) or UPDATES_IN_CHANNEL
    except SlackApiError as error:
        log.warning("tracked message for send %s not posted: %s", result.send_id, error)
        where = (
            f":warning: I could not post delivery updates anywhere "
            f"({error.response.get('error')}). Check them with `/sms status`."
        )
    content = gateway_content(signature, send.content)
    await asker.tell(
        confirmation(
            result,
            targets,
            where,
            content,
            send_at=send_at,
            gateway=gateway,
            notes=notes,
            contacts_used=contacts_used,
            problems=problems,
        )
    )
    return result
