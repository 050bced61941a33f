"""The Store's promises: writes are committed before they return, and one bad write fails alone."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import DatabaseInUse, Store
from storage.schema import migrations


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = Store(tmp_path / "s.db", lambda: datetime.now(UTC))
    await opened.open()
    yield opened
    await opened.close()


def insert(value: str):
    def write(db: Database) -> str:
        db.execute("INSERT INTO contacts (team_id, name, members) VALUES ('T', ?, '{}')", [value])
        return value

    return write


def explode(db: Database) -> None:
    db.execute("INSERT INTO contacts (team_id, name, members) VALUES ('T', 'bad', '{}')")
    raise ValueError("this write fails")


async def test_a_failing_write_fails_alone_and_its_neighbours_commit(
    store: Store, tmp_path: Path
) -> None:
    results = await asyncio.gather(
        *(store.write(insert(f"c{n}")) for n in range(20)),
        store.write(explode),
        *(store.write(insert(f"d{n}")) for n in range(20)),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and str(errors[0]) == "this write fails"
    names = {
        row[0] for row in sqlite3.connect(tmp_path / "s.db").execute("SELECT name FROM contacts")
    }
    assert names == {f"c{n}" for n in range(20)} | {f"d{n}" for n in range(20)}


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
