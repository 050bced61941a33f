"""`parse()`: the text after `/sms` turned into a typed request, subcommand by subcommand.

Slack sends the text with `should_escape: true`: `&`, `<` and `>` arrive as entities, and
mentions as `<@U123|alice>` / `<!subteam^S123|@oncall>`. Every problem is a UsageError.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from bot.mrkdwn import BROADCASTS, MARKUP, escape, to_plain_text, unescape
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
from listeners.commands.grammar.scanner import (
    DASHES,
    QUOTES,
    Item,
    recipient_items,
    scan_recipients,
    split_commas,
    token_end,
)
from listeners.commands.grammar.usage import (
    CONTACT_ACTIONS,
    MAX_MESSAGE_CHARS,
    MAX_SCHEDULE_AHEAD,
    MAX_SENDER_CHARS,
    SUBCOMMANDS,
    usage,
)
from sms.phones import InvalidNumber, normalize

MAX_LISTED_BAD_NUMBERS = 10  # an error listing a thousand numbers helps nobody
AT_FORMAT = "%Y-%m-%d %H:%M"
MAX_CONTACT_NAME = 32
_OPTION_AT_END = re.compile(
    r"""(?:^|\s)(?:--|—|–)(?P<name>from|at)
        (?:\s+(?:[\"“”„](?P<quoted>[^\"“”„]*)[\"“”„]
                |(?P<datetime>\d{4}-\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2})
                |(?P<bare>\S+)))?
        \s*\Z""",
    re.IGNORECASE | re.VERBOSE,
)
_OPTION_AT_START = re.compile(r"(?:--|—|–)(?:from|at)(?:\s|\Z)", re.IGNORECASE)


def parse(
    text: str,
    *,
    default_region: str | None,
    zone: ZoneInfo,
    now: datetime,
    contacts: Collection[str] = (),
) -> Request:
    """Parse what followed `/sms`; every problem is a UsageError the user can act on.

    `contacts` are the workspace's saved names: the grammar needs them to tell a recipient
    from the first word of the message.
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
    raise _unknown_subcommand(first, saved)


def _unknown_subcommand(word: str, contacts: frozenset[str]) -> UsageError:
    if recipient_items(word, contacts=contacts) is not None:
        return UsageError(
            "Start with a subcommand, e.g. `/sms send`, then the recipients.",
            usage("send"),
        )
    close = difflib.get_close_matches(word.lower(), SUBCOMMANDS, n=1, cutoff=0.6)
    reason = f"I don't know the subcommand “{word}”."
    if close:
        reason += f" Did you mean `{close[0]}`?"
    return UsageError(reason, "Try `/sms help` to see what I can do.")


def _parse_status(rest: str) -> StatusRequest:
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
    zone: ZoneInfo,
    now: datetime,
    contacts: frozenset[str],
) -> SendRequest:
    body, sender_id, at = _split_options(body, kind)
    items, tokens, message_start, explicit = scan_recipients(body, contacts)
    raw_message = body[message_start:].strip()
    if not explicit:
        stray = _stray_list_reason(raw_message, contacts)
        if stray:
            raise UsageError(stray, usage(kind))
    if not items:
        raise UsageError(_no_recipients_reason(raw_message, contacts), usage(kind))
    if not explicit and _OPTION_AT_START.match(raw_message):
        raise UsageError(
            "Options go after the message: `--from` and `--at` must come last.", usage(kind)
        )

    numbers, users, groups, names = _resolve(items, tokens, default_region, explicit, kind)
    message = to_plain_text(raw_message)
    if not message.strip():
        raise UsageError("The message is empty: write it after the recipients.", usage(kind))
    if len(message) > MAX_MESSAGE_CHARS:
        raise UsageError(
            f"The message is {len(message)} characters long; the most I can send is "
            f"{MAX_MESSAGE_CHARS}.",
            usage(kind),
        )
    send_at = _parse_at(at, zone, now, kind) if at is not None else None
    return SendRequest(kind, numbers, users, groups, message, sender_id, send_at, names)


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
        raise _unknown_contacts_action(words[0])
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


def _unknown_contacts_action(word: str) -> UsageError:
    lowered = unescape(word).lower()
    close = _ACTION_SYNONYMS.get(lowered) or next(
        iter(difflib.get_close_matches(lowered, CONTACT_ACTIONS, n=1, cutoff=0.6)), None
    )
    reason = f"I don't know `contacts {_shown(word)}`: use `add`, `list` or `remove`."
    if close:
        reason += f" Did you mean `/sms contacts {close}`?"
    return UsageError(reason, usage("contacts"))


_ACTION_SYNONYMS = {
    "new": "add",
    "save": "add",
    "set": "add",
    "create": "add",
    "update": "add",
    "ls": "list",
    "show": "list",
    "delete": "remove",
    "del": "remove",
    "rm": "remove",
}
_CONTACT_NAME = re.compile(rf"[A-Za-z][A-Za-z0-9_.\-]{{0,{MAX_CONTACT_NAME - 1}}}")


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
            f"“{_shown(typed)}” can't be a contact name: use 1–{MAX_CONTACT_NAME} letters, "
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
        reason = None if explicit else _stray_list_reason(leftover, contacts)
        if reason is None:
            word = leftover[: token_end(leftover, 0)] if not explicit else "--"
            reason = (
                f"“{_shown(word)}” is not a phone number or a mention: "
                "a contact holds only those, nothing after them."
            )
        raise UsageError(reason, usage("contacts"))
    if not items:
        raise UsageError(
            f"Who is `{name}`? Put phone numbers or @mentions after the name.", usage("contacts")
        )
    numbers, users, groups, _ = _resolve(items, tokens, default_region, True, "contacts")
    return ContactsAddRequest(name, numbers, users, groups)


def _split_options(body: str, kind: str) -> tuple[str, str | None, str | None]:
    """Peel `--from X` / `--at "…"` off the end of the text, in either order, once each."""
    found: dict[str, str] = {}
    while match := _OPTION_AT_END.search(body):
        name = match["name"].lower()
        if name in found:
            raise UsageError(f"`--{name}` is given twice.", usage(kind))
        value = next((v for v in match.group("quoted", "datetime", "bare") if v is not None), "")
        if value.startswith(DASHES):
            value = ""
        found[name] = value.strip()
        body = body[: match.start()]
    typed = found.get("from")
    sender = unescape(typed) if typed is not None else None
    if sender is not None:
        if not sender:
            raise UsageError("`--from` needs a sender ID after it.", usage(kind))
        if len(sender) > MAX_SENDER_CHARS:
            raise UsageError(
                f"The sender ID “{typed}” is {len(sender)} characters long; "
                f"the most is {MAX_SENDER_CHARS}.",
                usage(kind),
            )
    return body, sender, found.get("at")


def _resolve(
    items: list[Item],
    tokens: list[tuple[str, int]],
    default_region: str | None,
    explicit: bool,
    kind: str,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Normalise every number, reporting all the bad ones at once."""
    numbers: dict[str, None] = {}
    users: dict[str, None] = {}
    groups: dict[str, None] = {}
    names: dict[str, None] = {}
    bad: list[tuple[int, InvalidNumber]] = []
    for index, item in enumerate(items):
        if item.kind == "user":
            users[item.value] = None
        elif item.kind == "group":
            groups[item.value] = None
        elif item.kind == "contact":
            names[item.value] = None
        else:
            try:
                numbers[normalize(item.value, default_region)] = None
            except InvalidNumber as exc:
                if all(str(exc) != str(seen) for _, seen in bad):
                    bad.append((index, exc))
    if bad:
        reason = _bad_numbers_reason(items, tokens, bad, default_region, explicit)
        raise UsageError(reason, usage(kind))
    return tuple(numbers), tuple(users), tuple(groups), tuple(names)


def _bad_numbers_reason(
    items: list[Item],
    tokens: list[tuple[str, int]],
    bad: list[tuple[int, InvalidNumber]],
    default_region: str | None,
    explicit: bool,
) -> str:
    lines = [f"• {escape(str(exc))}" for _, exc in bad[:MAX_LISTED_BAD_NUMBERS]]
    if len(bad) > MAX_LISTED_BAD_NUMBERS:
        lines.append(f"• …and {len(bad) - MAX_LISTED_BAD_NUMBERS} more")
    head = "This number can't be used:" if len(bad) == 1 else "These numbers can't be used:"
    hints: list[str] = []
    joined = _spaced_number(tokens, {i for i, _ in bad}, default_region)
    if joined:
        hints.append(f'A number with spaces goes in quotes: `"{joined}"`.')
    elif not explicit and _looks_like_message_start(items, tokens, bad[-1][0]):
        hints.append(
            "If the message starts with a number, put `--` before it: "
            "`/sms send +2348031000010 -- 2FA code 1234`."
        )
    return "\n".join([head, *lines, *hints])


def _looks_like_message_start(
    items: list[Item], tokens: list[tuple[str, int]], bad_index: int
) -> bool:
    """Whether the last bad number may be the first word of the message, e.g. a code."""
    last_token, last_index = tokens[-1]
    return (
        len(tokens) > 1
        and bad_index == last_index == len(items) - 1
        and "," not in last_token
        and not last_token.startswith("+")
    )


def _spaced_number(
    tokens: list[tuple[str, int]], bad: set[int], default_region: str | None
) -> str | None:
    """A valid number hiding in consecutive bad tokens, i.e. one typed with spaces, unquoted."""
    for start in range(min(len(tokens), MAX_LISTED_BAD_NUMBERS)):
        if tokens[start][1] not in bad:
            continue
        for stop in range(start + 2, min(start + 6, len(tokens)) + 1):
            joined = " ".join(token for token, _ in tokens[start:stop])
            try:
                normalize(joined, default_region)
            except InvalidNumber:
                continue
            return joined
    return None


def _stray_list_reason(message: str, contacts: frozenset[str]) -> str | None:
    """Why a comma list that is partly recipients (`+234…,bobb`) is refused, else None.

    Such a list stops the recipients, so without this it would silently become the message.
    """
    first = message[: token_end(message, 0)] if message else ""
    if "," not in first or first[0] in QUOTES:
        return None
    parts = [part for part in split_commas(first) if part.strip()]
    unknown = [p for p in parts if recipient_items(p, contacts=contacts) is None]
    if not unknown or len(unknown) == len(parts):
        return None
    word = unknown[0].strip()
    reason = (
        f"“{_shown(word)}” in “{_shown(first)}” is not a phone number, a mention "
        "or a saved contact."
    )
    close = _close_contact(word, contacts)
    if close:
        reason += f" Did you mean the contact `{close}`?"
    return reason


def _close_contact(word: str, contacts: frozenset[str]) -> str | None:
    """The saved name a typo most likely meant, if one is close enough to suggest."""
    typed = unescape(word).strip(QUOTES).lower()  # a quoted name is message text, not a contact
    close = difflib.get_close_matches(typed, sorted(contacts), n=1, cutoff=0.75)
    return close[0] if close else None


def _shown(text: str) -> str:
    """What the user typed, safe to quote back: mentions read as names, entities kept escaped."""
    return escape(to_plain_text(text))


def _no_recipients_reason(message: str, contacts: frozenset[str] = frozenset()) -> str:
    first = message.split()[0] if message.split() else ""
    markup = MARKUP.fullmatch(first)
    if markup and (markup[1].startswith("#") or markup[1].lstrip("!") in BROADCASTS):
        return (
            f"{to_plain_text(first)} can't get an SMS: "
            "name people, user groups or phone numbers instead."
        )
    reason = "Who should get it? Put phone numbers, @mentions or saved contacts before the message."
    close = _close_contact(first, contacts) if first else None
    if close:
        reason += f" Did you mean the contact `{close}`?"
    return reason


def _parse_at(value: str, zone: ZoneInfo, now: datetime, kind: str) -> datetime:
    """`--at` as wall time in the user's zone, between now and 30 days ahead."""
    shown = value
    try:
        wall = datetime.strptime(" ".join(value.split()), AT_FORMAT)
    except ValueError:
        raise UsageError(
            f'“{shown}” is not a time I understand: write `--at "YYYY-MM-DD HH:MM"`, '
            'e.g. `--at "2025-01-31 09:00"`.',
            usage(kind),
        ) from None
    when = wall.replace(tzinfo=zone)
    current = now if now.tzinfo is not None else now.replace(tzinfo=zone)
    try:
        if when < current:
            raise UsageError(
                f"{shown} is in the past ({zone.key} time); pick a time in the future.",
                usage(kind),
            )
        if when - current > MAX_SCHEDULE_AHEAD:
            raise UsageError(
                f"{shown} is more than 30 days ahead; the gateway only schedules up to then.",
                usage(kind),
            )
        exists = when.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall
    except OverflowError:
        raise UsageError(f"{shown} is too far away.", usage(kind)) from None
    if not exists:
        raise UsageError(
            f"{shown} does not exist in {zone.key} (the clocks skip it); pick another time.",
            usage(kind),
        )
    return when
