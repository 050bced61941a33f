"""Error hints: why a command was refused, phrased so the user can fix what they typed.

They guess what was meant (a contact's name with a typo, a number typed with spaces, a message
that starts with digits) from what the scanner saw; what is valid is decided elsewhere.
"""

from __future__ import annotations

import difflib

from bot.mrkdwn import BROADCASTS, MARKUP, escape, to_plain_text, unescape
from listeners.commands.grammar.requests import UsageError
from listeners.commands.grammar.scanner import (
    QUOTES,
    Item,
    recipient_items,
    split_commas,
    token_end,
)
from listeners.commands.grammar.usage import CONTACT_ACTIONS, SUBCOMMANDS, usage
from sms.phones import InvalidNumber, normalize

MAX_LISTED_BAD_NUMBERS = 10  # an error listing a thousand numbers helps nobody
# What people type for add/list/remove; most are too unlike those words for difflib to find.
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


def unknown_subcommand(word: str, contacts: frozenset[str]) -> UsageError:
    """A typo gets a suggestion; recipients typed first get told to start with `send`."""
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


def unknown_contacts_action(word: str) -> UsageError:
    """`contacts delete` and the like get the action that was probably meant."""
    lowered = unescape(word).lower()
    close = _ACTION_SYNONYMS.get(lowered) or next(
        iter(difflib.get_close_matches(lowered, CONTACT_ACTIONS, n=1, cutoff=0.6)), None
    )
    reason = f"I don't know `contacts {shown(word)}`: use `add`, `list` or `remove`."
    if close:
        reason += f" Did you mean `/sms contacts {close}`?"
    return UsageError(reason, usage("contacts"))


def bad_numbers_reason(
    items: list[Item],
    tokens: list[tuple[str, int]],
    bad: list[tuple[int, InvalidNumber]],
    default_region: str | None,
    explicit: bool,
) -> str:
    """Every bad number at once, so the user fixes them in one go, plus the likely cause."""
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


def stray_list_reason(message: str, contacts: frozenset[str]) -> str | None:
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
        f"“{shown(word)}” in “{shown(first)}” is not a phone number, a mention or a saved contact."
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


def shown(text: str) -> str:
    """What the user typed, safe to quote back: mentions read as names, entities kept escaped."""
    return escape(to_plain_text(text))


def no_recipients_reason(message: str, contacts: frozenset[str] = frozenset()) -> str:
    """Why nothing before the message was a recipient: a channel, a broadcast or a typo."""
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
