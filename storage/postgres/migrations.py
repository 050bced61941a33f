"""A small migration runner for PostgreSQL: named steps, each applied once per database.

sqlite-utils' `Migrations` does this for SQLite inside the one process that may open the
file. With PostgreSQL several replicas may start at the same moment against one database,
so the whole run holds a session advisory lock on a fixed key: the first replica applies
what is missing, the others wait on the lock and then find every step recorded. Each step
commits together with its record in `_smsbot_migrations`, so a replica killed mid-run
leaves the database at a step boundary and the next run carries on from there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import psycopg

__all__ = ["LOCK_KEY", "Migration", "Migrations"]

# The advisory lock every replica's run takes: "smsbot" and 1 in a bigint, a key no other
# application sharing the database is likely to use for its own lock.
LOCK_KEY = 0x736D73626F74_0001

Step = Callable[[psycopg.Connection], None]

_RECORDS_SQL = (
    "CREATE TABLE IF NOT EXISTS _smsbot_migrations ("
    "name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
)


@dataclass(frozen=True)
class Migration:
    """One named step of the schema's history; `run` executes inside its transaction."""

    name: str
    run: Step


class Migrations:
    """The history in the order a database applies it; it only ever grows at the end."""

    def __init__(self, steps: Iterable[Migration] = ()) -> None:
        self.steps: list[Migration] = list(steps)

    def add(self, fn: Step) -> Step:
        """Decorator: append `fn` as the next step, named after the function."""
        if any(step.name == fn.__name__ for step in self.steps):
            raise ValueError(f"two migrations named {fn.__name__}")
        self.steps.append(Migration(fn.__name__, fn))
        return fn

    @property
    def names(self) -> list[str]:
        return [step.name for step in self.steps]

    def first(self, count: int) -> Migrations:
        """The history as an older release had it: its first `count` steps."""
        return Migrations(self.steps[:count])

    def apply(self, url: str) -> list[str]:
        """Apply the steps this database has not recorded, in order; the names applied.

        Safe to call from several processes at once: they take turns on the advisory
        lock, so each step runs exactly once whichever replica gets there first.
        """
        with psycopg.connect(url, autocommit=True) as conn:
            # Held until the connection closes, which ends the session even after an error.
            conn.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
            return self._apply_locked(conn)

    def _apply_locked(self, conn: psycopg.Connection) -> list[str]:
        conn.execute(_RECORDS_SQL)
        done = {row[0] for row in conn.execute("SELECT name FROM _smsbot_migrations")}
        applied = []
        for step in self.steps:
            if step.name in done:
                continue
            with conn.transaction():
                step.run(conn)
                conn.execute("INSERT INTO _smsbot_migrations (name) VALUES (%s)", [step.name])
            applied.append(step.name)
        return applied
