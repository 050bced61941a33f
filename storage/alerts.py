"""Alert integrations and the notices they receive.

An integration belongs to a channel of a workspace and has a name unique in the workspace;
its URL's token is stored only as a hash (`bot.alerts.tokens`), so the route finds an
integration by the hash of the token it was given. A notice is written before the webhook
answers 200 (the writer thread's commit), and marked done once the alert worker acted on
it, in the same commit as what it did, so a restart redoes exactly what was not done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from storage.rows import iso
from storage.store import Store

__all__ = ["AlertNotices", "Integration", "Integrations", "StoredNotice"]


@dataclass(frozen=True)
class Integration:
    id: int
    team_id: str
    name: str
    channel_id: str
    recipients: str  # the `<to>` as typed, resolved at page time
    created_by: str
    created: str
    rotated: str | None


@dataclass(frozen=True)
class StoredNotice:
    id: int
    integration_id: int
    received: str
    group_key: str
    status: str
    notice: str  # AlertNotice.to_json()


_INTEGRATION = "id, team_id, name, channel_id, recipients, created_by, created, rotated"
_NOTICE = "id, integration_id, received, group_key, status, notice"


class Integrations:
    """A workspace's integrations; names are matched case-insensitively (stored lower case)."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    async def add(
        self,
        team_id: str,
        name: str,
        channel_id: str,
        recipients: str,
        token_hash: str,
        user_id: str,
    ) -> Integration | None:
        """The new integration, or None if the workspace already has one by that name."""
        now = iso(self.clock())

        def write(db: Database) -> Integration | None:
            key = name.lower()
            if db.execute(
                "SELECT 1 FROM integrations WHERE team_id = ? AND name = ?", [team_id, key]
            ).fetchone():
                return None
            row = {
                "team_id": team_id,
                "name": key,
                "channel_id": channel_id,
                "recipients": recipients,
                "token_hash": token_hash,
                "created_by": user_id,
                "created": now,
            }
            new_id = db["integrations"].insert(row).last_pk
            return Integration(
                int(new_id), team_id, key, channel_id, recipients, user_id, now, None
            )

        return await self.store.write(write)

    async def by_token_hash(self, token_hash: str) -> Integration | None:
        def read(db: Database) -> Integration | None:
            row = db.execute(
                f"SELECT {_INTEGRATION} FROM integrations WHERE token_hash = ?", [token_hash]
            ).fetchone()
            return Integration(*row) if row else None

        return await self.store.read(read)

    async def get(self, integration_id: int) -> Integration | None:
        def read(db: Database) -> Integration | None:
            row = db.execute(
                f"SELECT {_INTEGRATION} FROM integrations WHERE id = ?", [integration_id]
            ).fetchone()
            return Integration(*row) if row else None

        return await self.store.read(read)

    async def named(self, team_id: str, name: str) -> Integration | None:
        def read(db: Database) -> Integration | None:
            row = db.execute(
                f"SELECT {_INTEGRATION} FROM integrations WHERE team_id = ? AND name = ?",
                [team_id, name.lower()],
            ).fetchone()
            return Integration(*row) if row else None

        return await self.store.read(read)

    async def list(self, team_id: str) -> list[Integration]:
        def read(db: Database) -> list[Integration]:
            rows = db.execute(
                f"SELECT {_INTEGRATION} FROM integrations WHERE team_id = ? ORDER BY name",
                [team_id],
            ).fetchall()
            return [Integration(*row) for row in rows]

        return await self.store.read(read)

    async def rotate(self, team_id: str, name: str, token_hash: str) -> bool:
        """Give `name` a new token hash: the old URL stops working in the same commit."""
        now = iso(self.clock())

        def write(db: Database) -> bool:
            cursor = db.execute(
                "UPDATE integrations SET token_hash = ?, rotated = ? "
                "WHERE team_id = ? AND name = ?",
                [token_hash, now, team_id, name.lower()],
            )
            return cursor.rowcount == 1

        return await self.store.write(write)

    async def remove(self, team_id: str, name: str) -> bool:
        """Delete `name` and the notices it received; its URL then answers 404."""

        def write(db: Database) -> bool:
            row = db.execute(
                "SELECT id FROM integrations WHERE team_id = ? AND name = ?",
                [team_id, name.lower()],
            ).fetchone()
            if not row:
                return False
            db.execute("DELETE FROM alert_notices WHERE integration_id = ?", [row[0]])
            db.execute("DELETE FROM integrations WHERE id = ?", [row[0]])
            return True

        return await self.store.write(write)


class AlertNotices:
    """Notices as received, for the alert worker to act on in order."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    async def store_notice(
        self, integration_id: int, group_key: str, status: str, notice: str
    ) -> int:
        """Write a notice down; returns its id once committed (then the route answers 200)."""
        now = iso(self.clock())

        def write(db: Database) -> int:
            row = {
                "integration_id": integration_id,
                "received": now,
                "group_key": group_key,
                "status": status,
                "notice": notice,
            }
            return int(db["alert_notices"].insert(row).last_pk)

        return await self.store.write(write)

    async def undone(self, limit: int = 100) -> list[StoredNotice]:
        """The oldest notices not yet acted on, in the order they came."""

        def read(db: Database) -> list[StoredNotice]:
            rows = db.execute(
                f"SELECT {_NOTICE} FROM alert_notices WHERE done = 0 ORDER BY id LIMIT ?",
                [limit],
            ).fetchall()
            return [StoredNotice(*row) for row in rows]

        return await self.store.read(read)

    @staticmethod
    def mark_done(db: Database, notice_id: int) -> None:
        """Inside the writer's transaction that records what was done about the notice."""
        db.execute("UPDATE alert_notices SET done = 1 WHERE id = ?", [notice_id])
