"""Recipients as the scanner read them, normalised: numbers to E.164, each named once."""

from __future__ import annotations

from listeners.commands.grammar.hints import bad_numbers_reason
from listeners.commands.grammar.requests import UsageError
from listeners.commands.grammar.scanner import Item
from listeners.commands.grammar.usage import usage
from sms.phones import InvalidNumber, normalize


def resolve_items(
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
        reason = bad_numbers_reason(items, tokens, bad, default_region, explicit)
        raise UsageError(reason, usage(kind))
    return tuple(numbers), tuple(users), tuple(groups), tuple(names)
