"""Large sends ask first: the cost in SMS parts, privately, with Send and Cancel buttons.

Above `SMS_CONFIRM_ABOVE` parts (recipients × parts each), `/sms send` and `/sms page` store
the parsed request (storage/confirmations.py) and show what it will cost: a typo'd group or
a long Unicode text can cost a hundred SMS, and the person should see that before paying.
The buttons are answered in listeners/actions/confirm_send.py.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.config import Settings
from bot.sending import gateway_content
from bot.services import Services
from listeners.asker import Asker
from listeners.commands.grammar import SendRequest
from sms.parts import is_gsm7, segments
from storage.confirmations import Confirmations, PendingConfirmation

log = logging.getLogger(__name__)

SEND_ACTION = "confirm_send"
CANCEL_ACTION = "cancel_send"
# How long Send works. Long enough to read the summary and check a number; short enough
# that a confirmation found later in the scrollback cannot fire a send the person no longer
# means (the cost shown was the cost then), and well inside the 30 minutes Slack keeps the
# command's response_url.
EXPIRES = timedelta(minutes=10)


@dataclass(frozen=True)
class Cost:
    """What the summary shows: the text as the gateway gets it, and its price."""

    content: str  # the signature included
    encoding: str  # "GSM-7" or "UCS-2"
    parts: int  # per SMS
    recipients: int

    @property
    def total(self) -> int:
        return self.parts * self.recipients


def cost_of(request: SendRequest, recipients: int, settings: Settings) -> Cost:
    content = gateway_content(settings.sms_signature, request.message)
    encoding = "GSM-7" if is_gsm7(content) else "UCS-2"
    return Cost(content, encoding, segments(content), recipients)


def needs_confirming(cost: Cost, settings: Settings) -> bool:
    return cost.total > settings.sms_confirm_above


def request_to_json(request: SendRequest) -> str:
    """The request as stored; `send_at` as wall time plus its zone, as the sender wrote it."""
    fields = asdict(request)
    fields.pop("at", None)  # as written; already placed in its zone as `send_at`
    send_at = request.send_at
    fields["send_at"] = f"{send_at:%Y-%m-%dT%H:%M}" if send_at else None
    fields["zone"] = str(send_at.tzinfo) if send_at else None
    return json.dumps(fields)


def request_from_json(text: str) -> SendRequest:
    fields = json.loads(text)
    zone = fields.pop("zone")
    wall = fields.pop("send_at")
    send_at = datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo(zone)) if wall else None
    for name in ("recipients", "user_mentions", "group_mentions", "contacts", "schedule_notes"):
        fields[name] = tuple(fields.get(name, ()))
    return SendRequest(**fields, send_at=send_at)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def summary(cost: Cost, request: SendRequest) -> str:
    """The price in words: also the notification text where blocks are not shown."""
    verb = "page" if request.kind == "page" else "send"
    text = (
        f"This {verb} costs *{cost.total} SMS parts*: {_n(cost.recipients, 'recipient')} × "
        f"{_n(cost.parts, 'part')} each ({cost.encoding})."
    )
    if request.send_at:
        at = request.send_at
        text += f" It goes out at {at:%Y-%m-%d %H:%M} {at.tzname()} ({at.tzinfo})."
    return text


def blocks(cost: Cost, request: SendRequest, confirmation_id: int) -> list[dict[str, object]]:
    value = str(confirmation_id)
    minutes = int(EXPIRES.total_seconds() // 60)
    shown = [
        SectionBlock(text=MarkdownTextObject(text=":warning: " + summary(cost, request))),
        SectionBlock(
            fields=[
                MarkdownTextObject(text=f"*Encoding*\n{cost.encoding}"),
                MarkdownTextObject(text=f"*Parts per SMS*\n{cost.parts}"),
                MarkdownTextObject(text=f"*Recipients*\n{cost.recipients}"),
                MarkdownTextObject(
                    text=f"*Parts × recipients*\n{cost.parts} × {cost.recipients} = {cost.total}"
                ),
            ]
        ),
        ContextBlock(elements=[MarkdownTextObject(text="*The text as it will go out:*")]),
        SectionBlock(text=PlainTextObject(text=cost.content, emoji=False)),
        ActionsBlock(
            elements=[
                ButtonElement(text="Send", action_id=SEND_ACTION, value=value, style="primary"),
                ButtonElement(text="Cancel", action_id=CANCEL_ACTION, value=value),
            ]
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Nothing is sent until you press Send. Send works for {minutes} minutes."
                )
            ]
        ),
    ]
    return [block.to_dict() for block in shown]


async def ask(asker: Asker, request: SendRequest, cost: Cost, services: Services) -> None:
    """Store the request and show its cost with the buttons; nothing is sent here."""
    pending = PendingConfirmation(
        asker.team_id, asker.user_id, asker.channel_id, request_to_json(request)
    )
    confirmation_id = await Confirmations(services.store).add(pending, services.clock())
    log.info(
        "/sms %s by %s waits for Send: %d SMS parts (confirmation %d)",
        request.kind,
        asker.user_id,
        cost.total,
        confirmation_id,
    )
    await asker.respond(
        text=summary(cost, request) + " Press Send to send it.",
        blocks=blocks(cost, request, confirmation_id),
        response_type="ephemeral",
        replace_original=False,
    )
