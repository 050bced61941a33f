"""The Store: every query the bot makes, behind async methods.

Writes go through the single writer thread (group commit); reads run on a small
pool of threads with their own connections (WAL lets them read while it writes).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from sms.delivery import Outcome, Report, ReportSource, State, apply, classify, failure_reason
from storage.lock import DatabaseInUse, DatabaseLock
from storage.schema import migrations
from storage.writer import Writer, connect

T = TypeVar("T")

__all__ = [
    "DatabaseInUse",
    "NewRecipient",
    "NewSend",
    "Pending",
    "PollTarget",
    "Recipient",
    "SendView",
    "Store",
]


@dataclass(frozen=True)
class NewSend:
    """What a command asked for, before the gateway has answered."""

    team_id: str
    user_id: str
    channel_id: str
    kind: str
    content: str
    sender_id: str | None = None
    send_at: str | None = None
    zone: str | None = None
    retry_of: int | None = None


@dataclass(frozen=True)
class NewRecipient:
    mobile: str
    msg_id: str | None
    state: State
    reason: str | None = None
    slack_user: str | None = None


@dataclass(frozen=True)
class Recipient:
    id: int
    mobile: str
    msg_id: str | None
    state: State
    reason: str | None
    error_code: str | None
    report_time: str | None
    updated: str
    announced: bool
    slack_user: str | None = None
    escalated: int = 0
    """0 no alert yet, 1 alerted (page not through), 2 retried after the alert."""


@dataclass(frozen=True)
class SendView:
    """A send with its recipients, as the notifier and `/sms status` show it."""

    id: int
    team_id: str
    user_id: str
    channel_id: str
    kind: str
    content: str
    sender_id: str | None
    send_at: str | None
    zone: str | None
    created: str
    message_channel: str | None
    message_ts: str | None
    notice: str | None
    retry_of: int | None = None
    changes: int = 0
    recipients: tuple[Recipient, ...] = field(default_factory=tuple)

    @property
    def msg_ids(self) -> list[str]:
        return sorted({r.msg_id for r in self.recipients if r.msg_id})

    @property
    def counts(self) -> Counter[State]:
        return Counter(r.state for r in self.recipients)


@dataclass(frozen=True)
class Pending:
    """A send whose tracked message must be brought up to date."""

    send_id: int
    version: int
    attempts: int


@dataclass(frozen=True)
class PollTarget:
    recipient_id: int
    msg_id: str
    mobile: str
    polls: int


# The gateway answers status queries for the last 30 days only (gateway-api.md §4).
REPORT_WINDOW = timedelta(days=30)
EXPIRED_REASON = "no delivery report within the gateway's 30 days"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only: it holds numbers and messages."""
    if str(path) == ":memory:" or path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


class Store:
    def __init__(self, path: Path | str, clock: Callable[[], datetime]) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = DatabaseLock(self.path)
        self._writer = Writer(str(self.path))
        self._local = threading.local()
        self._reader_dbs: list[Database] = []
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sqlite-reader")

    async def open(self) -> None:
        """Lock, create the file, apply migrations and start the writer thread.

        Raises DatabaseInUse when another live process has the database.
        """
        await asyncio.to_thread(_create_private, self.path)
        await asyncio.to_thread(self._lock.acquire)
        try:
            await asyncio.to_thread(self._writer.start)
            await self._writer.write(migrations.apply)
        except BaseException:
            await asyncio.to_thread(self._lock.release)
            raise

    async def close(self) -> None:
        await asyncio.to_thread(self._writer.stop)
        self._readers.shutdown(wait=True)
        for db in self._reader_dbs:
            db.close()
        await asyncio.to_thread(self._lock.release)

    async def write(self, fn: Callable[[Database], T]) -> T:
        """Run `fn` on the writer thread, in a transaction; returns once committed.

        For the small query modules beside this one (contacts); the bot's own queries are
        the methods below.
        """
        return await self._writer.write(fn)

    async def read(self, fn: Callable[[Database], T]) -> T:
        """Run `fn` on a reader thread with its own connection."""
        return await self._read(fn)

    async def _read(self, fn: Callable[[Database], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read_here, fn)

    def _read_here(self, fn: Callable[[Database], T]) -> T:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(str(self.path))
            self._reader_dbs.append(db)
        return fn(db)

    # writes

    async def record_send(self, send: NewSend, recipients: Sequence[NewRecipient]) -> int:
        """Store a send and its recipients, and apply any reports that came before it."""
        now = _iso(self.clock())

        def write(db: Database) -> int:
            send_id = db["sends"].insert({**send.__dict__, "created": now}).last_pk
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
            _apply_orphans(db, msg_ids, now)
            _enqueue(db, send_id, now)
            return int(send_id)

        return await self._writer.write(write)

    async def record_reports(
        self, reports: Sequence[tuple[Report, str]], source: ReportSource
    ) -> list[Outcome]:
        """Log each report (with its raw body) and apply it to its recipient, in one commit."""
        now = _iso(self.clock())

        def write(db: Database) -> list[Outcome]:
            return [_record_report(db, report, body, source, now) for report, body in reports]

        return await self._writer.write(write)

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

        await self._writer.write(write)

    async def mark_updated(self, send_id: int, version: int) -> None:
        """Clear the outbox row unless a newer change came in while Slack was being called."""
        await self._writer.write(
            lambda db: db.execute(
                "DELETE FROM outbox WHERE send_id = ? AND version = ?", [send_id, version]
            )
        )

    async def mark_announced(self, recipient_ids: Sequence[int], announced: bool = True) -> None:
        """Record that these failures were (or, on a failed post, were not) said in the thread."""
        ids = list(recipient_ids)
        marks = ",".join("?" * len(ids))

        await self._writer.write(
            lambda db: db.execute(
                f"UPDATE recipients SET announced = ? WHERE id IN ({marks})", [int(announced), *ids]
            )
        )

    async def drop_update(self, send_id: int) -> None:
        """Give up on a send's channel updates (its message is gone for good)."""
        await self._writer.write(
            lambda db: db.execute("DELETE FROM outbox WHERE send_id = ?", [send_id])
        )

    # reads

    async def load_send(self, send_id: int) -> SendView | None:
        return await self._read(lambda db: _load_send(db, send_id))

    async def find_send(self, msg_id: str) -> SendView | None:
        def read(db: Database) -> SendView | None:
            row = db.execute(
                "SELECT send_id FROM recipients WHERE msg_id = ? LIMIT 1", [msg_id]
            ).fetchone()
            return _load_send(db, row[0]) if row else None

        return await self._read(read)

    async def recent_sends(self, channel_id: str, limit: int = 5) -> list[SendView]:
        def read(db: Database) -> list[SendView]:
            rows = db.execute(
                "SELECT id FROM sends WHERE channel_id = ? ORDER BY id DESC LIMIT ?",
                [channel_id, limit],
            ).fetchall()
            return [view for (send_id,) in rows if (view := _load_send(db, send_id))]

        return await self._read(read)

    async def pending_updates(self, due: datetime | None = None) -> list[Pending]:
        """Sends whose tracked message is behind; with `due`, only those not deferred past it."""

        def read(db: Database) -> list[Pending]:
            sql = "SELECT send_id, version, attempts FROM outbox"
            params: list[str] = []
            if due is not None:
                sql += " WHERE not_before IS NULL OR not_before <= ?"
                params.append(_iso(due))
            return [Pending(*row) for row in db.execute(sql + " ORDER BY queued_at", params)]

        return await self._read(read)

    async def defer_update(self, send_id: int, not_before: datetime) -> None:
        """Try this send's update again later, counting the attempt."""
        await self._writer.write(
            lambda db: db.execute(
                "UPDATE outbox SET attempts = attempts + 1, not_before = ? WHERE send_id = ?",
                [_iso(not_before), send_id],
            )
        )

    async def due_for_poll(self, now: datetime, after: timedelta, limit: int) -> list[PollTarget]:
        """Recipients still without a final state `after` their send, within the 30 days."""

        def read(db: Database) -> list[PollTarget]:
            rows = db.execute(
                "SELECT r.id, r.msg_id, r.mobile, r.polls FROM recipients r "
                "JOIN sends s ON s.id = r.send_id "
                "WHERE r.msg_id IS NOT NULL AND r.state IN ('accepted', 'pending', 'scheduled') "
                "AND s.created > ? "
                "AND ((r.next_poll IS NULL AND s.created <= ?) OR r.next_poll <= ?) "
                "ORDER BY r.id LIMIT ?",
                [_iso(now - REPORT_WINDOW), _iso(now - after), _iso(now), limit],
            ).fetchall()
            return [PollTarget(*row) for row in rows]

        return await self._read(read)

    async def schedule_polls(self, next_polls: Sequence[tuple[int, datetime]]) -> None:
        """Remember when to ask again about recipients the gateway had no final word on."""
        rows = [(_iso(when), recipient_id) for recipient_id, when in next_polls]

        def write(db: Database) -> None:
            db.conn.executemany(
                "UPDATE recipients SET polls = polls + 1, next_poll = ? WHERE id = ?", rows
            )

        await self._writer.write(write)

    async def expire_unreported(self, now: datetime) -> int:
        """Past the gateway's 30-day window no report can come: say `unknown`, with why."""
        stamp = _iso(now)
        cutoff = _iso(now - REPORT_WINDOW)

        def write(db: Database) -> int:
            send_ids = [
                row[0]
                for row in db.execute(
                    "SELECT DISTINCT r.send_id FROM recipients r JOIN sends s "
                    "ON s.id = r.send_id WHERE s.created <= ? AND r.msg_id IS NOT NULL "
                    "AND r.state IN ('accepted', 'pending', 'scheduled')",
                    [cutoff],
                )
            ]
            changed = 0
            for send_id in send_ids:
                changed += db.execute(
                    "UPDATE recipients SET state = 'unknown', reason = ?, updated = ? "
                    "WHERE send_id = ? AND msg_id IS NOT NULL "
                    "AND state IN ('accepted', 'pending', 'scheduled')",
                    [EXPIRED_REASON, stamp, send_id],
                ).rowcount
                _enqueue(db, send_id, stamp)
            return changed

        return await self._writer.write(write)

    async def sends_since(self, user_id: str, since: datetime) -> list[str]:
        """When each of a user's sends since `since` was made, oldest first (rate limits)."""
        return await self._read(
            lambda db: [
                row[0]
                for row in db.execute(
                    "SELECT created FROM sends WHERE user_id = ? AND created > ? ORDER BY created",
                    [user_id, _iso(since)],
                )
            ]
        )

    async def due_escalations(self, timed_out_before: datetime) -> list[SendView]:
        """Pages with a recipient that failed, or is undelivered since before the timeout,
        and has not been escalated yet."""

        def read(db: Database) -> list[SendView]:
            rows = db.execute(
                "SELECT DISTINCT r.send_id FROM recipients r JOIN sends s ON s.id = r.send_id "
                "WHERE s.kind = 'page' AND r.escalated = 0 AND s.message_ts IS NOT NULL "
                "AND (r.state = 'failed' OR (r.state != 'delivered' AND s.created <= ?))",
                [_iso(timed_out_before)],
            ).fetchall()
            return [view for (send_id,) in rows if (view := _load_send(db, send_id))]

        return await self._read(read)

    async def mark_escalated(self, recipient_ids: Sequence[int], escalated: bool = True) -> None:
        """Marked before the alert is posted, so an alert is said at most once, never twice."""
        ids = list(recipient_ids)
        marks = ",".join("?" * len(ids))
        await self._writer.write(
            lambda db: db.execute(
                f"UPDATE recipients SET escalated = ? WHERE id IN ({marks})", [int(escalated), *ids]
            )
        )

    async def claim_retry(self, send_id: int) -> list[Recipient]:
        """The alerted, undelivered recipients of a page, marked retried in the same commit,
        so two clicks on "Retry failed" send once."""

        def write(db: Database) -> list[Recipient]:
            rows = list(
                db["recipients"].rows_where(
                    "send_id = ? AND escalated = 1 AND state != 'delivered'",
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
            return [_recipient(row) for row in rows]

        return await self._writer.write(write)

    async def outbox_version(self, send_id: int) -> int | None:
        def read(db: Database) -> int | None:
            row = db.execute("SELECT version FROM outbox WHERE send_id = ?", [send_id]).fetchone()
            return row[0] if row else None

        return await self._read(read)

    async def state_counts(self) -> dict[str, int]:
        return await self._read(
            lambda db: dict(
                db.execute("SELECT state, count(*) FROM recipients GROUP BY state").fetchall()
            )
        )

    async def ping(self) -> None:
        await self._read(lambda db: db.execute("SELECT 1").fetchone())


def _enqueue(db: Database, send_id: int, now: str) -> None:
    """Note that the send's message is behind, with a version no earlier row ever had.

    The version comes from a counter on the send that only grows: were it restarted with
    the outbox row, a round that read an old (send, version) could clear a newer change.
    """
    db.execute("UPDATE sends SET changes = changes + 1 WHERE id = ?", [send_id])
    db.execute(
        "INSERT INTO outbox (send_id, version, queued_at) "
        "SELECT id, changes, ? FROM sends WHERE id = ? "
        "ON CONFLICT (send_id) DO UPDATE SET version = excluded.version, attempts = 0, "
        "not_before = NULL",
        [now, send_id],
    )


def _apply_to_recipient(db: Database, report: Report, source: ReportSource, now: str) -> Outcome:
    row = db.execute(
        "SELECT id, send_id, state FROM recipients WHERE msg_id = ? AND mobile = ?",
        [report.msg_id, report.mobile],
    ).fetchone()
    if row is None:
        return "orphan"
    recipient_id, send_id, current = row
    incoming = classify(report, source)
    state, outcome = apply(State(current), incoming)
    if outcome == "applied":
        db["recipients"].update(
            recipient_id,
            {
                "state": state.value,
                "reason": failure_reason(report) if state == State.FAILED else None,
                "gw_status": report.status,
                "error_code": report.error_code,
                "report_time": report.timestamp,
                "updated": now,
            },
        )
        _enqueue(db, send_id, now)
    return outcome


def _record_report(
    db: Database, report: Report, body: str, source: ReportSource, now: str
) -> Outcome:
    outcome = _apply_to_recipient(db, report, source, now)
    # A plain INSERT: the hot path of the webhook, where sqlite-utils' per-call table
    # introspection costs more than the write itself (bench/webhook.py).
    db.execute(
        "INSERT INTO reports (received_at, source, msg_id, mobile, status, error_code, desc, "
        "timestamp, body, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            now,
            source,
            report.msg_id,
            report.mobile,
            report.status,
            report.error_code,
            report.desc,
            report.timestamp,
            body,
            outcome,
        ],
    )
    return outcome


def _apply_orphans(db: Database, msg_ids: list[str], now: str) -> None:
    """Reports that arrived before their send was stored are applied now, in arrival order."""
    if not msg_ids:
        return
    marks = ",".join("?" * len(msg_ids))
    rows = db.execute(
        f"SELECT id, msg_id, mobile, status, error_code, desc, timestamp, source FROM reports "
        f"WHERE outcome = 'orphan' AND msg_id IN ({marks}) ORDER BY id",
        msg_ids,
    ).fetchall()
    for report_id, msg_id, mobile, status, error_code, desc, timestamp, source in rows:
        report = Report(msg_id, mobile, status, error_code or "", desc or "", timestamp or "")
        outcome = _apply_to_recipient(db, report, source, now)
        db["reports"].update(report_id, {"outcome": outcome})


def _recipient(row: dict[str, Any]) -> Recipient:
    return Recipient(
        id=row["id"],
        mobile=row["mobile"],
        msg_id=row["msg_id"],
        state=State(row["state"]),
        reason=row["reason"],
        error_code=row["error_code"],
        report_time=row["report_time"],
        updated=row["updated"],
        announced=bool(row["announced"]),
        slack_user=row["slack_user"],
        escalated=int(row["escalated"]),
    )


def _load_send(db: Database, send_id: int) -> SendView | None:
    rows = list(db["sends"].rows_where("id = ?", [send_id]))
    if not rows:
        return None
    recipients = tuple(
        _recipient(r) for r in db["recipients"].rows_where("send_id = ?", [send_id], order_by="id")
    )
    return SendView(**rows[0], recipients=recipients)
