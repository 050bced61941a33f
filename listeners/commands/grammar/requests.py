"""What a parsed `/sms` command asks for, and the error for one that cannot be run.

Frozen, so a handler cannot change a request after the grammar has checked it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class HelpRequest:
    topic: str | None = None


@dataclass(frozen=True)
class BalanceRequest:
    pass


@dataclass(frozen=True)
class StatusRequest:
    msg_id: str | None


@dataclass(frozen=True)
class WrittenTime:
    """`--at` as typed: a wall time, and the zone written after it (None: the sender's)."""

    text: str
    wall: datetime
    zone: ZoneInfo | None


@dataclass(frozen=True)
class SendRequest:
    kind: Literal["send", "page"]
    recipients: tuple[str, ...]
    user_mentions: tuple[str, ...]
    group_mentions: tuple[str, ...]
    message: str
    sender_id: str | None
    send_at: datetime | None
    contacts: tuple[str, ...] = ()  # saved names, lower case; their members are looked up later
    # `--at` as written; `send_at` stays None until it is placed in a zone (reading.py does it
    # once the sender's Slack time zone is known)
    at: WrittenTime | None = None
    # what the confirmation should say about how `--at` was read (a fallback zone, a DST pick)
    schedule_notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContactsAddRequest:
    """Save (or replace) a workspace contact; members are already normalised."""

    name: str
    numbers: tuple[str, ...]
    user_mentions: tuple[str, ...]
    group_mentions: tuple[str, ...]


@dataclass(frozen=True)
class ContactsListRequest:
    pass


@dataclass(frozen=True)
class ContactsRemoveRequest:
    name: str


@dataclass(frozen=True)
class AlertsAddRequest:
    """A new alert integration in this channel; recipients as `send` reads them, normalised."""

    name: str
    numbers: tuple[str, ...]
    user_mentions: tuple[str, ...]
    group_mentions: tuple[str, ...]
    contacts: tuple[str, ...]


@dataclass(frozen=True)
class AlertsListRequest:
    pass


@dataclass(frozen=True)
class AlertsRemoveRequest:
    name: str


@dataclass(frozen=True)
class AlertsRotateRequest:
    name: str


ContactsRequest = ContactsAddRequest | ContactsListRequest | ContactsRemoveRequest
AlertsRequest = AlertsAddRequest | AlertsListRequest | AlertsRemoveRequest | AlertsRotateRequest
Request = (
    HelpRequest | BalanceRequest | StatusRequest | SendRequest | ContactsRequest | AlertsRequest
)


class UsageError(ValueError):
    """The user's command cannot be run; str(e) is a sentence for them plus a usage hint line.

    Both are Slack mrkdwn, like USAGE: what the user typed is quoted as Slack sent it (still
    escaped), so it shows as typed instead of being read as markup.
    """

    def __init__(self, reason: str, hint: str) -> None:
        super().__init__(f"{reason}\n{hint}")
        self.reason = reason
        self.hint = hint
