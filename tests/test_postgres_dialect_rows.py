"""The statements that carry logic give the same rows on PostgreSQL as on SQLite.

Each test writes the same data to a SQLite file (storage.schema migrations) and to a fresh
PostgreSQL database (storage.postgres.schema), then runs the query modules' own functions
(`_apply`, `apply_inbox`, `enqueue_many`, retention's pruning, …) on both: on SQLite
as they are, on PostgreSQL through the adapter PgStore hands them (storage/postgres/database.py),
which looks each statement up with `storage.postgres.dialect.postgres`. The results and
the tables afterwards are compared row for row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlite_utils import Database

from sms.delivery import Report
from storage import retention
from storage.inbox import OLDEST_SQL, PUT_SQL
from storage.outbox import PENDING_DUE_SQL, PENDING_SQL, enqueue, enqueue_many
from storage.polling import DUE_SQL, EXPIRE_RECIPIENT_SQL, EXPIRED_SQL, REPORT_WINDOW
from storage.postgres.database import PgDatabase
from storage.postgres.schema import migrations as pg_migrations
from storage.reports import _apply, _log, apply_inbox, apply_orphans
from storage.rows import iso
from storage.schema import migrations as sqlite_migrations
from storage.writer import connect

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
TABLES = ("sends", "recipients", "reports", "outbox", "inbox", "alert_groups", "alert_notes")


class Pair:
    """The same database twice: SQLite and PostgreSQL."""

    def __init__(self, lite: Database, pg: psycopg.Connection) -> None:
        self.lite = lite
        self.pg = pg
        self.pg_db = PgDatabase(pg)

    def both(self, fn: Callable[[Any], Any]) -> tuple[Any, Any]:
        """Run `fn` on each in its own committed transaction; both results."""
        with self.lite.conn:
            on_sqlite = fn(self.lite)
        with self.pg.transaction():
            on_postgres = fn(self.pg_db)
        return on_sqlite, on_postgres

    def same(self, fn: Callable[[Any], Any]) -> Any:
        on_sqlite, on_postgres = self.both(fn)
        assert on_sqlite == on_postgres
        return on_sqlite

    def insert(self, table: str, rows: Sequence[dict[str, Any]]) -> list[int]:
        ids = []
        for row in rows:
            lite_id = self.lite[table].insert(row).last_pk
            with self.pg.transaction():
                pg_id = self.pg_db[table].insert(row).last_pk
            assert lite_id == pg_id, table
            ids.append(int(lite_id))
        return ids

    def assert_tables_alike(self, *tables: str) -> None:
        for table in tables or TABLES:
            sql = f"SELECT * FROM {table} ORDER BY 1"
            assert self.lite.execute(sql).fetchall() == self.pg.execute(sql).fetchall(), table


@pytest.fixture
def pair(postgres_url: str, tmp_path: Path) -> Iterator[Pair]:
    lite = connect(str(tmp_path / "lite.db"))
    sqlite_migrations.apply(lite)
    pg_migrations.apply(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as pg:
        yield Pair(lite, pg)
    lite.close()


def at(**delta: float) -> str:
    return iso(NOW + timedelta(**delta))


def send(channel: str = "C1", kind: str = "sms", **extra: Any) -> dict[str, Any]:
    row = {"team_id": "T1", "user_id": "U1", "channel_id": channel, "kind": kind}
    return {**row, "content": "hi", "created": at(days=-1), "goes_out": at(days=-1)} | extra


def recipient(send_id: int, msg_id: str | None, mobile: str, state: str, **extra: Any) -> dict:
    row = {"send_id": send_id, "msg_id": msg_id, "mobile": mobile, "state": state}
    return {**row, "updated": at(days=-1)} | extra


def test_report_batch_applies_logs_and_queues_alike(pair: Pair) -> None:
    s1, s2, s3 = pair.insert("sends", [send("C1"), send("C2"), send("")])
    pair.insert(
        "recipients",
        [
            recipient(s1, "101", "111", "accepted"),
            recipient(s1, "101", "222", "pending"),
            recipient(s2, "102", "333", "accepted"),
            recipient(s3, "103", "444", "accepted"),
            recipient(s2, "102", "555", "delivered"),
        ],
    )
    reports = [
        Report("101", "111", 0, "", "DELIVRD", "2026-03-31 11:00:00"),
        Report("101", "222", 1),
        Report("102", "333", 2, "E1", 'it "failed", é'),
        Report("102", "333", 0),  # after its failure: a final state stays
        Report("103", "444", 0),
        Report("109", "999", 0),  # no such recipient yet: kept as an orphan
        Report("102", "555", 2),
    ]
    now = at()

    def record(db: Any) -> list[str]:
        outcomes = _apply(db, reports, ["poll"] * len(reports), now)
        _log(db, [(now, r, json.dumps({"msgId": r.msg_id})) for r in reports], "poll", outcomes)
        return outcomes

    outcomes = pair.same(record)
    assert outcomes.count("orphan") == 1 and "applied" in outcomes
    pair.assert_tables_alike()
    # The orphan's send is stored now: its kept report is applied, and marked so.
    pair.insert("recipients", [recipient(s2, "109", "999", "accepted")])
    pair.same(lambda db: apply_orphans(db, ["109", "101"], at(minutes=1)))
    pair.assert_tables_alike()
    assert pair.lite.execute("SELECT count(*) FROM reports WHERE outcome = 'orphan'").fetchone()[
        0
    ] == (0)


def _body(msg_id: str, mobile: str, status: Any, **extra: str) -> str:
    return json.dumps({"msgId": msg_id, "mobile": mobile, "status": status, **extra})


def test_inbox_insert_and_oldest_chunk_alike(pair: Pair) -> None:
    (s1,) = pair.insert("sends", [send("C1")])
    pair.insert(
        "recipients",
        [recipient(s1, "201", "111", "accepted"), recipient(s1, "201", "222", "accepted")],
    )
    first = [_body("201", "111", 0), "not json at all", _body("201", "222", "2", desc='q"é ✓\\')]
    later = [_body("201", "111", 2), _body("777", "888", 0)]
    pair.same(lambda db: db.conn.execute(PUT_SQL, [at(), json.dumps(first)]).rowcount)
    pair.same(lambda db: db.conn.execute(PUT_SQL, [at(seconds=1), json.dumps(later)]).rowcount)
    pair.assert_tables_alike("inbox")

    def oldest(limit: int) -> Callable[[Any], tuple[Any, Any]]:
        def read(db: Any) -> tuple[Any, Any]:
            found, newest = db.conn.execute(OLDEST_SQL, [limit]).fetchone()
            return json.loads(found), newest

        return read

    chunk, newest = pair.same(oldest(4))
    assert [row[0] for row in chunk] == [1, 2, 3, 4] and newest == 5
    assert chunk[2][2] == first[2]
    assert pair.same(lambda db: apply_inbox(db, 3, at(minutes=1))) == (
        ["applied", "applied"],
        2,
    )
    assert pair.same(lambda db: apply_inbox(db, 3, at(minutes=2))) == (["conflict", "orphan"], 0)
    pair.assert_tables_alike()
    # An empty inbox reads as an empty array and no newest id on both, the same text.
    assert pair.same(lambda db: tuple(db.conn.execute(OLDEST_SQL, [3]).fetchone())) == ("[]", None)


def test_enqueue_many_counts_and_queues_alike(pair: Pair) -> None:
    s1, s2, s3, s4 = pair.insert("sends", [send("C1"), send("C2"), send(""), send("C4")])
    pair.same(lambda db: enqueue(db, s2, at(minutes=-5)))
    defer = "UPDATE outbox SET attempts = attempts + 1, not_before = ? WHERE send_id = ?"
    pair.same(lambda db: db.execute(defer, [at(minutes=5), s2]).rowcount)
    pair.same(lambda db: enqueue(db, s4, at()))  # queued before s1, at the same moment
    pair.same(lambda db: enqueue_many(db, [s1, s2, s3, s1], at()))  # s1 twice: once
    pair.same(lambda db: enqueue(db, s3, at()))  # no channel: counted, not queued
    pair.same(lambda db: enqueue_many(db, [], at()))
    pair.assert_tables_alike("sends", "outbox")
    rows = pair.lite.execute("SELECT send_id, version, attempts, not_before FROM outbox").fetchall()
    assert sorted(rows) == [(s1, 1, 0, None), (s2, 2, 0, None), (s4, 1, 0, None)]
    # A requeued row keeps its place (queued_at is not moved); s1 and s4 tie, in id order.
    assert pair.same(lambda db: db.execute(PENDING_SQL).fetchall()) == [
        (s2, 2, 0),
        (s1, 1, 0),
        (s4, 1, 0),
    ]
    pair.same(lambda db: db.execute(defer, [at(minutes=5), s1]).rowcount)
    assert pair.same(lambda db: db.execute(PENDING_DUE_SQL, [at()]).fetchall()) == [
        (s2, 2, 0),
        (s4, 1, 0),
    ]


def test_polling_due_and_expiry_alike(pair: Pair) -> None:
    old, recent, fresh, later = pair.insert(
        "sends",
        [
            send(goes_out=at(days=-40)),
            send(goes_out=at(days=-2)),
            send(goes_out=at(seconds=-30)),
            send(goes_out=at(days=2), send_at="2026-04-02 14:00", zone="Europe/Berlin"),
        ],
    )
    pair.insert(
        "recipients",
        [
            recipient(old, "301", "111", "accepted"),
            recipient(old, "301", "112", "delivered"),
            recipient(recent, "302", "221", "pending"),
            recipient(recent, "302", "222", "scheduled", next_poll=at(hours=1)),
            recipient(recent, "302", "223", "accepted", next_poll=at(hours=-1), polls=2),
            recipient(recent, None, "224", "accepted"),
            recipient(recent, "302", "225", "failed"),
            recipient(fresh, "303", "331", "accepted"),
            recipient(later, "304", "441", "scheduled"),
            recipient(old, "301", "113", "pending"),
        ],
    )
    window, after = at(days=-30), at(minutes=-1)
    due = pair.same(lambda db: db.execute(DUE_SQL, [window, after, at(), 10]).fetchall())
    assert [row[2] for row in due] == ["221", "223"]
    assert pair.same(lambda db: db.execute(DUE_SQL, [window, after, at(), 1]).fetchall()) == [
        due[0]
    ]
    expired = pair.both(lambda db: sorted(db.execute(EXPIRED_SQL, [window, 500]).fetchall()))
    assert expired[0] == expired[1] == [(1, old), (10, old)]

    def expire(db: Any) -> int:
        rows = db.execute(EXPIRED_SQL, [iso(NOW - REPORT_WINDOW), 500]).fetchall()
        db.conn.executemany(EXPIRE_RECIPIENT_SQL, [("too late", at(), rid) for rid, _ in rows])
        for send_id in sorted({send_id for _, send_id in rows}):
            enqueue(db, send_id, at())
        return len(rows)

    assert pair.same(expire) == 2
    pair.assert_tables_alike("recipients", "outbox", "sends")


def test_retention_prunes_alike(pair: Pair) -> None:
    old = at(days=-100)
    ids = pair.insert(
        "sends",
        [
            send(created=old),  # finished: pruned
            send(created=at(days=-200)),  # finished, older: pruned first
            send(created=old),  # a recipient still pending
            send(created=old),  # its message still behind (an outbox row)
            send(created=old, kind="alert"),  # its alert group still open
            send(created=old, kind="alert"),  # its group closed: pruned with its notes
            send(created=at(days=-1)),  # too new
            send(created=old, phase="calling"),  # its gateway call never answered
        ],
    )
    states = [
        *("delivered", "failed", "pending", "unknown", "delivered", "failed", "delivered"),
        "delivered",
    ]
    pair.insert(
        "recipients",
        [
            recipient(s, f"40{n}", f"5{n}", st)
            for n, (s, st) in enumerate(zip(ids, states, strict=True))
        ],
    )
    pair.same(lambda db: enqueue(db, ids[3], old))
    group = {"integration_id": 1, "integration": "x", "group_key": "g", "opened": old}
    pair.insert(
        "alert_groups",
        [
            {**group, "send_id": ids[4], "notice": "{}"},
            {**group, "send_id": ids[5], "notice": "{}", "closed": old},
        ],
    )
    pair.insert("alert_notes", [{"send_id": ids[5], "kind": "firing", "text": "t", "created": old}])
    report = {"source": "push", "mobile": "1", "status": 0, "outcome": "applied"}
    pair.insert(
        "reports",
        [
            {**report, "received_at": old, "msg_id": "400"},
            {**report, "received_at": old, "msg_id": "402"},
            {**report, "received_at": old, "msg_id": "999", "outcome": "orphan"},
            {**report, "received_at": at(), "msg_id": "998", "outcome": "orphan"},
        ],
    )
    (integration,) = pair.insert(
        "integrations",
        [{"team_id": "T1", "name": "i", "channel_id": "C", "recipients": "x", "token_hash": "h"}],
    )
    notice = {"integration_id": integration, "group_key": "g", "status": "firing", "notice": "{}"}
    pair.insert(
        "alert_notices",
        [{**notice, "received": old}, {**notice, "received": at()}, {**notice, "received": old}],
    )
    pair.same(lambda db: db.execute("UPDATE alert_notices SET done = 1 WHERE id = ?", [1]).rowcount)
    # An edit moves a row in PostgreSQL's heap: ties must not come out in heap order.
    edit = "UPDATE sends SET content = 'edited' WHERE id = ?"
    pair.same(lambda db: db.execute(edit, [ids[0]]).rowcount)
    cutoff = at(days=-30)
    prunable = pair.same(lambda db: db.execute(retention.PRUNABLE_SQL, [cutoff, 10]).fetchall())
    assert prunable == [(ids[1], 1), (ids[0], 1), (ids[5], 1)]
    while pair.same(lambda db: retention._prune_batch(db, cutoff)):
        pass
    pair.same(lambda db: retention._prune_orphans(db, cutoff))
    pair.assert_tables_alike(*TABLES, "alert_notices", "integrations")
    kept = pair.lite.execute("SELECT id FROM sends ORDER BY id").fetchall()
    assert [row[0] for row in kept] == [ids[2], ids[3], ids[4], ids[6], ids[7]]


def test_a_nul_in_a_report_field_is_where_the_two_differ(pair: Pair) -> None:
    """PostgreSQL's text cannot hold U+0000 (storage/postgres/dialect.py): SQLite's `->>`
    cuts the field at the NUL and logs the rest, PostgreSQL refuses the whole batch.
    Pinned so the adapter's author sees it."""
    report = Report("601", "111", 0, "", "a\x00b")
    pair.lite.conn.execute("BEGIN")
    _log(pair.lite, [(at(), report, "{}")], "push", ["orphan"])
    pair.lite.conn.commit()
    assert pair.lite.execute('SELECT "desc" FROM reports').fetchone() == ("a",)
    with pytest.raises(psycopg.DataError), pair.pg.transaction():
        _log(pair.pg_db, [(at(), report, "{}")], "push", ["orphan"])
