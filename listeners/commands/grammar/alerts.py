"""`/sms alerts [list]`, `alerts add NAME <to>`, `alerts remove NAME`, `alerts rotate NAME`.

`<to>` is read exactly as `send` reads its recipients (numbers, @people, @user groups, saved
contacts), and it is all there is: an integration has no message of its own, so a word
that is not a recipient is a mistake to point at, not the start of a message.
"""

from __future__ import annotations

import difflib
import re

from bot.mrkdwn import unescape
from listeners.commands.grammar.hints import shown, stray_list_reason
from listeners.commands.grammar.members import resolve_items
from listeners.commands.grammar.requests import (
    AlertsAddRequest,
    AlertsListRequest,
    AlertsRemoveRequest,
    AlertsRequest,
    AlertsRotateRequest,
    UsageError,
)
from listeners.commands.grammar.scanner import recipient_items, scan_recipients, token_end
from listeners.commands.grammar.usage import ALERT_ACTIONS, usage

MAX_INTEGRATION_NAME = 32
_NAME = re.compile(rf"[A-Za-z][A-Za-z0-9_.\-]{{0,{MAX_INTEGRATION_NAME - 1}}}")
_SYNONYMS = {
    "new": "add",
    "create": "add",
    "ls": "list",
    "show": "list",
    "delete": "remove",
    "del": "remove",
    "rm": "remove",
    "renew": "rotate",
    "regenerate": "rotate",
    "reset": "rotate",
    "roll": "rotate",
}


def parse_alerts(rest: str, default_region: str | None, contacts: frozenset[str]) -> AlertsRequest:
    words = rest.split(maxsplit=1)
    action = unescape(words[0]).lower() if words else "list"
    after = words[1] if len(words) > 1 else ""
    if action == "list":
        if after.strip():
            raise UsageError("`/sms alerts list` takes nothing after it.", usage("alerts"))
        return AlertsListRequest()
    if action not in ALERT_ACTIONS:
        raise _unknown_action(words[0])
    named = after.split(maxsplit=1)
    if not named:
        raise UsageError(f"Which integration? Write its name after `{action}`.", usage("alerts"))
    typed, body = named[0], named[1] if len(named) > 1 else ""
    if action in ("remove", "rotate"):
        if body.strip():
            raise UsageError(
                f"`/sms alerts {action}` takes one name: {action} integrations one at a time.",
                usage("alerts"),
            )
        return (AlertsRemoveRequest if action == "remove" else AlertsRotateRequest)(
            unescape(typed).lower()
        )
    return _parse_add(_name(typed), body, default_region, contacts)


def _unknown_action(word: str) -> UsageError:
    lowered = unescape(word).lower()
    close = _SYNONYMS.get(lowered) or next(
        iter(difflib.get_close_matches(lowered, ALERT_ACTIONS, n=1, cutoff=0.6)), None
    )
    reason = f"I don't know `alerts {shown(word)}`: use `add`, `list`, `remove` or `rotate`."
    if close:
        reason += f" Did you mean `/sms alerts {close}`?"
    return UsageError(reason, usage("alerts"))


def _name(typed: str) -> str:
    """A name first, so `add +234…` (the name forgotten) is told, not read as a name."""
    name = unescape(typed).lower()
    if recipient_items(typed) is not None:
        raise UsageError(
            "Put the integration's name first, then who it pages: "
            "`/sms alerts add prod-db @dba-oncall`.",
            usage("alerts"),
        )
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"“{shown(typed)}” can't be an integration name: use 1–{MAX_INTEGRATION_NAME} "
            "letters, digits, `-`, `_` or `.`, starting with a letter.",
            usage("alerts"),
        )
    return name


def _parse_add(
    name: str, body: str, default_region: str | None, contacts: frozenset[str]
) -> AlertsAddRequest:
    items, tokens, start, explicit = scan_recipients(body, contacts)
    leftover = body[start:].strip()
    if explicit or leftover:
        reason = None if explicit else stray_list_reason(leftover, contacts)
        if reason is None:
            word = leftover[: token_end(leftover, 0)] if not explicit else "--"
            reason = (
                f"“{shown(word)}” is not a phone number, a mention or a saved contact: "
                "an integration pages only those, and has no message of its own."
            )
        raise UsageError(reason, usage("alerts"))
    if not items:
        raise UsageError(
            f"Who should `{name}` page? Put phone numbers, @mentions or saved contacts "
            "after the name.",
            usage("alerts"),
        )
    numbers, users, groups, names = resolve_items(items, tokens, default_region, True, "alerts")
    return AlertsAddRequest(name, numbers, users, groups, names)
