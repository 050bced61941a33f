"""Page escalation: which pages need a loud alert, and the marks that keep it to one.

A recipient's `escalated` column is 0 before any alert, 3 (`ALERTING`) once an alert
about it is decided but not known to be in Slack, 1 once alerted, 2 once the "Retry
failed" button has re-sent to it. The 3 is written before the alert is posted: after a
lost answer or a restart, the escalator finds those recipients, and looks in Slack for
the alert (marked from their ids) before posting it again, so an alert is said at least
once and never twice. The 2 is written in the same commit that claims the retry, so a
retry happens at most once.

A page is `/sms page` (kind `page`) or an alert's page (kind `alert`, bot/alerts). Once
someone presses Acknowledge (`acked_by`), its escalation stops: the query and its index
leave acknowledged pages out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from storage.outbox import enqueue
from storage.rows import Recipient, SendView, iso, load_send, recipient_from_row
from storage.store import Store

__all__ = ["ALERTED", "ALERTING", "DUE_ESCALATIONS_SQL", "PAGE_KINDS", "Acknowledged", "Pages"]

ALERTED = 1
ALERTING = 3
# A page typed as `/sms page` or sent by the alert worker; written as the index (m009) says.
PAGE_KINDS = "kind IN ('page', 'alert')"

# An alert under way (ALERTING: its post may or may not have landed) is always due; otherwise
# the timeout counts from when the page went out (`goes_out`), not from the command.
# Read from the pages (a partial index holds just the posted ones), then each page's
# recipients: starting from the recipients would read every undelivered SMS ever sent.
# Parameter: the moment before which an undelivered page has timed out.
DUE_ESCALATIONS_SQL = (
    f"SELECT s.id FROM sends s WHERE {PAGE_KINDS} AND s.message_ts IS NOT NULL "
    "AND s.acked_by IS NULL "
    "AND EXISTS (SELECT 1 FROM recipients r WHERE r.send_id = s.id "
    f"AND (r.escalated = {ALERTING} OR (r.escalated = 0 AND (r.state = 'failed' "
    "OR (r.state != 'delivered' AND s.goes_out <= ?))))) "
    "ORDER BY s.id"
)


@dataclass(frozen=True)
class Acknowledged:
    by: str  # who pressed it first
    now: bool  # this press was the first


class Pages:
    """The escalator's and the retry button's queries."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def due_escalations(self, timed_out_before: datetime) -> list[SendView]:
        """Pages with an alert under way, or with a recipient that failed, or is undelivered
        and went out before the timeout, and has not been escalated yet."""

        def read(db: Database) -> list[SendView]:
            rows = db.execute(DUE_ESCALATIONS_SQL, [iso(timed_out_before)]).fetchall()
            return [view for (send_id,) in rows if (view := load_send(db, send_id))]

        return await self.store.read(read)

    async def mark_escalated(self, recipient_ids: Sequence[int], escalated: bool = True) -> None:
        """Marked before the alert is posted, so an alert is said at most once, never twice."""
        ids = list(recipient_ids)
        marks = ",".join("?" * len(ids))
        await self.store.write(
            lambda db: db.execute(
                f"UPDATE recipients SET escalated = ? WHERE id IN ({marks})", [int(escalated), *ids]
            )
        )

    async def claim_alert(self, recipient_ids: Sequence[int]) -> None:
        """Mark recipients as being alerted about, before the alert is posted."""
        await self._move(recipient_ids, 0, ALERTING)

    async def settle_alert(self, recipient_ids: Sequence[int]) -> None:
        """The alert is in Slack (or no longer needed): alerted, unless retried meanwhile."""
        await self._move(recipient_ids, ALERTING, ALERTED)

    async def _move(self, recipient_ids: Sequence[int], before: int, after: int) -> None:
        ids = list(recipient_ids)
        marks = ",".join("?" * len(ids))
        await self.store.write(
            lambda db: db.execute(
                f"UPDATE recipients SET escalated = ? WHERE escalated = ? AND id IN ({marks})",
                [after, before, *ids],
            )
        )

    async def claim_retry(self, send_id: int) -> list[Recipient]:
        """The alerted, undelivered recipients of a page, marked retried in the same commit,
        so two clicks on "Retry failed" send once. A click on an alert whose answer was
        lost proves it is in Slack, so recipients still marked `ALERTING` count too."""

        def write(db: Database) -> list[Recipient]:
            rows = list(
                db["recipients"].rows_where(
                    "send_id = ? AND escalated IN (1, 3) AND state != 'delivered'",
                    [send_id],
                    order_by="id",
                )
            )
            if rows:
                marks = ",".join("?" * len(rows))
                db.execute(
                    f"UPDATE recipients SET escalated = 2 WHERE id IN ({marks})",
                    [row["id"] for row in rows],
                )
            return [recipient_from_row(row) for row in rows]

        return await self.store.write(write)

    async def acknowledge(self, send_id: int, user_id: str, now: datetime) -> Acknowledged | None:
        """Record who acknowledged a page; the first press wins, in one commit, and queues the
        tracked message's edit. None when there is no such page."""
        stamp = iso(now)

        def write(db: Database) -> Acknowledged | None:
            first = db.execute(
                f"UPDATE sends SET acked_by = ?, acked_at = ? "
                f"WHERE id = ? AND acked_by IS NULL AND {PAGE_KINDS}",
                [user_id, stamp, send_id],
            ).rowcount
            if first:
                enqueue(db, send_id, stamp)
            row = db.execute(
                f"SELECT acked_by FROM sends WHERE id = ? AND {PAGE_KINDS}", [send_id]
            ).fetchone()
            return Acknowledged(row[0], bool(first)) if row else None

        return await self.store.write(write)
