"""Start-up problems said in one sentence each, instead of a traceback.

A newcomer with a wrong DATABASE_PATH should read what is wrong and what to do, and the
bot must not guess: a missing directory is not created (a typo would silently start a
second, empty database), and a file that is not SQLite is left untouched.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from storage import Store

SQLITE_HEADER = b"SQLite format 3\x00"


class StartupProblem(Exception):
    """Something the operator must fix before the bot can start; the message says what."""


def _check_database_path(path: Path) -> None:
    """Refuse a path that cannot be the bot's database before anything is created."""
    shown = f"DATABASE_PATH={path}"
    if path.is_dir():
        raise StartupProblem(f"{shown} is a directory; set it to a file, e.g. {path / 'smsbot.db'}")
    parent = path.parent
    if not parent.is_dir():
        raise StartupProblem(
            f"{shown}: the directory {parent} does not exist; create it first "
            "(smsbot does not create directories)"
        )
    if path.is_file():
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
        if header and header != SQLITE_HEADER:
            raise StartupProblem(
                f"{shown} is not an SQLite database; point it at the bot's database, "
                "or at a new file"
            )


async def open_store(path: Path, clock: Callable[[], datetime]) -> Store:
    """The opened Store, or StartupProblem naming DATABASE_PATH and what to do.

    DatabaseInUse (another bot holds it) passes through: it is already a sentence.
    """
    try:
        await asyncio.to_thread(_check_database_path, path)
    except OSError as error:
        raise StartupProblem(f"DATABASE_PATH={path} cannot be read: {error.strerror}") from None
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
