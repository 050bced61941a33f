"""Opt-in: run the tests with the in-process app on PostgreSQL (issue 13, in progress).

    pytest -p tests.on_postgres

Every app a test starts in-process (`standins/local.py` builds it with `server.app`) opens
a `PgStore` on a fresh database of the session's real PostgreSQL server instead of the
SQLite file; a restart of the same system gets the same database back. Commands a test
runs as subprocesses (`smsbot send`, `smsbot audit`, `smsbot serve`) still use SQLite.

Not part of CI yet. On 2026-11-26 it gave 1199 passed and 63 failed: every failure looked
at was a test reading the SQLite file directly to check what was stored, or a terminal
command writing to that file for an app now on PostgreSQL, or a test about the file
itself (its permissions, one process per file); none was the app misbehaving. Making
those checks backend-neutral is the next step before the suite runs on both in CI.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import pytest

import server.app
from bot.config import Settings
from storage.postgres.store import PgStore

if TYPE_CHECKING:  # imported for real by conftest.py, as a plugin, before this module
    from tests.postgres import Cluster

_databases: dict[str, str] = {}  # the SQLite path a system was given → its PostgreSQL URL


@pytest.fixture(autouse=True)
def app_on_postgres(monkeypatch: pytest.MonkeyPatch, postgres_cluster: Cluster) -> None:
    """`server.app` opens a PgStore where it would open the SQLite file."""

    async def open_database(settings: Settings, clock: Callable[[], datetime]) -> PgStore:
        path = settings.database_path
        url = _databases.get(str(path))
        if url is None:
            url = _databases[str(path)] = postgres_cluster.create_database()
        store = PgStore(url, clock)
        await store.open()
        return store

    monkeypatch.setattr(server.app, "open_database", open_database)
