"""Saved contacts: a name standing for phone numbers and Slack mentions, per workspace.

A small query module beside the Store: reads go through `store.read` (a reader thread),
writes through `store.write` (the single writer thread), so contacts share the bot's one
SQLite file and its group commit. Members are kept as one JSON column because they are only
ever read and written together.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage.store import Store

__all__ = ["Contact", "Contacts"]


@dataclass(frozen=True)
class Contact:
    name: str
    numbers: tuple[str, ...]
    users: tuple[str, ...]
    groups: tuple[str, ...]
    created_by: str
    updated: str


def _members_json(numbers: Sequence[str], users: Sequence[str], groups: Sequence[str]) -> str:
    return json.dumps(
        {
            "numbers": list(dict.fromkeys(numbers)),
            "users": list(dict.fromkeys(users)),
            "groups": list(dict.fromkeys(groups)),
        }
    )


def _strings(members: dict[str, Any], key: str) -> tuple[str, ...]:
    """One member list, tolerating a row written by hand or by an older version."""
    values = members.get(key)
    if not isinstance(values, list):
        return ()
    return tuple(v for v in values if isinstance(v, str))


def _contact(row: tuple[str, str, str | None, str | None]) -> Contact:
    name, members_text, created_by, updated = row
    try:
        members = json.loads(members_text)
    except ValueError:
        members = {}
    if not isinstance(members, dict):
        members = {}
    return Contact(
        name=name,
        numbers=_strings(members, "numbers"),
        users=_strings(members, "users"),
        groups=_strings(members, "groups"),
        created_by=created_by or "",
        updated=updated or "",
    )


_COLUMNS = "name, members, created_by, updated"


class Contacts:
    """A workspace's contacts; names are matched case-insensitively (stored lower case)."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    async def save(
        self,
        team_id: str,
        name: str,
        numbers: Sequence[str],
        users: Sequence[str],
        groups: Sequence[str],
        user_id: str,
    ) -> bool:
        """Create or replace `name`; True when it was created, False when it replaced one.

        Replacing keeps who first created it: `updated` says when it last changed.
        """
        key = name.lower()
        members = _members_json(numbers, users, groups)
        now = self.clock().isoformat(timespec="milliseconds")

        def write(db: Database) -> bool:
            # The writer thread is the only writer, so this check and the write cannot race.
            existing = db.execute(
                "SELECT id FROM contacts WHERE team_id = ? AND name = ?", [team_id, key]
            ).fetchone()
            if existing:
                db.execute(
                    "UPDATE contacts SET members = ?, updated = ? WHERE id = ?",
                    [members, now, existing[0]],
                )
                return False
            db["contacts"].insert(
                {
                    "team_id": team_id,
                    "name": key,
                    "members": members,
                    "created_by": user_id,
                    "created": now,
                    "updated": now,
                }
            )
            return True

        return await self.store.write(write)

    async def names(self, team_id: str) -> set[str]:
        """Every saved name in the workspace: what the grammar needs to spot a contact."""
        rows = await self.store.read(
            lambda db: db.execute(
                "SELECT name FROM contacts WHERE team_id = ?", [team_id]
            ).fetchall()
        )
        return {name for (name,) in rows}

    async def get(self, team_id: str, names: Collection[str]) -> dict[str, Contact]:
        """The contacts among `names` that exist, keyed by lower-case name."""
        wanted = sorted({name.lower() for name in names})
        if not wanted:
            return {}

        def read(db: Database) -> dict[str, Contact]:
            marks = ",".join("?" * len(wanted))
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM contacts WHERE team_id = ? AND name IN ({marks})",
                [team_id, *wanted],
            ).fetchall()
            return {row[0]: _contact(row) for row in rows}

        return await self.store.read(read)

    async def all(self, team_id: str) -> list[Contact]:
        """Every contact in the workspace, sorted by name."""
        rows = await self.store.read(
            lambda db: db.execute(
                f"SELECT {_COLUMNS} FROM contacts WHERE team_id = ? ORDER BY name", [team_id]
            ).fetchall()
        )
        return [_contact(row) for row in rows]

    async def remove(self, team_id: str, name: str) -> bool:
        """Delete `name`; False when there was no such contact."""
        key = name.lower()
        return await self.store.write(
            lambda db: (
                db.execute(
                    "DELETE FROM contacts WHERE team_id = ? AND name = ?", [team_id, key]
                ).rowcount
                > 0
            )
        )
