"""From a send request to stored recipients: gateway first, then one transaction.

The gateway's answer decides each recipient's first state. A batch whose answer was
lost becomes `unknown` and is never sent again on its own: a duplicate page at 3 a.m.
is worse than an honest "we don't know".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.gateway import SendBatch
from bot.recipients import Target
from bot.services import Services
from sms.delivery import State
from storage import NewRecipient, NewSend


@dataclass(frozen=True)
class SendResult:
    send_id: int | None
    batches: list[SendBatch]

    @property
    def accepted(self) -> list[str]:
        return [m for b in self.batches if b.msg_id for m in b.mobiles]

    @property
    def unknown(self) -> list[SendBatch]:
        return [b for b in self.batches if b.error and b.error.outcome_unknown]

    @property
    def rejected(self) -> list[SendBatch]:
        return [b for b in self.batches if b.error and not b.error.outcome_unknown]


def recipients_from(
    batches: Sequence[SendBatch], scheduled: bool, people: Mapping[str, str | None]
) -> list[NewRecipient]:
    """Each number's first state from its batch's outcome; `people` maps numbers to Slack users."""
    recipients = []
    for batch in batches:
        if batch.msg_id:
            state, reason = (State.SCHEDULED if scheduled else State.ACCEPTED), None
        elif batch.error and batch.error.outcome_unknown:
            state = State.UNKNOWN
            reason = f"the gateway's answer was lost ({batch.error}); not re-sent"
        else:
            state, reason = State.FAILED, f"not sent: {batch.error}"
        recipients.extend(
            NewRecipient(m, batch.msg_id, state, reason, people.get(m)) for m in batch.mobiles
        )
    return recipients


def gateway_content(services: Services, message: str) -> str:
    """The gateway documents content as `【signature】text`; the signature is optional here."""
    signature = services.settings.sms_signature
    return f"【{signature}】{message}" if signature else message


async def send_and_store(
    services: Services,
    send: NewSend,
    targets: Sequence[Target],
    send_at: datetime | None,
) -> SendResult:
    """Send through the gateway and store the outcome; nothing is stored if nothing went out."""
    people = {t.mobile: t.slack_user for t in targets}
    batches = await services.gateway.send(
        list(people),
        gateway_content(services, send.content),
        sender_id=send.sender_id,
        send_time=send_at.strftime("%Y%m%d%H%M%S") if send_at else None,
    )
    result = SendResult(None, batches)
    if not result.accepted and not result.unknown:
        return result
    send_id = await services.sends.record(
        send, recipients_from(batches, send_at is not None, people)
    )
    services.metrics.sends.labels(send.kind).inc()
    return SendResult(send_id, batches)
