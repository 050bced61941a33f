"""Fixtures that start the real bot with the gateway simulator and the Slack stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from bot.clock import Clock
from standins.gateway_simulator import SimulatorConfig
from standins.local import LocalSystem

# The real PostgreSQL server's fixtures (postgres_cluster, postgres_url).
pytest_plugins = ["tests.postgres"]

SystemFactory = Callable[..., Awaitable[LocalSystem]]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sqlite_only(reason): about the SQLite file itself; "
        "skipped when the app runs on PostgreSQL (tests/on_postgres.py)",
    )


@pytest.fixture
async def make_system(tmp_path: Path) -> AsyncIterator[SystemFactory]:
    """Start a LocalSystem with simulator settings and extra bot settings of the test's choice."""
    async with AsyncExitStack() as stack:
        count = 0

        async def make(
            env: dict[str, str] | None = None,
            *,
            clock: Clock | None = None,
            push_reports: bool = True,
            **simulator: Any,
        ) -> LocalSystem:
            nonlocal count
            count += 1
            config = SimulatorConfig(**{"report_delay": 0.2, "retry_delay": 0.1, **simulator})
            system = LocalSystem(
                tmp_path / f"bot{count}.db",
                simulator=config,
                env=env,
                clock=clock,
                push_reports=push_reports,
            )
            return await stack.enter_async_context(system)

        yield make


@pytest.fixture
async def system(make_system: SystemFactory) -> LocalSystem:
    return await make_system()
