"""The row types every query family hands out, and the helpers that build them from rows.

Kept apart from the queries so that sends, pages and the outbox all load a send the
same way, and callers can import the types without pulling in any SQL.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from sms.delivery import State

__all__ = [
    "SEND_RECIPIENTS_SQL",
    "SEND_SQL",
    "NewRecipient",
    "NewSend",
    "Pending",
    "PollTarget",
    "Recipient",
    "SendView",
    "iso",
    "load_send",
    "recipient_from_row",
]


SEND_SQL = "SELECT * FROM sends WHERE id = ?"
SEND_RECIPIENTS_SQL = "SELECT * FROM recipients WHERE send_id = ? ORDER BY id"


@dataclass(frozen=True)
class NewSend:
    """What a command asked for, before the gateway has answered."""

    team_id: str
    user_id: str
    channel_id: str
    kind: str
    content: str
    sender_id: str | None = None
    send_at: str | None = None
    zone: str | None = None
    retry_of: int | None = None


@dataclass(frozen=True)
class NewRecipient:
    mobile: str
    msg_id: str | None
    state: State
    reason: str | None = None
    slack_user: str | None = None


@dataclass(frozen=True)
class Recipient:
    id: int
    mobile: str
    msg_id: str | None
    state: State
    reason: str | None
    error_code: str | None
    report_time: str | None
    updated: str
    announced: bool
    slack_user: str | None = None
    escalated: int = 0
    """0 no alert yet, 3 alert under way (not known to be in Slack), 1 alerted (page not
    through), 2 retried after the alert."""


@dataclass(frozen=True)
class SendView:
    """A send with its recipients, as the notifier and `/sms status` show it."""

    id: int
    team_id: str
    user_id: str
    channel_id: str
    kind: str
    content: str
    sender_id: str | None
    send_at: str | None
    zone: str | None
    created: str
    message_channel: str | None
    message_ts: str | None
    notice: str | None
    retry_of: int | None = None
    changes: int = 0
    goes_out: str | None = None
    """When the SMS goes out, UTC (`created` unless scheduled); storage/sendtime.py."""
    phase: str = "done"
    """`calling` while its gateway call is in flight; see storage/schema.py m007."""
    acked_by: str | None = None
    """Who pressed Acknowledge on the page (m009); its escalation stops."""
    acked_at: str | None = None
    caller: int | None = None
    """The process that made its gateway call, with replicas (m017); None on SQLite."""
    recipients: tuple[Recipient, ...] = field(default_factory=tuple)

    @property
    def msg_ids(self) -> list[str]:
        return sorted({r.msg_id for r in self.recipients if r.msg_id})

    @property
    def counts(self) -> Counter[State]:
        return Counter(r.state for r in self.recipients)


@dataclass(frozen=True)
class Pending:
    """A send whose tracked message must be brought up to date."""

    send_id: int
    version: int
    attempts: int


@dataclass(frozen=True)
class PollTarget:
    recipient_id: int
    msg_id: str
    mobile: str
    polls: int


def iso(moment: datetime) -> str:
    """Times are stored as ISO text to the millisecond, so they compare correctly as text."""
    return moment.isoformat(timespec="milliseconds")


def recipient_from_row(row: dict[str, Any]) -> Recipient:
    return Recipient(
        id=row["id"],
        mobile=row["mobile"],
        msg_id=row["msg_id"],
        state=State(row["state"]),
        reason=row["reason"],
        error_code=row["error_code"],
        report_time=row["report_time"],
        updated=row["updated"],
        announced=bool(row["announced"]),
        slack_user=row["slack_user"],
        escalated=int(row["escalated"]),
    )


def load_send(db: Database, send_id: int) -> SendView | None:
    """A send and its recipients in id order, or None when there is no such send."""
    rows = list(db.query(SEND_SQL, [send_id]))
    if not rows:
        return None
    recipients = tuple(recipient_from_row(r) for r in db.query(SEND_RECIPIENTS_SQL, [send_id]))
    return SendView(**rows[0], recipients=recipients)
