"""The Store's promises: writes are committed before they return, and one bad write fails alone."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.escalation import needs_alert
from storage import DatabaseInUse, Pages, Polling, Store
from storage.polling import EXPIRE_BATCH
from storage.postgres.store import PgStore
from storage.schema import migrations


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = Store(tmp_path / "s.db", lambda: datetime.now(UTC))
    await opened.open()
    yield opened
    await opened.close()


def insert(value: str):  # type: ignore[no-untyped-def]
    def write(db: Database) -> str:
        db.execute("INSERT INTO contacts (team_id, name, members) VALUES ('T', ?, '{}')", [value])
        return value

    return write


def explode(db: Database) -> None:
    db.execute("INSERT INTO contacts (team_id, name, members) VALUES ('T', 'bad', '{}')")
    raise ValueError("this write fails")


async def forty_writes_around_one_that_fails(store: Store | PgStore) -> set[str]:
    """Forty good writes and a bad one in their middle, at once: only the bad one fails.
    The names the good ones wrote, which the caller checks are all there."""
    results = await asyncio.gather(
        *(store.write(insert(f"c{n}")) for n in range(20)),
        store.write(explode),
        *(store.write(insert(f"d{n}")) for n in range(20)),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and str(errors[0]) == "this write fails"
    return {f"c{n}" for n in range(20)} | {f"d{n}" for n in range(20)}


async def test_a_failing_write_fails_alone_and_its_neighbours_commit(
    store: Store, tmp_path: Path
) -> None:
    written = await forty_writes_around_one_that_fails(store)
    names = {
        row[0] for row in sqlite3.connect(tmp_path / "s.db").execute("SELECT name FROM contacts")
    }
    assert names == written


async def test_a_write_is_on_disk_when_it_returns(store: Store, tmp_path: Path) -> None:
    await store.write(insert("durable"))
    other = sqlite3.connect(tmp_path / "s.db")
    assert other.execute("SELECT count(*) FROM contacts WHERE name = 'durable'").fetchone() == (1,)


async def test_a_second_store_on_the_same_file_is_refused(store: Store, tmp_path: Path) -> None:
    second = Store(tmp_path / "s.db", lambda: datetime.now(UTC))
    with pytest.raises(DatabaseInUse, match="in use by another smsbot"):
        await second.open()


async def test_reopening_applies_no_migration_twice(tmp_path: Path) -> None:
    for _ in range(2):
        store = Store(tmp_path / "r.db", lambda: datetime.now(UTC))
        await store.open()
        await store.close()
    rows = (
        sqlite3.connect(tmp_path / "r.db")
        .execute("SELECT name, count(*) FROM _sqlite_migrations GROUP BY name")
        .fetchall()
    )
    assert len(rows) == len(migrations.pending(Database(memory=True))) and all(
        count == 1 for _, count in rows
    )


async def test_sends_stored_before_the_upgrade_count_from_their_send_time(tmp_path: Path) -> None:
    """A page scheduled before pages were refused `--at`, stored without `goes_out`: after
    the migration its timeout and its polling start at 09:00 Shanghai (01:00 UTC), not at
    the command; a page sent at once still counts from its command."""
    path = tmp_path / "old.db"
    old = Database(path)
    migrations.apply(old, stop_before="m005_send_time")
    typed = "2025-01-10T08:00:00.000+00:00"
    page = {"team_id": "T", "user_id": "U", "channel_id": "C", "kind": "page", "content": "hi"}
    posted = {"created": typed, "message_channel": "C", "message_ts": "1.0"}
    old["sends"].insert_all(
        [
            {"id": 1, **page, **posted, "send_at": "2025-01-13 09:00", "zone": "Asia/Shanghai"},
            {"id": 2, **page, **posted},
        ]
    )
    old["recipients"].insert_all(
        {"send_id": n, "msg_id": f"{n}", "mobile": "2348031000017", "state": s, "updated": typed}
        for n, s in ((1, "scheduled"), (2, "accepted"))
    )
    old.close()
    goes_out = datetime(2025, 1, 13, 1, 0, tzinfo=UTC)
    store = Store(path, lambda: goes_out)
    await store.open()
    try:
        pages, polling = Pages(store), Polling(store)
        before = goes_out - timedelta(minutes=1)
        due = await pages.due_escalations(before)
        alerted = {s.id for s in due if any(needs_alert(r, s, before) for r in s.recipients)}
        assert alerted == {2}
        assert {s.id for s in await pages.due_escalations(goes_out)} == {1, 2}
        after = timedelta(minutes=5)
        polled = await polling.due(goes_out + after - timedelta(seconds=1), after, 10)
        assert [t.msg_id for t in polled] == ["2"]
        assert {t.msg_id for t in await polling.due(goes_out + after, after, 10)} == {"1", "2"}
    finally:
        await store.close()


async def test_expiry_settles_a_large_backlog_in_short_writes(store: Store) -> None:
    """Past the 30 days every open recipient becomes unknown, each send queued once, and no
    single write settles more than EXPIRE_BATCH of them (the writer is never held long)."""
    await expiry_settles_a_backlog_in_short_writes(store)


async def expiry_settles_a_backlog_in_short_writes(store: Store | PgStore) -> None:
    """The expiry test's body, for the SQLite Store and PgStore alike."""
    old = "2025-01-01T00:00:00.000+00:00"

    def fill(db: Database) -> None:
        send = {"team_id": "T", "user_id": "U", "channel_id": "C", "kind": "send", "content": "x"}
        db["sends"].insert_all(
            {"id": n, **send, "created": old, "goes_out": old} for n in range(1, 4)
        )
        db["recipients"].insert_all(
            {
                "send_id": 1 + n % 3,
                "msg_id": f"m{n % 3}",
                "mobile": f"234803{n:07d}",
                "state": "delivered" if n % 10 == 0 else "accepted",
                "updated": old,
            }
            for n in range(1500)
        )

    await store.write(fill)
    settled_per_write: list[int] = []
    write = store.write

    async def counting(step):  # type: ignore[no-untyped-def]
        result = await write(step)
        if isinstance(result, int):
            settled_per_write.append(result)
        return result

    store.write = counting  # type: ignore[method-assign]
    polling = Polling(store)  # type: ignore[arg-type]
    assert await polling.expire_unreported(datetime(2025, 3, 1, tzinfo=UTC)) == 1350
    assert max(settled_per_write) <= EXPIRE_BATCH and len(settled_per_write) >= 3
    counts = await store.read(
        lambda db: dict(db.execute("SELECT state, count(*) FROM recipients GROUP BY state"))
    )
    assert counts == {"unknown": 1350, "delivered": 150}
    queued = await store.read(lambda db: [r[0] for r in db.execute("SELECT send_id FROM outbox")])
    assert sorted(queued) == [1, 2, 3]
