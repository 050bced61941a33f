"""Background loops never scan a whole table: SQLite's plan for each query they run.

The poller, the escalator and the notifier run their queries every few seconds for as long
as the bot lives, while `sends`, `recipients` and `reports` only grow. A query that reads a
whole one of them gets slower every day, so each query's plan is read here with `EXPLAIN
QUERY PLAN`, on the SQL the code runs (imported, never copied), against the schema the
migrations build. No `ANALYZE` is ever run, so the planner decides from the schema alone,
exactly as it does here.

Statements that find rows only by an INTEGER PRIMARY KEY (`WHERE id = ?`, `id IN (…)`)
cannot scan and are not listed.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from sms.delivery import State
from storage.alert_groups import GROUP_OF_SEND_SQL, OPEN_GROUP_SQL, PAGES_SINCE_SQL, UNSAID_SQL
from storage.inbox import OLDEST_SQL
from storage.outbox import ENQUEUE_MANY_SQL, ENQUEUE_SQL, PENDING_DUE_SQL, PENDING_SQL
from storage.pages import DUE_ESCALATIONS_SQL
from storage.polling import DUE_SQL, EXPIRE_RECIPIENT_SQL, EXPIRED_SQL, SCHEDULE_SQL
from storage.reports import (
    APPLY_SQL,
    OUTCOMES_SQL,
    RECIPIENTS_OF_SQL,
    TAKEN_SQL,
    orphans_sql,
)
from storage.retention import PRUNABLE_SQL
from storage.rows import SEND_RECIPIENTS_SQL, SEND_SQL
from storage.schema import migrations
from storage.sends import CREATED_SINCE_SQL
from storage.sent_by import RECENT_BY_SENDER_SQL

pytestmark = pytest.mark.sqlite_only("SQLite's query plans; the app is not run here")

GROWING = {"sends", "recipients", "reports", "alert_groups", "alert_notes"}
# The outbox holds one row per send whose channel message is behind, deleted once Slack has
# it: its size is the backlog of the moment, not the history, so reading it whole is fine.
SMALL = {"outbox"}

QUERIES = {
    "poller: who is due": DUE_SQL,
    "poller: recipients past the 30 days": EXPIRED_SQL,
    "poller: settle a recipient as unknown": EXPIRE_RECIPIENT_SQL,
    "poller: when to ask again": SCHEDULE_SQL,
    "poller and applier: the recipients of reports": RECIPIENTS_OF_SQL,
    "poller and applier: move recipients": APPLY_SQL,
    "applier: the oldest stored reports": OLDEST_SQL,
    "applier: take them from the inbox": TAKEN_SQL,
    "orphan reconciliation: their outcomes": OUTCOMES_SQL,
    "every change, many sends: count them": ENQUEUE_MANY_SQL[0],
    "every change, many sends: queue them": ENQUEUE_MANY_SQL[1],
    "escalator: pages due an alert": DUE_ESCALATIONS_SQL,
    "escalator and notifier: a send": SEND_SQL,
    "escalator and notifier: a send's recipients": SEND_RECIPIENTS_SQL,
    "notifier: the outbox": PENDING_SQL,
    "notifier: the outbox rows due": PENDING_DUE_SQL,
    "every change: count it": ENQUEUE_SQL[0],
    "every change: queue it": ENQUEUE_SQL[1],
    "orphan reconciliation: one msgId": orphans_sql(1),
    "orphan reconciliation: several msgIds": orphans_sql(3),
    "rate limit: a person's recent sends": CREATED_SINCE_SQL,
    "retention: the oldest finished sends": PRUNABLE_SQL,
    "alert worker: a group's open episode": OPEN_GROUP_SQL,
    "alert worker: an integration's pages this hour": PAGES_SINCE_SQL,
    "notifier: an alert page's group": GROUP_OF_SEND_SQL,
    "notifier: an alert page's notes not yet said": UNSAID_SQL,
    "App Home refresh: a person's latest sends": RECENT_BY_SENDER_SQL,
}
_NOT_ALIASES = {"WHERE", "JOIN", "ON", "SET", "ORDER", "GROUP", "LIMIT", "INNER", "LEFT", "CROSS"}


@pytest.fixture(scope="module")
def db() -> Database:
    built = Database(memory=True)
    migrations.apply(built)
    return built


def plan(db: Database, sql: str) -> list[str]:
    params = [None] * sql.count("?")
    return [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()]


def tables_by_name(sql: str) -> dict[str, str]:
    """Table names and aliases, as plans name them, to the table they stand for."""
    names = {}
    for table, alias in re.findall(
        r"\b(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?", sql
    ):
        names[table] = table
        if alias and alias.upper() not in _NOT_ALIASES:
            names[alias] = table
    return names


def is_partial(db: Database, index: str) -> bool:
    row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", [index])
    found = row.fetchone()
    return bool(found and found[0] and " WHERE " in found[0].upper())


def whole_table_reads(db: Database, sql: str) -> list[str]:
    """Plan steps that read all of a growing table, or all of an index on one.

    A scan of a partial index is not: it holds only the rows its WHERE names.
    """
    names = tables_by_name(sql)
    found = []
    for step in plan(db, sql):
        scan = re.match(r"SCAN (\w+)(?: USING (?:COVERING )?INDEX (\w+))?", step)
        if not scan:
            continue
        table = names.get(scan[1], scan[1])
        if table in SMALL:
            continue
        if table in GROWING and not (scan[2] and is_partial(db, scan[2])):
            found.append(step)
    return found


@pytest.mark.parametrize("sql", QUERIES.values(), ids=QUERIES.keys())
def test_no_background_query_reads_a_whole_growing_table(db: Database, sql: str) -> None:
    assert whole_table_reads(db, sql) == [], plan(db, sql)


@pytest.mark.parametrize("sql", [orphans_sql(1), orphans_sql(3)], ids=["one", "several"])
def test_orphan_reconciliation_looks_up_only_the_new_msg_ids(db: Database, sql: str) -> None:
    """Reports for msgIds that never become ours stay orphans for ever: a send must look up
    its own msgIds, not read every orphan ever kept."""
    steps = [s for s in plan(db, sql) if re.search(r"\breports\b", s)]
    assert steps and all("msg_id=?" in s for s in steps), steps


def test_the_check_sees_a_whole_table_read(db: Database) -> None:
    assert whole_table_reads(db, "SELECT id FROM recipients r WHERE r.reason = ?") == ["SCAN r"]
    assert whole_table_reads(db, "SELECT count(*) FROM sends") != []
    assert whole_table_reads(db, "SELECT id FROM reports WHERE msg_id = ?") == []
    assert whole_table_reads(db, "SELECT send_id FROM outbox") == []


PAGE_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["page", "send", "alert"]),
        st.sampled_from([None, "1.0"]),
        st.sampled_from([None, "U0ACK"]),
        st.integers(0, 3),
        st.lists(
            st.tuples(st.sampled_from([s.value for s in State]), st.integers(0, 2)), max_size=3
        ),
    ),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(PAGE_ROWS, st.integers(0, 3))
def test_pages_due_an_alert_are_those_the_escalator_promises(
    rows: list[tuple[str, str | None, str | None, int, list[tuple[str, int]]]], cutoff: int
) -> None:
    """A posted, unacknowledged page (typed or an alert's) with an unalerted recipient that
    failed, or is undelivered and went out by the cutoff: the query read from the pages'
    index finds exactly those."""
    db = Database(memory=True)
    migrations.apply(db)
    stamp = "2025-01-0{}T00:00:00.000+00:00".format
    expected = set()
    for send_id, (kind, ts, acked, day, recipients) in enumerate(rows, start=1):
        db["sends"].insert(
            {"id": send_id, "kind": kind, "message_ts": ts, "goes_out": stamp(day + 1)}
            | {"acked_by": acked}
        )
        for n, (state, escalated) in enumerate(recipients):
            db["recipients"].insert(
                {"send_id": send_id, "mobile": f"{n}", "state": state, "updated": stamp(1)}
                | {"escalated": escalated}
            )
            timed_out = state != "delivered" and day <= cutoff
            page = kind in ("page", "alert") and ts and not acked
            if page and not escalated and (state == "failed" or timed_out):
                expected.add(send_id)
    found = [row[0] for row in db.execute(DUE_ESCALATIONS_SQL, [stamp(cutoff + 1)])]
    assert found == sorted(expected)
