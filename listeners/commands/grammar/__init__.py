"""The `/sms` grammar: the text Slack sends after the command, turned into a typed request.

Pure functions only (no Slack, no I/O, the clock passed in) so every corner of the grammar can
be pinned down by tests. This package re-exports what the command handlers use.
"""

from __future__ import annotations

from listeners.commands.grammar.parse import MAX_CONTACT_NAME, parse
from listeners.commands.grammar.requests import (
    AlertsAddRequest,
    AlertsListRequest,
    AlertsRemoveRequest,
    AlertsRequest,
    AlertsRotateRequest,
    BalanceRequest,
    ContactsAddRequest,
    ContactsListRequest,
    ContactsRemoveRequest,
    ContactsRequest,
    HelpRequest,
    Request,
    SendRequest,
    StatusRequest,
    UsageError,
)
from listeners.commands.grammar.usage import (
    MAX_MESSAGE_CHARS,
    MAX_SENDER_CHARS,
    SUBCOMMANDS,
    USAGE,
    USAGES,
)

__all__ = [
    "MAX_CONTACT_NAME",
    "MAX_MESSAGE_CHARS",
    "MAX_SENDER_CHARS",
    "SUBCOMMANDS",
    "USAGE",
    "USAGES",
    "AlertsAddRequest",
    "AlertsListRequest",
    "AlertsRemoveRequest",
    "AlertsRequest",
    "AlertsRotateRequest",
    "BalanceRequest",
    "ContactsAddRequest",
    "ContactsListRequest",
    "ContactsRemoveRequest",
    "ContactsRequest",
    "HelpRequest",
    "Request",
    "SendRequest",
    "StatusRequest",
    "UsageError",
    "parse",
]
