"""From a send request to stored recipients: written down first, then the gateway, then completed.

The send and its recipients are stored before the gateway is called, each recipient `unknown`
until its batch is answered, so a crash between the call and the answer leaves the send on
record (the next start posts it as unknown) instead of an SMS that went out and left no trace.
The gateway's answer decides each recipient's state. A batch whose answer did not say "not
sent" becomes `unknown` and is never sent again on its own: a duplicate page at 3 a.m. is worse
than an honest "we don't know". A send the gateway refused outright is forgotten.

Slack commands and the `smsbot send` terminal command both come through `send_and_store`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from bot.gateway import GatewayClient, SendBatch
from bot.metrics import Metrics
from bot.recipients import Target
from sms.delivery import State
from storage import NewRecipient, NewSend, Sends

# A recipient's reason from the moment its send is written down until its batch is answered:
# true while the call is in flight, and still true if a crash means the answer never comes.
AWAITING_ANSWER = (
    "sent to the gateway, whose answer was not recorded: it may or may not have gone out; "
    "not re-sent"
)


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
    """Each number's state from its batch's outcome; `people` maps numbers to Slack users."""
    recipients = []
    for batch in batches:
        if batch.msg_id:
            state, reason = (State.SCHEDULED if scheduled else State.ACCEPTED), None
        elif batch.error and batch.error.outcome_unknown:
            state = State.UNKNOWN
            reason = (
                f"the gateway's answer did not say whether it went out ({batch.error}); not re-sent"
            )
        else:
            state, reason = State.FAILED, f"not sent: {batch.error}"
        recipients.extend(
            NewRecipient(m, batch.msg_id, state, reason, people.get(m)) for m in batch.mobiles
        )
    return recipients


def gateway_content(signature: str | None, message: str) -> str:
    """The gateway documents content as `【signature】text`; the signature is optional here."""
    return f"【{signature}】{message}" if signature else message


async def send_and_store(
    gateway: GatewayClient,
    sends: Sends,
    send: NewSend,
    targets: Sequence[Target],
    send_at: datetime | None,
    *,
    signature: str | None,
    metrics: Metrics | None = None,
    also: Callable[[Database, int], None] | None = None,
    keep_refused: bool = False,
) -> SendResult:
    """Write the send down, send it through the gateway, and record each batch's answer.

    Each phone is texted once, however many targets name it. The result's `send_id` is None
    when the gateway refused every batch: then nothing went out and nothing is kept, unless
    `keep_refused` (an alert's page: nobody asked, so its tracked message must say it).
    `also(db, send_id)` is written in the commit that writes the send down.
    """
    people = {t.mobile: t.slack_user for t in targets}
    send_id = await sends.begin(
        send,
        [NewRecipient(m, None, State.UNKNOWN, AWAITING_ANSWER, u) for m, u in people.items()],
        also,
    )

    async def record(batch: SendBatch) -> None:
        await sends.answer(send_id, recipients_from([batch], send_at is not None, people))

    batches = await gateway.send(
        list(people),
        gateway_content(signature, send.content),
        sender_id=send.sender_id,
        send_time=send_at.strftime("%Y%m%d%H%M%S") if send_at else None,
        on_batch=record,
    )
    result = SendResult(send_id, batches)
    if not result.accepted and not result.unknown and not keep_refused:
        await sends.discard(send_id)
        return SendResult(None, batches)
    await sends.finish(send_id)
    if metrics is not None:
        metrics.sends.labels(send.kind).inc()
    return result
