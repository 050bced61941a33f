"""`--from SENDER` and `--at "…"`: options peeled off the end of a send, in either order.

Options go last so that a message may say "--from" in the middle and stay message text.
"""

from __future__ import annotations

import re

from bot.mrkdwn import unescape
from listeners.commands.grammar.requests import UsageError
from listeners.commands.grammar.scanner import DASHES
from listeners.commands.grammar.usage import MAX_SENDER_CHARS, usage

_OPTION_AT_END = re.compile(
    r"""(?:^|\s)(?:--|—|–)(?P<name>from|at)
        (?:\s+(?:[\"“”„](?P<quoted>[^\"“”„]*)[\"“”„]
                |(?P<datetime>\d{4}-\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}(?:\s+[A-Za-z][\w+\-/]*)?)
                |(?P<bare>\S+)))?
        \s*\Z""",
    re.IGNORECASE | re.VERBOSE,
)
# An option where the message should start: the user put the options first.
OPTION_AT_START = re.compile(r"(?:--|—|–)(?:from|at)(?:\s|\Z)", re.IGNORECASE)


def split_options(body: str, kind: str) -> tuple[str, str | None, str | None]:
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
