"""The outbox: which sends' tracked messages are behind, and where those messages are.

A change to a send (a report, a new send, an expiry) calls `enqueue` in its own
transaction; the notifier reads the rows and clears one only if no newer change came in
while it was calling Slack.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlite_utils import Database

from storage.rows import Pending, iso
from storage.store import Store

__all__ = [
    "ENQUEUE_MANY_SQL",
    "ENQUEUE_SQL",
    "PENDING_DUE_SQL",
    "PENDING_SQL",
    "Outbox",
    "enqueue",
    "enqueue_many",
]

# A send's change counter, then its outbox row at that version (parameters: now, send id);
# a send from the terminal (`smsbot send`, no channel) has no message to update.
ENQUEUE_SQL = (
    "UPDATE sends SET changes = changes + 1 WHERE id = ?",
    "INSERT INTO outbox (send_id, version, queued_at) "
    "SELECT id, changes, ? FROM sends WHERE id = ? AND channel_id != '' "
    "ON CONFLICT (send_id) DO UPDATE SET version = excluded.version, attempts = 0, "
    "not_before = NULL",
)
# The same for a JSON array of send ids, in two statements whatever their number.
ENQUEUE_MANY_SQL = (
    "UPDATE sends SET changes = changes + 1 WHERE id IN (SELECT value FROM json_each(?))",
    "INSERT INTO outbox (send_id, version, queued_at) "
    "SELECT id, changes, ? FROM sends WHERE id IN (SELECT value FROM json_each(?)) "
    "AND channel_id != '' "
    "ON CONFLICT (send_id) DO UPDATE SET version = excluded.version, attempts = 0, "
    "not_before = NULL",
)
PENDING_SQL = "SELECT send_id, version, attempts FROM outbox ORDER BY queued_at"
PENDING_DUE_SQL = (
    "SELECT send_id, version, attempts FROM outbox "
    "WHERE not_before IS NULL OR not_before <= ? ORDER BY queued_at"
)


def enqueue(db: Database, send_id: int, now: str) -> None:
    """Note that the send's message is behind, with a version no earlier row ever had.

    The version comes from a counter on the send that only grows: were it restarted with
    the outbox row, a round that read an old (send, version) could clear a newer change.
    """
    count, queue = ENQUEUE_SQL
    db.conn.execute(count, [send_id])
    db.conn.execute(queue, [now, send_id])


def enqueue_many(db: Database, send_ids: Sequence[int], now: str) -> None:
    """`enqueue` for many sends at once: two statements, not two per send."""
    if not send_ids:
        return
    ids = json.dumps(list(send_ids))
    count, queue = ENQUEUE_MANY_SQL
    db.conn.execute(count, [ids])
    db.conn.execute(queue, [now, ids])


class Outbox:
    """The notifier's queue of channel updates, and the marks it leaves on sends."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def pending(self, due: datetime | None = None) -> list[Pending]:
        """Sends whose tracked message is behind; with `due`, only those not deferred past it."""

        def read(db: Database) -> list[Pending]:
            if due is None:
                rows = db.execute(PENDING_SQL)
            else:
                rows = db.execute(PENDING_DUE_SQL, [iso(due)])
            return [Pending(*row) for row in rows]

        return await self.store.read(read)

    async def version(self, send_id: int) -> int | None:
        """The send's queued version, read before posting so the post can clear just that."""

        def read(db: Database) -> int | None:
            row = db.execute("SELECT version FROM outbox WHERE send_id = ?", [send_id]).fetchone()
            return row[0] if row else None

        return await self.store.read(read)

    async def set_tracked_message(
        self, send_id: int, channel: str, ts: str, notice: str | None, shown_version: int | None
    ) -> None:
        """Remember where the tracked message is; it already shows `shown_version`."""

        def write(db: Database) -> None:
            db["sends"].update(
                send_id, {"message_channel": channel, "message_ts": ts, "notice": notice}
            )
            if shown_version is not None:
                db.execute(
                    "DELETE FROM outbox WHERE send_id = ? AND version = ?",
                    [send_id, shown_version],
                )

        await self.store.write(write)

    async def mark_updated(self, send_id: int, version: int) -> None:
        """Clear the outbox row unless a newer change came in while Slack was being called."""
        await self.store.write(
            lambda db: db.execute(
                "DELETE FROM outbox WHERE send_id = ? AND version = ?", [send_id, version]
            )
        )

    async def defer(self, send_id: int, not_before: datetime) -> None:
        """Try this send's update again later, counting the attempt."""
        await self.store.write(
            lambda db: db.execute(
                "UPDATE outbox SET attempts = attempts + 1, not_before = ? WHERE send_id = ?",
                [iso(not_before), send_id],
            )
        )

    async def drop(self, send_id: int) -> None:
        """Give up on a send's channel updates (its message is gone for good)."""
        await self.store.write(
            lambda db: db.execute("DELETE FROM outbox WHERE send_id = ?", [send_id])
        )

    async def mark_announced(self, recipient_ids: Sequence[int], announced: bool = True) -> None:
        """Record that these failures were (or, on a failed post, were not) said in the thread."""
        ids = list(recipient_ids)
        marks = ",".join("?" * len(ids))

        await self.store.write(
            lambda db: db.execute(
                f"UPDATE recipients SET announced = ? WHERE id IN ({marks})", [int(announced), *ids]
            )
        )
