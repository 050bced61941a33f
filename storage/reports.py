"""Delivery reports: logged with their raw body, and applied to their recipient.

A polled answer is logged and applied in one commit (`Reports.record`). A pushed report was
already stored and answered by the webhook (`storage/inbox.py`); `Reports.apply_inbox`
moves a chunk of them from the inbox to the log, applied, in one commit. A report for a
msgId we do not know yet is kept as an `orphan` and applied when its send is stored
(`apply_orphans`, called by `Sends.record`).

Every statement here takes a whole batch as one JSON array. The writer thread gives up the
GIL around each SQLite call and, while the event loop is busy with requests, waits to get
it back; so a batch costs a few calls, never a few per report.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

from sms.delivery import Outcome, Report, ReportSource, State, apply, classify, failure_reason
from sms.pushed import BadReport, parse_report
from storage.inbox import OLDEST_SQL
from storage.outbox import enqueue_many
from storage.rows import iso
from storage.store import Store

__all__ = [
    "APPLY_SQL",
    "LOG_SQL",
    "OUTCOMES_SQL",
    "RECIPIENTS_OF_SQL",
    "TAKEN_SQL",
    "Reports",
    "apply_orphans",
    "orphans_sql",
]

# The recipient of each report of the array [[msgId, mobile], …], by the report's index.
RECIPIENTS_OF_SQL = (
    "SELECT json_group_array(json_array(q.key, r.id, r.send_id, r.state)) "
    "FROM json_each(?) AS q JOIN recipients AS r "
    "ON r.msg_id = q.value ->> 0 AND r.mobile = q.value ->> 1"
)
# [[recipient id, state, reason, gw_status, error_code, report_time], …] and the time.
APPLY_SQL = (
    "UPDATE recipients SET state = c.value ->> 1, reason = c.value ->> 2, "
    "gw_status = c.value ->> 3, error_code = c.value ->> 4, report_time = c.value ->> 5, "
    "updated = ? FROM json_each(?) AS c WHERE recipients.id = c.value ->> 0"
)
# [[received_at, source, msgId, mobile, status, errorCode, desc, timestamp, body, outcome], …]
LOG_SQL = (
    "INSERT INTO reports (received_at, source, msg_id, mobile, status, error_code, desc, "
    "timestamp, body, outcome) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, "
    "value ->> 4, value ->> 5, value ->> 6, value ->> 7, value ->> 8, value ->> 9 "
    "FROM json_each(?) ORDER BY key"
)
# [[report id, outcome], …]
OUTCOMES_SQL = (
    "UPDATE reports SET outcome = o.value ->> 1 FROM json_each(?) AS o "
    "WHERE reports.id = o.value ->> 0"
)
TAKEN_SQL = "DELETE FROM inbox WHERE id IN (SELECT value FROM json_each(?))"

Pushed = tuple[str, Report, str]  # when it arrived, the report, its raw body

log = logging.getLogger(__name__)


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
            found = [report for report, _ in reports]
            outcomes = _apply(db, found, [source] * len(found), now)
            _log(db, [(now, r, body) for r, body in reports], source, outcomes)
            return outcomes

        return await self.store.write(write)

    async def apply_inbox(self, limit: int) -> tuple[list[Outcome], int]:
        """Apply the inbox's oldest `limit` reports in arrival order, log them and take them
        out of the inbox, in one commit; their outcomes, and how many still wait."""
        now = iso(self.store.clock())
        return await self.store.write(lambda db: apply_inbox(db, limit, now))


def apply_inbox(db: Database, limit: int, now: str) -> tuple[list[Outcome], int]:
    """See `Reports.apply_inbox`. Read in the same transaction as the rest, so a chunk is
    applied once even if two rounds overlap (the worker's last and the one at shutdown)."""
    found, newest = db.conn.execute(OLDEST_SQL, [limit]).fetchone()
    stored = json.loads(found)
    if not stored:
        return [], 0
    pushed: list[Pushed] = []
    for inbox_id, received_at, body in stored:
        try:
            pushed.append((received_at, parse_report(body.encode()), body))
        except BadReport as error:  # stored by a version that read bodies differently
            log.warning("stored report %d dropped, unreadable now: %s", inbox_id, error)
    outcomes = _apply(db, [report for _, report, _ in pushed], ["push"] * len(pushed), now)
    _log(db, pushed, "push", outcomes)
    db.conn.execute(TAKEN_SQL, [json.dumps([row[0] for row in stored])])
    return outcomes, newest - stored[-1][0]


def _apply(
    db: Database, reports: Sequence[Report], sources: Sequence[ReportSource], now: str
) -> list[Outcome]:
    """Apply the reports in order (two for one recipient, one after the other) and queue
    each send they changed once; each report's outcome."""
    keys = json.dumps([[r.msg_id, r.mobile] for r in reports])
    (found,) = db.conn.execute(RECIPIENTS_OF_SQL, [keys]).fetchone()
    recipient_of = {key: (rid, send_id, state) for key, rid, send_id, state in json.loads(found)}
    states: dict[int, str] = {}
    changed: dict[int, list[Any]] = {}
    touched: dict[int, None] = {}
    outcomes: list[Outcome] = []
    for key, (report, source) in enumerate(zip(reports, sources, strict=True)):
        if key not in recipient_of:
            outcomes.append("orphan")
            continue
        rid, send_id, state = recipient_of[key]
        new, outcome = apply(State(states.get(rid, state)), classify(report, source))
        outcomes.append(outcome)
        if outcome != "applied":
            continue
        states[rid] = new.value
        reason = failure_reason(report) if new == State.FAILED else None
        changed[rid] = [rid, new.value, reason, report.status, report.error_code, report.timestamp]
        touched[send_id] = None
    if changed:
        db.conn.execute(APPLY_SQL, [now, json.dumps(list(changed.values()))])
    enqueue_many(db, list(touched), now)
    return outcomes


def _log(
    db: Database,
    reports: Sequence[tuple[str, Report, str]],
    source: ReportSource,
    outcomes: Sequence[Outcome],
) -> None:
    """Each (arrival, report, raw body) in the report log with its outcome."""
    rows = [
        [at, source, r.msg_id, r.mobile, r.status, r.error_code, r.desc, r.timestamp, body, outcome]
        for (at, r, body), outcome in zip(reports, outcomes, strict=True)
    ]
    db.conn.execute(LOG_SQL, [json.dumps(rows)])


def apply_orphans(db: Database, msg_ids: list[str], now: str) -> None:
    """Reports that arrived before their send was stored are applied now, in arrival order."""
    if not msg_ids:
        return
    rows = db.execute(orphans_sql(len(msg_ids)), msg_ids).fetchall()
    if not rows:
        return
    reports = [
        Report(msg_id, mobile, status, error_code or "", desc or "", timestamp or "")
        for _, msg_id, mobile, status, error_code, desc, timestamp, _ in rows
    ]
    outcomes = _apply(db, reports, [row[7] for row in rows], now)
    marks = [[row[0], outcome] for row, outcome in zip(rows, outcomes, strict=True)]
    db.conn.execute(OUTCOMES_SQL, [json.dumps(marks)])
