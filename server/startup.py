"""Start-up problems said in one sentence each, instead of a traceback.

A newcomer with a wrong DATABASE_PATH should read what is wrong and what to do
(`storage.path` says it).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from storage import Store
from storage.path import database_path_problem


class StartupProblem(Exception):
    """Something the operator must fix before the bot can start; the message says what."""


async def open_store(path: Path, clock: Callable[[], datetime]) -> Store:
    """The opened Store, or StartupProblem naming DATABASE_PATH and what to do.

    DatabaseInUse (another bot holds it) passes through: it is already a sentence.
    """
    problem = await asyncio.to_thread(database_path_problem, path)
    if problem:
        raise StartupProblem(problem)
    store = Store(path, clock)
    try:
        await store.open()
    except sqlite3.DatabaseError as error:
        raise StartupProblem(
            f"DATABASE_PATH={path} could not be opened as the bot's database: {error}"
        ) from None
    except OSError as error:
        raise StartupProblem(
            f"DATABASE_PATH={path} could not be opened: {error.strerror or error}"
        ) from None
    return store
