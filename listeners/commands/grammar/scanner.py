"""The recipient scanner: numbers, mentions and saved contacts read off the front of the text.

Nothing marks where recipients end, so the scanner stops at the first token that is not one,
or at `--`. Slack sends mentions as `<@U123|alice>`, whose label may hold spaces and commas,
so `<…>` markup is always one unit; a number with spaces must be quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

QUOTES = '"“”„'
DASHES = ("--", "—", "–")  # macOS and iOS turn a typed "--" into a dash

_RECIPIENT_ITEM = re.compile(
    r"""<@(?P<user>[UW][A-Z0-9]+)(?:\|[^>]*)?>
      |<!subteam\^(?P<group>[A-Z0-9]+)(?:\|[^>]*)?>
      |<tel:(?P<tel>[^|>]+)(?:\|[^>]*)?>
      |(?P<phone>[0-9+().\-]*[0-9][0-9+().\-]*)""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Item:
    """One recipient as typed, before numbers are normalised."""

    kind: Literal["number", "user", "group", "contact"]
    value: str


def scan_recipients(
    body: str, contacts: frozenset[str] = frozenset()
) -> tuple[list[Item], list[tuple[str, int]], int, bool]:
    """Read recipients from the front until the first token that is not one.

    A saved contact's name counts only unquoted: quotes are for numbers written with spaces.

    Returns the items, the raw number tokens with their item index (for error hints), where the
    message starts, and whether `--` marked that start explicitly.
    """
    items: list[Item] = []
    tokens: list[tuple[str, int]] = []
    pos, end = 0, len(body)
    while True:
        while pos < end and body[pos].isspace():
            pos += 1
        if pos >= end:
            return items, tokens, end, False
        if body[pos] in QUOTES:
            close = _find_any(body, QUOTES, pos + 1)
            inner = body[pos + 1 : close] if close >= 0 else ""
            after = close + 1
            if close < 0 or (after < end and not body[after].isspace()):
                return items, tokens, pos, False
            found = recipient_items(inner, allow_spaces=True)
            if found is None:
                return items, tokens, pos, False
            tokens.append((inner.strip(), len(items)))
            items.extend(found)
            pos = after
            continue
        stop = token_end(body, pos)
        token = body[pos:stop]
        if token in DASHES:
            return items, tokens, stop, True
        found = recipient_items(token, contacts=contacts)
        if found is None:
            return items, tokens, pos, False
        tokens.append((token, len(items)))
        items.extend(found)
        pos = stop


def _find_any(text: str, chars: str, start: int) -> int:
    """Where the next of `chars` is, or -1: a quote may close with a different quote mark."""
    return next((i for i in range(start, len(text)) if text[i] in chars), -1)


def token_end(text: str, pos: int) -> int:
    """End of the whitespace-delimited token at pos, treating `<…>` markup as one unit."""
    while pos < len(text) and not text[pos].isspace():
        if text[pos] == "<":
            close = text.find(">", pos)
            pos = close + 1 if close >= 0 else pos + 1
        else:
            pos += 1
    return pos


def recipient_items(
    token: str, *, allow_spaces: bool = False, contacts: frozenset[str] = frozenset()
) -> list[Item] | None:
    """The recipients in one comma-separated token, or None when any part is not a recipient."""
    items: list[Item] = []
    for part in split_commas(token):
        candidate = part.strip()
        if not candidate:
            continue
        if allow_spaces and not candidate.startswith("<"):
            candidate = "".join(candidate.split())
        match = _RECIPIENT_ITEM.fullmatch(candidate)
        if match is None:
            if candidate.lower() in contacts:
                items.append(Item("contact", candidate.lower()))
                continue
            return None
        if match["user"]:
            items.append(Item("user", match["user"]))
        elif match["group"]:
            items.append(Item("group", match["group"]))
        else:
            items.append(Item("number", match["tel"] or part.strip()))
    return items or None


def split_commas(token: str) -> list[str]:
    """Split on commas outside `<…>` markup, so a mention's label may hold a comma."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in token:
        depth += ch == "<"
        depth -= ch == ">" and depth > 0
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts
