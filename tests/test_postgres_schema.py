"""The PostgreSQL history (storage/postgres/schema.py) makes what the SQLite one makes.

Both catalogs are read after their migrations and compared: tables, columns (order, type,
nullability, default), indexes (unique, columns, partial) and triggers. The few ways the
two may differ are listed here with their reasons, so a new difference is a failure to
look at rather than a surprise in production. The rest runs the real server
(tests/postgres.py): the triggers keep the same counts, replicas starting together apply
each migration once, and an older database is brought up to date.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from sqlite_utils import Database

from storage.postgres.migrations import LOCK_KEY, Migration, Migrations
from storage.postgres.schema import migrations as pg_migrations
from storage.schema import migrations as sqlite_migrations

# SQLite's declared types and the PostgreSQL types that mirror them.
TYPES = {"INTEGER": "bigint", "TEXT": "text"}
# Intended differences, left out of the comparison:
# - each dialect's record of applied migrations: sqlite-utils keeps every migration set in
#   `_sqlite_migrations`; ours is `_smsbot_migrations` (storage/postgres/migrations.py).
RECORD_TABLES = {"_sqlite_migrations", "_smsbot_migrations"}
# - a primary key's own index: PostgreSQL names it `<table>_pkey`; SQLite has none for an
#   INTEGER PRIMARY KEY (the rowid) and `sqlite_autoindex_*` for the others. Both exist
#   exactly when the key does, which the columns' comparison already covers.
# - a primary-key column counts as NOT NULL on both sides: PostgreSQL says so, SQLite's
#   `table_info` does not (an INTEGER PRIMARY KEY is the rowid, never null; the one text key,
#   `state_counts.state`, is only ever written from `recipients.state`, which is NOT NULL).
# - the triggers: SQLite's fire per row (`WHEN old.state IS NOT new.state`), PostgreSQL's per
#   statement over transition tables, one upsert per state moved, and on any UPDATE
#   (its m010 says why). The same names on the same table; test_state_counts_* checks that
#   they count alike.


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    default: str | None


@dataclass(frozen=True)
class Index:
    table: str
    unique: bool
    columns: tuple[str, ...]
    partial: bool


@dataclass(frozen=True)
class Catalog:
    tables: dict[str, list[Column]]
    indexes: dict[str, Index]
    triggers: dict[str, str]


def sqlite_catalog(db: Database) -> Catalog:
    tables: dict[str, list[Column]] = {}
    indexes: dict[str, Index] = {}
    names = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    for (table,) in names:
        if table in RECORD_TABLES:
            continue
        tables[table] = [
            Column(name, TYPES[declared], bool(not_null or pk), default)
            for _, name, declared, not_null, default, pk in db.execute(
                f"PRAGMA table_info('{table}')"
            ).fetchall()
        ]
        for _, name, unique, origin, partial in db.execute(f"PRAGMA index_list('{table}')"):
            if origin == "pk":
                continue
            info = db.execute(f"PRAGMA index_info('{name}')").fetchall()
            columns = tuple(column for _, _, column in sorted(info))
            indexes[name] = Index(table, bool(unique), columns, bool(partial))
    triggers = dict(db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"))
    return Catalog(tables, indexes, triggers)


def _pg_default(default: str | None) -> str | None:
    """`'done'::text` as SQLite writes it, `'done'`."""
    return None if default is None else re.sub(r"::[a-z ]+$", "", default)


def postgres_catalog(url: str) -> Catalog:
    tables: dict[str, list[Column]] = {}
    indexes: dict[str, Index] = {}
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name IN (SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE') "
            "ORDER BY table_name, ordinal_position"
        ).fetchall()
        for table, name, data_type, nullable, default in columns:
            if table not in RECORD_TABLES:
                column = Column(name, data_type, nullable == "NO", _pg_default(default))
                tables.setdefault(table, []).append(column)
        found = conn.execute(
            "SELECT i.relname, t.relname, x.indisunique, x.indpred IS NOT NULL, "
            "array(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY AS k(n, at) "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.at) "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace s ON s.oid = t.relnamespace "
            "WHERE s.nspname = 'public' AND NOT x.indisprimary"
        ).fetchall()
        for name, table, unique, partial, keys in found:
            indexes[name] = Index(table, unique, tuple(keys), partial)
        triggers = dict(
            conn.execute(
                "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal"
            ).fetchall()
        )
    return Catalog(tables, indexes, triggers)


def sqlite_migrated(count: int | None = None) -> Database:
    """An in-memory SQLite database after its first `count` migrations (all when None)."""
    db = Database(memory=True)
    names = [m.name for m in sqlite_migrations.pending(db)]
    stop = names[count] if count is not None and count < len(names) else None
    sqlite_migrations.apply(db, stop_before=stop)
    return db


def test_both_histories_name_the_same_migrations_in_the_same_order() -> None:
    assert pg_migrations.names == [m.name for m in sqlite_migrations.pending(Database(memory=True))]


def test_a_migrated_empty_database_has_the_tables_columns_indexes_and_triggers_of_sqlite(
    postgres_url: str,
) -> None:
    assert pg_migrations.apply(postgres_url) == pg_migrations.names
    expected, got = sqlite_catalog(sqlite_migrated()), postgres_catalog(postgres_url)
    assert sorted(got.tables) == sorted(expected.tables)
    for table, columns in expected.tables.items():
        assert got.tables[table] == columns, table
    assert got.indexes == expected.indexes
    assert got.triggers == expected.triggers


Execute = Callable[[str, Sequence[Any]], Any]

# Inserts and updates of recipients' states, one statement at a time, written with `?`.
STATE_CHANGES: list[tuple[str, Sequence[Any]]] = [
    (
        "INSERT INTO recipients (send_id, msg_id, mobile, state, updated) VALUES "
        "(1, 'm1', '+1', 'accepted', 't'), (1, 'm1', '+2', 'accepted', 't'), "
        "(1, 'm1', '+3', 'accepted', 't'), (1, 'm2', '+4', 'pending', 't'), "
        "(1, 'm2', '+5', 'pending', 't'), (1, NULL, '+6', 'scheduled', 't')",
        [],
    ),
    ("UPDATE recipients SET state = ? WHERE mobile = ?", ["delivered", "+1"]),
    ("UPDATE recipients SET state = 'pending' WHERE state IN ('pending', 'scheduled')", []),
    ("UPDATE recipients SET state = state", []),
    ("UPDATE recipients SET announced = 1 WHERE mobile > '+2'", []),
    (
        "UPDATE recipients SET state = CASE mobile WHEN '+2' THEN 'failed' "
        "WHEN '+3' THEN 'delivered' WHEN '+4' THEN 'accepted' ELSE state END",
        [],
    ),
    ("DELETE FROM recipients WHERE mobile IN ('+5', '+6')", []),
    (
        "INSERT INTO recipients (send_id, mobile, state, updated) VALUES (1, '+7', 'unknown', 't')",
        [],
    ),
    ("UPDATE recipients SET state = 'failed' WHERE mobile = '+1'", []),
    ("DELETE FROM recipients", []),
]

ONE_SEND = (
    "INSERT INTO sends (team_id, user_id, channel_id, kind, content, created) "
    "VALUES ('T', 'U', 'C', 'sms', 'hi', '2026-01-01T00:00:00.000+00:00')"
)


def test_state_counts_after_the_same_inserts_updates_and_deletes_match_sqlite(
    postgres_url: str,
) -> None:
    sqlite = sqlite_migrated()
    pg_migrations.apply(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        sqlite.execute(ONE_SEND)
        conn.execute(ONE_SEND)
        for sql, params in STATE_CHANGES:
            sqlite.execute(sql, params)
            conn.execute(sql.replace("?", "%s"), params)
            read = "SELECT state, n FROM state_counts ORDER BY state"
            expected = [tuple(row) for row in sqlite.execute(read).fetchall()]
            assert conn.execute(read).fetchall() == expected, sql
            live = (
                "SELECT state, count(*) FROM recipients GROUP BY state ORDER BY state",
                "SELECT state, n FROM state_counts WHERE n <> 0 ORDER BY state",
            )
            assert conn.execute(live[0]).fetchall() == conn.execute(live[1]).fetchall()


def test_five_replicas_migrating_at_once_apply_each_migration_exactly_once(
    postgres_url: str,
) -> None:
    start = threading.Barrier(5)

    def replica(_: int) -> list[str]:
        start.wait()
        return pg_migrations.apply(postgres_url)

    with ThreadPoolExecutor(5) as pool:
        runs = list(pool.map(replica, range(5)))
    # the first to take the lock applies everything; the others wait and find it done
    assert sorted(runs, key=len) == [[], [], [], [], pg_migrations.names]
    read = "SELECT name, applied_at FROM _smsbot_migrations ORDER BY applied_at, name"
    with psycopg.connect(postgres_url) as conn:
        records = conn.execute(read).fetchall()
    assert sorted(name for name, _ in records) == sorted(pg_migrations.names)
    catalog = postgres_catalog(postgres_url)

    assert pg_migrations.apply(postgres_url) == []
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute(read).fetchall() == records
    assert postgres_catalog(postgres_url) == catalog


def test_a_replica_waiting_for_the_migrations_goes_on_once_the_holder_s_session_ends(
    postgres_url: str,
) -> None:
    """A replica killed mid-run loses its lock with its connection: the others carry on."""
    holder = psycopg.connect(postgres_url, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(pg_migrations.apply, postgres_url)
        time.sleep(0.5)
        assert not waiting.done()
        holder.close()
        assert waiting.result(timeout=30) == pg_migrations.names


def test_a_failing_migration_leaves_neither_its_changes_nor_its_record(postgres_url: str) -> None:
    def half_done(conn: psycopg.Connection) -> None:
        conn.execute("CREATE TABLE half_done (id bigint)")
        raise RuntimeError("this step fails")

    def fixed(conn: psycopg.Connection) -> None:
        conn.execute("CREATE TABLE half_done (id bigint)")

    first = pg_migrations.first(2)
    failing = Migrations([*first.steps, Migration("m003_half_done", half_done)])
    with pytest.raises(RuntimeError, match="this step fails"):
        failing.apply(postgres_url)
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT to_regclass('half_done')").fetchone() == (None,)
        records = conn.execute("SELECT name FROM _smsbot_migrations ORDER BY name").fetchall()
    assert [name for (name,) in records] == first.names

    repaired = Migrations([*first.steps, Migration("m003_half_done", fixed)])
    assert repaired.apply(postgres_url) == ["m003_half_done"]


def _older_rows(execute: Execute) -> None:
    """Rows an older release wrote: only m001's columns, so any history can take them."""
    execute(ONE_SEND, [])
    execute(
        "INSERT INTO sends (team_id, user_id, channel_id, kind, content, send_at, zone, "
        "created) VALUES ('T', 'U', 'C', 'sms', 'later', ?, ?, ?), "
        "('T', 'U', 'C', 'sms', 'unreadable', ?, ?, ?)",
        [
            *("2026-07-01 09:00", "Europe/Berlin", "2026-06-30T12:00:00.000+00:00"),
            *("tomorrow", "Europe/Berlin", "2026-06-30T12:00:01.000+00:00"),
        ],
    )
    execute(STATE_CHANGES[0][0], [])
    execute("UPDATE recipients SET state = 'delivered' WHERE mobile = '+1'", [])
    execute("INSERT INTO outbox (send_id, version, queued_at) VALUES (1, 3, 'q')", [])


@pytest.mark.parametrize("older", [1, 4, 9, 15])
def test_a_database_migrated_by_an_older_history_is_brought_up_to_date(
    postgres_url: str, older: int
) -> None:
    sqlite = sqlite_migrated(older)
    pg_migrations.first(older).apply(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        _older_rows(sqlite.execute)
        _older_rows(lambda sql, params: conn.execute(sql.replace("?", "%s"), params))

    assert pg_migrations.apply(postgres_url) == pg_migrations.names[older:]
    sqlite_migrations.apply(sqlite)

    assert postgres_catalog(postgres_url) == sqlite_catalog(sqlite)
    with psycopg.connect(postgres_url) as conn:
        for table, key in [
            ("sends", "id"),
            ("recipients", "id"),
            ("outbox", "send_id"),
            ("state_counts", "state"),
            ("low_balance", "id"),
        ]:
            read = f"SELECT * FROM {table} ORDER BY {key}"
            expected = [tuple(row) for row in sqlite.execute(read).fetchall()]
            assert conn.execute(read).fetchall() == expected, table
        applied = conn.execute("SELECT name FROM _smsbot_migrations").fetchall()
    assert sorted(name for (name,) in applied) == sorted(pg_migrations.names)
