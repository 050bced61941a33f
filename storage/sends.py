"""Sends: storing what a command sent, and reading sends back for commands and metrics."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlite_utils import Database

from storage.outbox import enqueue
from storage.reports import apply_orphans
from storage.rows import NewRecipient, NewSend, SendView, iso, load_send
from storage.sendtime import goes_out
from storage.store import Store

__all__ = ["CREATED_SINCE_SQL", "Sends"]

CREATED_SINCE_SQL = "SELECT created FROM sends WHERE user_id = ? AND created > ? ORDER BY created"


class Sends:
    """Sends and their recipients, as a whole."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(self, send: NewSend, recipients: Sequence[NewRecipient]) -> int:
        """Store a send and its recipients, and apply any reports that came before it."""
        now = iso(self.store.clock())

        def write(db: Database) -> int:
            sent = goes_out(send.send_at, send.zone, now)
            send_id = (
                db["sends"].insert({**send.__dict__, "created": now, "goes_out": sent}).last_pk
            )
            db["recipients"].insert_all(
                {
                    "send_id": send_id,
                    "msg_id": r.msg_id,
                    "mobile": r.mobile,
                    "state": r.state.value,
                    "reason": r.reason,
                    "slack_user": r.slack_user,
                    "updated": now,
                }
                for r in recipients
            )
            msg_ids = sorted({r.msg_id for r in recipients if r.msg_id})
            apply_orphans(db, msg_ids, now)
            enqueue(db, send_id, now)
            return int(send_id)

        return await self.store.write(write)

    async def load(self, send_id: int) -> SendView | None:
        return await self.store.read(lambda db: load_send(db, send_id))

    async def find(self, msg_id: str) -> SendView | None:
        """The send that holds `msg_id`, for `/sms status <msgId>`."""

        def read(db: Database) -> SendView | None:
            row = db.execute(
                "SELECT send_id FROM recipients WHERE msg_id = ? LIMIT 1", [msg_id]
            ).fetchone()
            return load_send(db, row[0]) if row else None

        return await self.store.read(read)

    async def recent(self, channel_id: str, limit: int = 5) -> list[SendView]:
        """The channel's latest sends, newest first."""

        def read(db: Database) -> list[SendView]:
            rows = db.execute(
                "SELECT id FROM sends WHERE channel_id = ? ORDER BY id DESC LIMIT ?",
                [channel_id, limit],
            ).fetchall()
            return [view for (send_id,) in rows if (view := load_send(db, send_id))]

        return await self.store.read(read)

    async def created_since(self, user_id: str, since: datetime) -> list[str]:
        """When each of a user's sends since `since` was made, oldest first (rate limits)."""
        return await self.store.read(
            lambda db: [row[0] for row in db.execute(CREATED_SINCE_SQL, [user_id, iso(since)])]
        )

    async def state_counts(self) -> dict[str, int]:
        """How many recipients are in each state, for /metrics."""
        return await self.store.read(
            lambda db: dict(
                db.execute("SELECT state, count(*) FROM recipients GROUP BY state").fetchall()
            )
        )
