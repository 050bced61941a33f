"""Sends: storing what a command sent, and reading sends back for commands and metrics.

A send is written in three steps around the gateway call, so that no crash can lose one
that may have gone out: `begin` before the call, `answer` as each batch is answered, and
`finish` after (or `discard` when the gateway refused all of it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlite_utils import Database

from storage.outbox import enqueue
from storage.reports import apply_orphans
from storage.rows import NewRecipient, NewSend, SendView, iso, load_send
from storage.sendtime import goes_out
from storage.store import Store

__all__ = ["CALLING", "CREATED_SINCE_SQL", "DONE", "INTERRUPTED", "Sends"]

# A person's own commands: pages the alert worker sends in an integration creator's name
# are limited per integration instead (SMS_ALERT_PAGES_PER_HOUR).
CREATED_SINCE_SQL = (
    "SELECT created FROM sends WHERE user_id = ? AND created > ? AND kind != 'alert' "
    "ORDER BY created"
)
CALLING, DONE, INTERRUPTED = "calling", "done", "interrupted"


def _queue_message(db: Database, send_id: int, now: str) -> None:
    """Queue the send's tracked message, unless it has no channel (sent from a terminal)."""
    row = db.execute("SELECT channel_id FROM sends WHERE id = ?", [send_id]).fetchone()
    if row and row[0]:
        enqueue(db, send_id, now)


class Sends:
    """Sends and their recipients, as a whole."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def begin(
        self,
        send: NewSend,
        recipients: Sequence[NewRecipient],
        also: Callable[[Database, int], None] | None = None,
    ) -> int:
        """Write a send and its recipients down before the gateway is called (phase `calling`).

        No outbox row yet: its message is posted once the call is answered (`finish`), or
        by the next start if a crash came first (`recover_interrupted`). `also(db, send_id)`
        writes what must be in the same commit (an alert's group and its notice done).
        """
        now = iso(self.store.clock())

        def write(db: Database) -> int:
            sent = goes_out(send.send_at, send.zone, now)
            row = {
                **send.__dict__,
                "created": now,
                "goes_out": sent,
                "phase": CALLING,
                "caller": self.store.caller,
            }
            send_id = int(db["sends"].insert(row).last_pk)
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
            if also is not None:
                also(db, send_id)
            return send_id

        return await self.store.write(write)

    async def answer(self, send_id: int, recipients: Sequence[NewRecipient]) -> None:
        """Record what the gateway answered for these recipients of the send, and apply any
        reports that came before their msgId was known."""
        now = iso(self.store.clock())

        def write(db: Database) -> None:
            db.conn.executemany(
                "UPDATE recipients SET msg_id = ?, state = ?, reason = ?, updated = ? "
                "WHERE send_id = ? AND mobile = ?",
                [(r.msg_id, r.state.value, r.reason, now, send_id, r.mobile) for r in recipients],
            )
            apply_orphans(db, sorted({r.msg_id for r in recipients if r.msg_id}), now)

        await self.store.write(write)

    async def finish(self, send_id: int) -> None:
        """The gateway call is over: queue the send's tracked message (if it has a channel)."""
        now = iso(self.store.clock())

        def write(db: Database) -> None:
            db.execute("UPDATE sends SET phase = ? WHERE id = ?", [DONE, send_id])
            _queue_message(db, send_id, now)

        await self.store.write(write)

    async def discard(self, send_id: int) -> None:
        """Forget a send the gateway refused outright: nothing went out, nothing to track."""

        def write(db: Database) -> None:
            db.execute("DELETE FROM outbox WHERE send_id = ?", [send_id])
            db.execute("DELETE FROM recipients WHERE send_id = ?", [send_id])
            db.execute("DELETE FROM sends WHERE id = ?", [send_id])

        await self.store.write(write)

    async def recover_interrupted(self, before: datetime) -> list[int]:
        """Sends still `calling` that were begun before `before` (this process's start) by a
        process that is gone: a crash came between their gateway call and its answer. Their
        unanswered recipients stay `unknown`; they become `interrupted` and their tracked
        message is queued. (On SQLite `caller` is NULL: the start alone says it.)"""
        now = iso(self.store.clock())

        def write(db: Database) -> list[int]:
            ids = [
                row[0]
                for row in db.execute(
                    # `phase` written out, so the partial index sends_calling (m007) serves it
                    "SELECT id FROM sends WHERE phase = 'calling' AND created < ? AND (caller IS "
                    "NULL OR caller NOT IN (SELECT caller FROM live_callers)) ORDER BY id",
                    [iso(before)],
                )
            ]
            for send_id in ids:
                db.execute("UPDATE sends SET phase = ? WHERE id = ?", [INTERRUPTED, send_id])
                _queue_message(db, send_id, now)
            return ids

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
        """How many recipients are in each state, for /metrics (kept by triggers, m010)."""
        return await self.store.read(
            lambda db: dict(db.execute("SELECT state, n FROM state_counts WHERE n > 0").fetchall())
        )
