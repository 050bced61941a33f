"""Slack mrkdwn text: the one place that knows how Slack escapes text and writes mentions.

Slack treats `&`, `<` and `>` as control characters: text it sends arrives with them as
entities and mentions as `<@U123|alice>`, and text we post must escape them or a user's
`<!channel>` would ping a channel.
"""

from __future__ import annotations

import re

MARKUP = re.compile(r"<([^<>]*)>")  # one piece of Slack markup: a mention, link or broadcast
BROADCASTS = frozenset({"here", "channel", "everyone"})
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


def escape(text: str) -> str:
    """Slack's three control characters, so user text is shown and never interpreted."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Slack's entities decoded once, so `&amp;lt;` stays the `&lt;` the user typed."""
    return _ENTITY.sub(lambda m: _ENTITIES[m[1]], text)


def to_plain_text(text: str) -> str:
    """Slack's escaped text as a person would read it: mentions as @name, entities decoded."""
    return unescape(MARKUP.sub(_markup_text, text))


def _markup_text(match: re.Match[str]) -> str:
    target, _, label = match[1].partition("|")
    if target.startswith("@"):
        return "@" + (label.lstrip("@") or target[1:])
    if target.startswith("!subteam^"):
        return "@" + (label.lstrip("@") or target.removeprefix("!subteam^"))
    if target.startswith("!"):
        name = target[1:]
        return "@" + name if name in BROADCASTS else label or name
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith(("mailto:", "tel:")):
        return label or target.partition(":")[2]
    return target
