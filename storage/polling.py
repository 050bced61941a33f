"""What status polling needs: who is due to be asked again, and who can no longer be.

The gateway answers status queries for the last 30 days only, so past that window a
recipient with no final report is settled as `unknown`, with the reason. Both clocks start
when the SMS goes out, not when the command was typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlite_utils import Database

from storage.outbox import enqueue
from storage.rows import PollTarget, iso
from storage.store import Store

__all__ = [
    "DUE_SQL",
    "EXPIRED_REASON",
    "EXPIRED_SQL",
    "EXPIRE_BATCH",
    "EXPIRE_RECIPIENT_SQL",
    "REPORT_WINDOW",
    "SCHEDULE_SQL",
    "Polling",
]

# The gateway answers status queries for the last 30 days only (gateway-api.md §4).
REPORT_WINDOW = timedelta(days=30)
EXPIRED_REASON = "no delivery report within the gateway's 30 days"
_OPEN = "r.msg_id IS NOT NULL AND r.state IN ('accepted', 'pending', 'scheduled')"

# Every time here counts from `goes_out`, when the SMS leaves (storage/sendtime.py): a send
# scheduled days ahead is first asked about `after` its send time, never before.
# Parameters: window start, now - after, now, limit.
DUE_SQL = (
    "SELECT r.id, r.msg_id, r.mobile, r.polls FROM recipients r "
    f"JOIN sends s ON s.id = r.send_id WHERE {_OPEN} "
    "AND s.goes_out > ? AND s.goes_out <= ? AND (r.next_poll IS NULL OR r.next_poll <= ?) "
    "ORDER BY r.id LIMIT ?"
)
SCHEDULE_SQL = "UPDATE recipients SET polls = polls + 1, next_poll = ? WHERE id = ?"
# Parameters: the window start (now - 30 days), limit.
EXPIRED_SQL = (
    "SELECT r.id, r.send_id FROM recipients r JOIN sends s ON s.id = r.send_id "
    f"WHERE s.goes_out <= ? AND {_OPEN} LIMIT ?"
)
EXPIRE_RECIPIENT_SQL = (
    "UPDATE recipients SET state = 'unknown', reason = ?, updated = ? "
    "WHERE id = ? AND state IN ('accepted', 'pending', 'scheduled')"
)
# Recipients settled per write: the writer is never held for long (about 1 ms), whatever the
# backlog, so webhook answers queued behind it are not delayed.
EXPIRE_BATCH = 500


class Polling:
    """The poller's schedule, kept on the recipient rows."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def due(self, now: datetime, after: timedelta, limit: int) -> list[PollTarget]:
        """Recipients still without a final state `after` their SMS went out, within the
        30 days, and not told to wait longer by `schedule`."""

        def read(db: Database) -> list[PollTarget]:
            rows = db.execute(
                DUE_SQL, [iso(now - REPORT_WINDOW), iso(now - after), iso(now), limit]
            ).fetchall()
            return [PollTarget(*row) for row in rows]

        return await self.store.read(read)

    async def schedule(self, next_polls: Sequence[tuple[int, datetime]]) -> None:
        """Remember when to ask again about recipients the gateway had no final word on."""
        rows = [(iso(when), recipient_id) for recipient_id, when in next_polls]

        def write(db: Database) -> None:
            db.conn.executemany(SCHEDULE_SQL, rows)

        await self.store.write(write)

    async def expire_unreported(self, now: datetime) -> int:
        """Past the gateway's 30-day window no report can come: say `unknown`, with why.

        In writes of at most EXPIRE_BATCH recipients, so a month of undelivered SMS does not
        hold the writer (and every webhook answer behind it) for long.
        """
        stamp = iso(now)
        cutoff = iso(now - REPORT_WINDOW)

        def write(db: Database) -> int:
            rows = db.execute(EXPIRED_SQL, [cutoff, EXPIRE_BATCH]).fetchall()
            db.conn.executemany(
                EXPIRE_RECIPIENT_SQL, [(EXPIRED_REASON, stamp, rid) for rid, _ in rows]
            )
            for send_id in sorted({send_id for _, send_id in rows}):
                enqueue(db, send_id, stamp)
            return len(rows)

        total = 0
        while True:
            changed = await self.store.write(write)
            total += changed
            if changed < EXPIRE_BATCH:
                return total
