"""Delivery reports: logged with their raw body, and applied to their recipient.

A pushed report and a polled answer take the same path, in one commit per batch. A
report for a msgId we do not know yet is kept as an `orphan` and applied when its send
is stored (`apply_orphans`, called by `Sends.record`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlite_utils import Database

from sms.delivery import Outcome, Report, ReportSource, State, apply, classify, failure_reason
from storage.outbox import enqueue
from storage.rows import iso
from storage.store import Store

__all__ = [
    "APPLY_SQL",
    "RECIPIENT_OF_REPORT_SQL",
    "Reports",
    "apply_orphans",
    "apply_report",
    "orphans_sql",
]

RECIPIENT_OF_REPORT_SQL = (
    "SELECT id, send_id, state FROM recipients WHERE msg_id = ? AND mobile = ?"
)


# Plain statements on the sqlite3 connection on the webhook's hot path: sqlite-utils'
# Table.update reads the table's schema and the row again on every call (a quarter of the
# webhook's time), and even its execute() wrapper costs a few microseconds a statement.
APPLY_SQL = (
    "UPDATE recipients SET state = ?, reason = ?, gw_status = ?, error_code = ?, "
    "report_time = ?, updated = ? WHERE id = ?"
)


def orphans_sql(msg_ids: int) -> str:
    """The kept reports of `msg_ids` msgIds that came before their send, in arrival order."""
    marks = ",".join("?" * msg_ids)
    return (
        "SELECT id, msg_id, mobile, status, error_code, desc, timestamp, source FROM reports "
        f"WHERE outcome = 'orphan' AND msg_id IN ({marks}) ORDER BY id"
    )


class Reports:
    """The report log and what it does to recipients."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(
        self, reports: Sequence[tuple[Report, str]], source: ReportSource
    ) -> list[Outcome]:
        """Log each report (with its raw body) and apply it to its recipient, in one commit."""
        now = iso(self.store.clock())

        def write(db: Database) -> list[Outcome]:
            return [_record_report(db, report, body, source, now) for report, body in reports]

        return await self.store.write(write)


def apply_report(db: Database, report: Report, source: ReportSource, now: str) -> Outcome:
    """Move the report's recipient to its new state, if the rules allow; queue the update."""
    row = db.conn.execute(RECIPIENT_OF_REPORT_SQL, [report.msg_id, report.mobile]).fetchone()
    if row is None:
        return "orphan"
    recipient_id, send_id, current = row
    incoming = classify(report, source)
    state, outcome = apply(State(current), incoming)
    if outcome == "applied":
        db.conn.execute(
            APPLY_SQL,
            [
                state.value,
                failure_reason(report) if state == State.FAILED else None,
                report.status,
                report.error_code,
                report.timestamp,
                now,
                recipient_id,
            ],
        )
        enqueue(db, send_id, now)
    return outcome


def _record_report(
    db: Database, report: Report, body: str, source: ReportSource, now: str
) -> Outcome:
    outcome = apply_report(db, report, source, now)
    # A plain INSERT: the hot path of the webhook, where sqlite-utils' per-call table
    # introspection costs more than the write itself (bench/webhook.py).
    db.conn.execute(
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


def apply_orphans(db: Database, msg_ids: list[str], now: str) -> None:
    """Reports that arrived before their send was stored are applied now, in arrival order."""
    if not msg_ids:
        return
    rows = db.execute(orphans_sql(len(msg_ids)), msg_ids).fetchall()
    for report_id, msg_id, mobile, status, error_code, desc, timestamp, source in rows:
        report = Report(msg_id, mobile, status, error_code or "", desc or "", timestamp or "")
        outcome = apply_report(db, report, source, now)
        db.execute("UPDATE reports SET outcome = ? WHERE id = ?", [outcome, report_id])
