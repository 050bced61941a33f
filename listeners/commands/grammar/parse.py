"""`parse()`: the text after `/sms` turned into a typed request, subcommand by subcommand.

Slack sends the text with `should_escape: true`: `&`, `<` and `>` arrive as entities, and
mentions as `<@U123|alice>` / `<!subteam^S123|@oncall>`. Every problem is a UsageError.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from bot.mrkdwn import to_plain_text, unescape
from listeners.commands.grammar.alerts import parse_alerts
from listeners.commands.grammar.hints import (
    no_recipients_reason,
    shown,
    stray_list_reason,
    unknown_contacts_action,
    unknown_subcommand,
)
from listeners.commands.grammar.members import resolve_items
from listeners.commands.grammar.options import OPTION_AT_START, split_options
from listeners.commands.grammar.requests import (
    BalanceRequest,
    ContactsAddRequest,
    ContactsListRequest,
    ContactsRemoveRequest,
    HelpRequest,
    Request,
    SendRequest,
    StatusRequest,
    UsageError,
)
from listeners.commands.grammar.scanner import recipient_items, scan_recipients, token_end
from listeners.commands.grammar.schedule import place, read_at
from listeners.commands.grammar.usage import MAX_MESSAGE_CHARS, SUBCOMMANDS, usage
from sms.phones import InvalidNumber, normalize
from sms.text import unsendable

MAX_CONTACT_NAME = 32
_CONTACT_NAME = re.compile(rf"[A-Za-z][A-Za-z0-9_.\-]{{0,{MAX_CONTACT_NAME - 1}}}")


def parse(
    text: str,
    *,
    default_region: str | None,
    zone: ZoneInfo | None,
    now: datetime,
    contacts: Collection[str] = (),
) -> Request:
    """Parse what followed `/sms`; every problem is a UsageError the user can act on.

    `contacts` are the workspace's saved names: the grammar needs them to tell a recipient
    from the first word of the message. `zone` reads an `--at` written without one; None
    leaves the time unplaced (`SendRequest.at`) for a caller that must first ask Slack for
    the sender's zone.
    """
    saved = frozenset(name.lower() for name in contacts)
    stripped = text.lstrip()
    first = stripped.split(maxsplit=1)[0] if stripped else ""
    rest = stripped[len(first) :]
    subcommand = unescape(first).lower()
    if subcommand in ("", "help", "?"):
        topic = rest.split()[0].lower() if rest.split() else None
        return HelpRequest(topic if topic in SUBCOMMANDS else None)
    if subcommand == "balance":
        if rest.strip():
            raise UsageError("`/sms balance` takes nothing after it.", usage("balance"))
        return BalanceRequest()
    if subcommand == "status":
        return _parse_status(rest)
    if subcommand in ("send", "page"):
        return _parse_send(subcommand, rest, default_region, zone, now, saved)
    if subcommand == "contacts":
        return _parse_contacts(rest, default_region, saved)
    if subcommand == "alerts":
        return parse_alerts(rest, default_region, saved)
    raise unknown_subcommand(first, saved)


def _parse_status(rest: str) -> StatusRequest:
    """A msgId stays a string of digits: a leading zero is part of the gateway's id."""
    words = rest.split()
    if not words:
        return StatusRequest(None)
    msg_id = words[0]
    if len(words) > 1 or not (msg_id.isascii() and msg_id.isdigit()):
        raise UsageError(
            f"“{rest.strip()}” is not a msgId: a msgId is only digits.", usage("status")
        )
    return StatusRequest(msg_id)


def _parse_send(
    kind: Literal["send", "page"],
    body: str,
    default_region: str | None,
    zone: ZoneInfo | None,
    now: datetime,
    contacts: frozenset[str],
) -> SendRequest:
    body, sender_id, at = split_options(body, kind)
    if kind == "page" and at is not None:
        raise UsageError(
            "A page goes out now, so it can't be scheduled: leave out `--at`, or use "
            '`/sms send … --at "YYYY-MM-DD HH:MM"` to text at a later time.',
            usage(kind),
        )
    items, tokens, message_start, explicit = scan_recipients(body, contacts)
    raw_message = body[message_start:].strip()
    if not explicit:
        stray = stray_list_reason(raw_message, contacts)
        if stray:
            raise UsageError(stray, usage(kind))
    if not items:
        raise UsageError(no_recipients_reason(raw_message, contacts), usage(kind))
    if not explicit and OPTION_AT_START.match(raw_message):
        raise UsageError(
            "Options go after the message: `--from` and `--at` must come last.", usage(kind)
        )

    numbers, users, groups, names = resolve_items(items, tokens, default_region, explicit, kind)
    message = to_plain_text(raw_message)
    if not message.strip():
        raise UsageError("The message is empty: write it after the recipients.", usage(kind))
    if len(message) > MAX_MESSAGE_CHARS:
        raise UsageError(
            f"The message is {len(message)} characters long; the most I can send is "
            f"{MAX_MESSAGE_CHARS}.",
            usage(kind),
        )
    if refused := unsendable(message):
        raise UsageError(refused, usage(kind))
    written = read_at(at, kind) if at is not None else None
    reading_zone = (written.zone or zone) if written is not None else None
    send_at, notes = None, ()
    if written is not None and reading_zone is not None:
        send_at, notes = place(written, reading_zone, now, kind)
    return SendRequest(
        kind, numbers, users, groups, message, sender_id, send_at, names, written, notes
    )


def _parse_contacts(
    rest: str, default_region: str | None, contacts: frozenset[str]
) -> ContactsAddRequest | ContactsListRequest | ContactsRemoveRequest:
    """`contacts [list]`, `contacts add NAME <to>`, `contacts remove NAME`."""
    words = rest.split(maxsplit=1)
    action = unescape(words[0]).lower() if words else "list"
    after = words[1] if len(words) > 1 else ""
    if action == "list":
        if after.strip():
            raise UsageError("`/sms contacts list` takes nothing after it.", usage("contacts"))
        return ContactsListRequest()
    if action not in ("add", "remove"):
        raise unknown_contacts_action(words[0])
    named = after.split(maxsplit=1)
    if not named:
        raise UsageError(f"Which contact? Write its name after `{action}`.", usage("contacts"))
    typed, body = named[0], named[1] if len(named) > 1 else ""
    if action == "remove":
        if body.strip():
            raise UsageError(
                "`/sms contacts remove` takes one name: remove contacts one at a time.",
                usage("contacts"),
            )
        return ContactsRemoveRequest(unescape(typed).lower())
    name = _contact_name(typed, default_region)
    return _parse_contact_members(name, body, default_region, contacts)


def _contact_name(typed: str, default_region: str | None) -> str:
    """A name that can never be mistaken for a subcommand, a number or a mention."""
    if recipient_items(typed) is not None:
        raise UsageError(
            "Put the contact's name first, then its numbers or mentions: "
            "`/sms contacts add oncall +2348031000010`.",
            usage("contacts"),
        )
    name = unescape(typed).lower()
    if not _CONTACT_NAME.fullmatch(name):
        raise UsageError(
            f"“{shown(typed)}” can't be a contact name: use 1–{MAX_CONTACT_NAME} letters, "
            "digits, `-`, `_` or `.`, starting with a letter.",
            usage("contacts"),
        )
    if name in SUBCOMMANDS:
        raise UsageError(
            f"“{name}” can't be a contact name: it is a subcommand.", usage("contacts")
        )
    try:
        normalize(name, default_region)
    except InvalidNumber:
        return name
    raise UsageError(
        f"“{name}” can't be a contact name: it reads as a phone number.", usage("contacts")
    )


def _parse_contact_members(
    name: str, body: str, default_region: str | None, contacts: frozenset[str]
) -> ContactsAddRequest:
    """Only numbers and mentions: a contact holds recipients, never a message or another contact."""
    items, tokens, start, explicit = scan_recipients(body, contacts)
    nested = sorted({item.value for item in items if item.kind == "contact"})
    if nested:
        listed = ", ".join(f"`{n}`" for n in nested)
        raise UsageError(
            f"A contact can't contain another contact ({listed}): "
            "list its numbers and mentions instead.",
            usage("contacts"),
        )
    leftover = body[start:].strip()
    if explicit or leftover:
        reason = None if explicit else stray_list_reason(leftover, contacts)
        if reason is None:
            word = leftover[: token_end(leftover, 0)] if not explicit else "--"
            reason = (
                f"“{shown(word)}” is not a phone number or a mention: "
                "a contact holds only those, nothing after them."
            )
        raise UsageError(reason, usage("contacts"))
    if not items:
        raise UsageError(
            f"Who is `{name}`? Put phone numbers or @mentions after the name.", usage("contacts")
        )
    numbers, users, groups, _ = resolve_items(items, tokens, default_region, True, "contacts")
    return ContactsAddRequest(name, numbers, users, groups)
