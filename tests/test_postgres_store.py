"""PgStore keeps the SQLite Store's promises, against the real server (tests/postgres.py).

Mirrored from tests/test_storage.py: a failing write fails alone, a write is committed when
it returns, reopening applies no migration twice, expiry settles a backlog in short writes.
Not mirrored, being about the SQLite file: a second Store on the same file is refused (an
OS lock on the file; on PostgreSQL a second Store is a replica, welcome, and tested below
writing at once with the first), and sends stored before the m005 upgrade (a SQLite file
of the old history, upgraded by sqlite-utils; the PostgreSQL history's upgrades are
tests/test_postgres_schema.py's). Then what replicas add: two Stores on one database lose
no write, and a query module's functions run unchanged on both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import psycopg
import pytest
from sqlite_utils.db import NotFoundError

from storage.confirmations import Confirmations, PendingConfirmation
from storage.contacts import Contacts
from storage.postgres.database import PgDatabase
from storage.postgres.dialect import NoPostgresForm, to_postgres
from storage.postgres.dialect import postgres as module_text
from storage.postgres.schema import migrations
from storage.postgres.store import MAX_ATTEMPTS, PgStore
from tests.test_storage import (
    expiry_settles_a_backlog_in_short_writes,
    forty_writes_around_one_that_fails,
    insert,
)

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def modules_then_ours(sql: str) -> str:
    """The query modules' statements as the bot runs them, these tests' own by the lenient
    rule (the bot's translation refuses a statement it does not know)."""
    try:
        return module_text(sql)
    except NoPostgresForm:
        return to_postgres(sql)


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[PgStore]:
    opened = PgStore(postgres_url, lambda: NOW, translate=modules_then_ours)
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
async def replicas(postgres_url: str) -> AsyncIterator[tuple[PgStore, PgStore]]:
    """Two Stores on one database, as two replicas' processes would have."""
    pair = (
        PgStore(postgres_url, lambda: NOW, translate=modules_then_ours),
        PgStore(postgres_url, lambda: NOW, translate=modules_then_ours),
    )
    await asyncio.gather(*(one.open() for one in pair))
    yield pair
    await asyncio.gather(*(one.close() for one in pair))


def names(url: str) -> set[str]:
    """The contacts' names, as another session sees them."""
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM contacts")}


async def test_a_failing_write_fails_alone_and_its_neighbours_commit(
    store: PgStore, postgres_url: str
) -> None:
    written = await forty_writes_around_one_that_fails(store)
    assert names(postgres_url) == written


async def test_a_write_is_committed_and_flushed_when_it_returns(
    store: PgStore, postgres_url: str
) -> None:
    setting = await store.write(lambda db: db.execute("SHOW synchronous_commit").fetchone()[0])
    assert setting == "on"
    await store.write(insert("durable"))
    assert names(postgres_url) == {"durable"}


async def test_reopening_applies_no_migration_twice(postgres_url: str) -> None:
    for _ in range(2):
        store = PgStore(postgres_url, lambda: NOW, translate=modules_then_ours)
        await store.open()
        await store.close()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT name FROM _smsbot_migrations ORDER BY applied_at").fetchall()
    assert [name for (name,) in rows] == migrations.names


async def test_expiry_settles_a_large_backlog_in_short_writes(store: PgStore) -> None:
    """As on SQLite (the same body): past the 30 days every open recipient becomes unknown,
    each send queued once, and no single write settles more than EXPIRE_BATCH of them."""
    await expiry_settles_a_backlog_in_short_writes(store)


async def test_the_event_loop_runs_while_the_database_works(store: PgStore) -> None:
    """A write and a read held 0.3 s each on the server: the loop keeps ticking meanwhile."""
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    await asyncio.gather(
        store.write(lambda db: db.execute("SELECT pg_sleep(0.3)").fetchone()),
        store.read(lambda db: db.execute("SELECT pg_sleep(0.3)").fetchone()),
    )
    elapsed = time.monotonic() - started
    ticker.cancel()
    assert elapsed < 0.55  # the two ran at once, on their own threads
    assert ticks >= 15


async def test_a_read_sees_committed_writes_and_cannot_write(store: PgStore) -> None:
    await store.write(insert("seen"))
    found = await store.read(lambda db: db.execute("SELECT name FROM contacts").fetchall())
    assert found == [("seen",)]
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        await store.read(insert("sneaked"))
    await store.ping()


async def test_two_replicas_writing_at_once_lose_nothing(
    replicas: tuple[PgStore, PgStore], postgres_url: str
) -> None:
    """Each replica inserts its own rows and both bump one counter by read-then-write, the
    pattern the query modules use: SERIALIZABLE with retries keeps every increment."""
    first, second = replicas
    await first.write(lambda db: db.execute("CREATE TABLE counter (n bigint NOT NULL)"))
    await first.write(lambda db: db.execute("INSERT INTO counter VALUES (0)"))

    def bump_and_insert(name: str):  # type: ignore[no-untyped-def]
        def write(db: PgDatabase) -> None:
            (n,) = db.execute("SELECT n FROM counter").fetchone()
            db.execute("UPDATE counter SET n = ?", [n + 1])
            insert(name)(db)

        return write

    await asyncio.gather(
        *(
            one.write(bump_and_insert(f"{tag}{n}"))
            for n in range(60)
            for tag, one in (("a", first), ("b", second))
        )
    )
    assert await second.read(lambda db: db.execute("SELECT n FROM counter").fetchone()) == (120,)
    assert names(postgres_url) == {f"{tag}{n}" for n in range(60) for tag in "ab"}


async def test_a_query_module_runs_unchanged_on_both_replicas(
    replicas: tuple[PgStore, PgStore],
) -> None:
    """Contacts and Confirmations as the bot calls them (their SQL needs no dialect entry);
    two presses on two replicas claim a confirmation once."""
    first, second = replicas
    mine, theirs = Contacts(first, lambda: NOW), Contacts(second, lambda: NOW)  # type: ignore[arg-type]
    assert await mine.save("T", "Ops", ["+2348031000017"], ["U1"], [], "U1") is True
    assert await theirs.save("T", "ops", ["+2348031000018"], [], ["S1"], "U2") is False
    saved = (await mine.get("T", ["OPS"]))["ops"]
    assert (saved.numbers, saved.groups, saved.created_by) == (("+2348031000018",), ("S1",), "U1")
    assert await theirs.names("T") == {"ops"} and [c.name for c in await mine.all("T")] == ["ops"]
    assert await theirs.remove("T", "ops") is True and await mine.remove("T", "ops") is False

    asks = Confirmations(first), Confirmations(second)  # type: ignore[arg-type]
    pending = PendingConfirmation("T", "U1", "C1", '{"to": ["+2348031000017"]}')
    ids = [await asks[n % 2].add(pending, NOW) for n in range(4)]
    assert ids == sorted(set(ids))
    for confirmation_id in ids:
        claims = await asyncio.gather(
            *(
                asks[n % 2].claim(confirmation_id, "U1", datetime(2025, 1, 1, tzinfo=UTC))
                for n in range(6)
            )
        )
        assert sorted(c.outcome for c in claims) == ["claimed"] + ["sent"] * 5
        assert [c.pending for c in claims if c.outcome == "claimed"] == [pending]
    assert (await asks[1].claim(ids[0], "U2", NOW)).outcome == "not_yours"
    assert (await asks[0].claim(10**9, "U1", NOW)).outcome == "gone"


async def test_a_statement_in_the_dialect_runs_as_its_postgresql_text(postgres_url: str) -> None:
    sqlite = "SELECT group_concat(name, ',') FROM (SELECT name FROM contacts ORDER BY name)"
    postgres = "SELECT string_agg(name, ',') FROM (SELECT name FROM contacts ORDER BY name) t"
    known = {sqlite: postgres}
    store = PgStore(
        postgres_url, lambda: NOW, translate=lambda sql: known.get(sql) or to_postgres(sql)
    )
    await store.open()
    try:
        await store.write(insert("b"))
        await store.write(insert("a"))
        assert await store.read(lambda db: db.execute(sqlite).fetchone()) == ("a,b",)
    finally:
        await store.close()


def test_placeholders_change_outside_quotes_and_every_percent_doubles() -> None:
    assert to_postgres("SELECT '?%', \"a?\", ? -- why?\nWHERE x LIKE 'a%' AND y = ?") == (
        "SELECT '?%%', \"a?\", %s -- why?\nWHERE x LIKE 'a%%' AND y = %s"
    )


async def test_the_table_calls_and_cursors_behave_as_sqlite_utils(store: PgStore) -> None:
    def write(db: PgDatabase) -> list[object]:
        seen: list[object] = []
        row = {"team_id": "T", "name": "x", "members": {"numbers": []}, "created": "t0"}
        seen.append(db["contacts"].insert(row).last_pk)
        cursor = db.execute("INSERT INTO contacts (team_id, name, members) VALUES ('T', 'y', '{}')")
        seen.append(cursor.lastrowid)
        db["contacts"].update(seen[0], {"name": "x2"})
        with pytest.raises(NotFoundError):
            db["contacts"].update(10**9, {"name": "none"})
        with pytest.raises(psycopg.errors.UniqueViolation), db.atomic():
            db.execute("INSERT INTO contacts (team_id, name, members) VALUES ('T', 'y', '{}')")
        seen.append(list(db["contacts"].rows_where("name LIKE ?", ["x%"], select="name, members")))
        seen.append(db.execute("DELETE FROM contacts WHERE name = 'y'").rowcount)
        seen.append(db.execute("SELECT name FROM contacts WHERE name = 'none'").fetchone())
        seen.append(list(db.query("SELECT name, created FROM contacts")))
        return seen

    first, second, rows, deleted, missing, queried = await store.write(write)
    assert isinstance(first, int) and second == first + 1
    assert rows == [{"name": "x2", "members": '{"numbers": []}'}]
    assert (deleted, missing) == (1, None)
    assert queried == [{"name": "x2", "created": "t0"}]


async def test_only_a_lost_race_runs_again_and_only_so_often(
    store: PgStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A serialization failure is retried up to MAX_ATTEMPTS runs, then raised; any other
    error is the write's own and fails it at once."""
    monkeypatch.setattr("storage.postgres.store.LONGEST_PAUSE", 0.001)
    runs = {"raced": 0, "broken": 0}

    def raced(db: PgDatabase) -> None:
        runs["raced"] += 1
        db.execute("SELECT 1")
        raise psycopg.errors.SerializationFailure("lost a race")

    def broken(db: PgDatabase) -> None:
        runs["broken"] += 1
        db.execute("SELECT * FROM no_such_table")

    with pytest.raises(psycopg.errors.SerializationFailure):
        await store.write(raced)
    with pytest.raises(psycopg.errors.UndefinedTable):
        await store.write(broken)
    assert runs == {"raced": MAX_ATTEMPTS, "broken": 1}


async def test_named_parameters_are_refused_not_misread(store: PgStore) -> None:
    with pytest.raises(TypeError, match="named parameters"):
        await store.read(lambda db: db.execute("SELECT :n", {"n": 1}).fetchone())
