"""Who an integration pages: the `<to>` of `/sms alerts add`, as `integrations.recipients`.

It is kept as named, not as phones: an @on-call user group or a contact is looked up when
an alert fires, so a rotation pages whoever is on call then. It is written in one plain
form the grammar also reads, one word per recipient: `+E164` numbers, `<@U…>` people,
`<!subteam^S…>` user groups, and saved contacts by their lower-case name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["To", "read_to", "write_to"]

_USER = re.compile(r"<@([UW][A-Z0-9]+)>")
_GROUP = re.compile(r"<!subteam\^([A-Z0-9]+)>")
_NUMBER = re.compile(r"\+([0-9]{4,15})")


@dataclass(frozen=True)
class To:
    numbers: tuple[str, ...] = ()  # E.164 digits without "+", as sms.phones.normalize gives
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()


def write_to(
    numbers: Sequence[str],
    users: Sequence[str],
    groups: Sequence[str],
    contacts: Sequence[str],
) -> str:
    words = [f"+{n}" for n in numbers]
    words += [f"<@{u}>" for u in users]
    words += [f"<!subteam^{g}>" for g in groups]
    words += [c.lower() for c in contacts]
    return " ".join(words)


def read_to(text: str) -> To:
    numbers: list[str] = []
    users: list[str] = []
    groups: list[str] = []
    contacts: list[str] = []
    for word in text.split():
        if found := _USER.fullmatch(word):
            users.append(found[1])
        elif found := _GROUP.fullmatch(word):
            groups.append(found[1])
        elif found := _NUMBER.fullmatch(word):
            numbers.append(found[1])
        else:
            contacts.append(word.lower())
    return To(tuple(numbers), tuple(users), tuple(groups), tuple(contacts))
