"""What is wrong with a DATABASE_PATH, in one sentence, before anything is created.

The bot, `smsbot send` and `smsbot audit` all read the same setting; they must not guess:
a missing directory is not created (a typo would silently start a second, empty database),
and a file that is not SQLite is left untouched.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["database_path_problem"]

SQLITE_HEADER = b"SQLite format 3\x00"


def database_path_problem(path: Path, *, must_exist: bool = False) -> str | None:
    """The sentence saying why `path` cannot be the bot's database, or None if it can be.

    `must_exist` is for readers (audit), which have nothing to read in a new file.
    """
    shown = f"DATABASE_PATH={path}"
    try:
        if path.is_dir():
            return f"{shown} is a directory; set it to a file, e.g. {path / 'smsbot.db'}"
        parent = path.parent
        if not parent.is_dir():
            return (
                f"{shown}: the directory {parent} does not exist; create it first "
                "(smsbot does not create directories)"
            )
        if not path.is_file():
            return f"{shown}: no such database file" if must_exist else None
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as error:
        return f"{shown} cannot be read: {error.strerror or error}"
    if header and header != SQLITE_HEADER:
        return (
            f"{shown} is not an SQLite database; point it at the bot's database, or at a new file"
        )
    return None
