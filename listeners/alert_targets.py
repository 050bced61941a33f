"""An alert integration's `<to>`, stored as typed, read the way `/sms send` reads recipients.

The alert worker (bot layer) resolves it at page time, so an @on-call group pages whoever is
on call then; reading the text is the grammar's job, which lives here in listeners, so the
server hands this function to the worker.
"""

from __future__ import annotations

from bot.alerts.worker import Named
from listeners.commands.grammar.scanner import scan_recipients
from sms.phones import InvalidNumber, normalize


def read_to(text: str, contacts: frozenset[str], default_region: str | None) -> Named:
    """The recipients in `text`; a bad number, or words that are no recipient, are problems
    named in words (the rest are still paged)."""
    items, _, end, _ = scan_recipients(text, contacts)
    numbers: dict[str, None] = {}
    named: dict[str, dict[str, None]] = {"user": {}, "group": {}, "contact": {}}
    problems = []
    for item in items:
        if item.kind != "number":
            named[item.kind][item.value] = None
            continue
        try:
            numbers[normalize(item.value, default_region)] = None
        except InvalidNumber as error:
            problems.append(f"{item.value} is not a number I can text ({error}).")
    if text[end:].strip():
        problems.append(f"“{text[end:].strip()}” is not a recipient.")
    return Named(
        numbers=tuple(numbers),
        users=tuple(named["user"]),
        groups=tuple(named["group"]),
        contacts=tuple(named["contact"]),
        problems=tuple(problems),
    )
