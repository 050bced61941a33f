"""Run the tests with the app on PostgreSQL: the second half of the README's test command.

    pytest -p tests.on_postgres

Every DATABASE_PATH a test hands the app also gets a DATABASE_URL, the way a user
configures PostgreSQL: a fresh database of the session's real server (tests/postgres.py)
per path, created on first use, so a restart of the same system finds its data again and
a command a test runs against a system (`smsbot send`, `audit`, `serve`) reaches the same
database. The app reads it from its settings like any other: a LocalSystem's
`environment()` carries it, and so does the env of every command run through
`tests/stored.py with_database_url` (tests/cli.py `smsbot` does). A test that sets
DATABASE_URL itself keeps its own value. A test's databases are dropped when it ends.

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


class _Databases:
    """One PostgreSQL database per DATABASE_PATH, made on first use."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.urls: dict[str, str] = {}

    def url_for(self, path: str) -> str:
        url = self.urls.get(path)
        if url is None:
            url = self.urls[path] = self.cluster.create_database()
        return url


@pytest.fixture(scope="session", autouse=True)
def app_on_postgres(postgres_cluster: Cluster) -> Iterator[_Databases]:
    """DATABASE_URL beside each DATABASE_PATH, for the app in-process and for commands.

    Session-wide, so that a system a module-scoped fixture starts (test_fuzz_endpoints)
    is on PostgreSQL too: such fixtures are set up before any test's own fixtures.
    """
    databases = _Databases(postgres_cluster)
    environment = LocalSystem.environment

    def with_url(system: LocalSystem) -> dict[str, str]:
        return stored.with_database_url(environment(system))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stored, "_postgres_for", databases.url_for)
        patch.setattr(LocalSystem, "environment", with_url)
        yield databases


@pytest.fixture(autouse=True)
def drop_databases(app_on_postgres: _Databases) -> Iterator[None]:
    """Drop the databases made during a test once its systems have stopped; those a wider
    fixture made before the test began stay for the tests after it."""
    before = set(app_on_postgres.urls)
    yield
    for path in set(app_on_postgres.urls) - before:
        app_on_postgres.cluster.drop_database(app_on_postgres.urls.pop(path))
