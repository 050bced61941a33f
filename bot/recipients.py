"""Who a command is really for: numbers, Slack users, user groups and contacts, as phones.

People without a usable number are named back to the sender and the rest are still
sent to: a page that reaches four of five people must not wait for the fifth.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.directory import Directory, LookupFailed, Person
from storage.contacts import Contacts

LOOKUPS_AT_ONCE = 8


class TooMany(Exception):
    """More recipients named than one command may text, counted before any profile is read.

    Reading a thousand-member group's profiles to then refuse the send would spend Slack's
    rate limit and read personal data for nothing.
    """

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} recipients named")
        self.count = count


@dataclass(frozen=True)
class Target:
    mobile: str
    slack_user: str | None = None


@dataclass
class Resolved:
    by_mobile: dict[str, Target] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def targets(self) -> list[Target]:
        return list(self.by_mobile.values())

    def add(self, target: Target) -> None:
        """Each phone once, in the order first named; a Slack user beats a bare number."""
        known = self.by_mobile.get(target.mobile)
        if known is None or (known.slack_user is None and target.slack_user):
            self.by_mobile[target.mobile] = target


async def resolve(
    *,
    numbers: Sequence[str],
    users: Sequence[str],
    groups: Sequence[str],
    contact_names: Sequence[str],
    team_id: str,
    directory: Directory,
    contacts: Contacts,
    most: int | None = None,
) -> Resolved:
    """Expand everything named into phone numbers, collecting what could not be used.

    With `most`, raises TooMany when the distinct numbers and people named (user groups
    expanded) are more than that, before any person's profile is looked up.
    """
    resolved = Resolved()
    all_numbers, all_users, all_groups = list(numbers), list(users), list(groups)
    saved = await contacts.get(team_id, contact_names) if contact_names else {}
    for name in contact_names:
        contact = saved.get(name)
        if contact is None:
            resolved.problems.append(f"There is no contact `{name}` (it may have been removed).")
            continue
        all_numbers += contact.numbers
        all_users += contact.users
        all_groups += contact.groups
    for group in dict.fromkeys(all_groups):
        try:
            members = await directory.members(group)
        except LookupFailed as error:
            resolved.problems.append(f"{error}.")
            continue
        if not members:
            resolved.problems.append(f"<!subteam^{group}> has no members.")
        all_users += members
    named = len(dict.fromkeys(all_numbers)) + len(dict.fromkeys(all_users))
    if most is not None and named > most:
        raise TooMany(named)
    for number in all_numbers:
        resolved.add(Target(number))
    limit = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    async def look_up(user: str) -> Person | str:
        async with limit:
            try:
                return await directory.person(user)
            except LookupFailed as error:
                return f"{error}."

    for outcome in await asyncio.gather(*(look_up(u) for u in dict.fromkeys(all_users))):
        if isinstance(outcome, str):
            resolved.problems.append(outcome)
        elif outcome.mobile is None:
            resolved.problems.append(f"{outcome.problem}.")
        else:
            resolved.add(Target(outcome.mobile, outcome.user_id))
    return resolved
