"""Opt-in: run the tests with the app on PostgreSQL (issue 13).

    pytest -p tests.on_postgres

Every DATABASE_PATH a test hands the app also gets a DATABASE_URL, the way a user
configures PostgreSQL: a fresh database of the session's real server (tests/postgres.py)
per path, created on first use, so a restart of the same system finds its data again and
a command a test runs against a system (`smsbot send`, `audit`, `serve`) reaches the same
database. The app reads it from its settings like any other: a LocalSystem's
`environment()` carries it, and so does the env of every command run through
`tests/stored.py with_database_url` (tests/cli.py `smsbot` does). A test that sets
DATABASE_URL itself keeps its own value. The databases are dropped when the test ends.

Tests whose subject is the SQLite file itself (its permissions, its one-process lock,
DATABASE_PATH problems, query plans) carry the `sqlite_only` marker and are skipped here,
with the marker's reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from standins.local import LocalSystem
from tests import stored

if TYPE_CHECKING:  # imported for real by conftest.py, as a plugin, before this module
    from tests.postgres import Cluster


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip what is about SQLite itself, saying why."""
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else "about the SQLite file itself"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(autouse=True)
def app_on_postgres(monkeypatch: pytest.MonkeyPatch, postgres_cluster: Cluster) -> Iterator[None]:
    """DATABASE_URL beside each DATABASE_PATH, for the app in-process and for commands."""
    databases: dict[str, str] = {}  # DATABASE_PATH → the URL of its PostgreSQL database

    def url_for(path: str) -> str:
        url = databases.get(path)
        if url is None:
            url = databases[path] = postgres_cluster.create_database()
        return url

    environment = LocalSystem.environment

    def with_url(system: LocalSystem) -> dict[str, str]:
        return stored.with_database_url(environment(system))

    monkeypatch.setattr(stored, "_postgres_for", url_for)
    monkeypatch.setattr(LocalSystem, "environment", with_url)
    yield
    for url in databases.values():
        postgres_cluster.drop_database(url)
