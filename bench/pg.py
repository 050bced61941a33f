"""A throwaway PostgreSQL server for the benches (tests/postgres.py's Cluster), and a
database seeded like common.seed seeds SQLite.

`tests` is not an installed package, so the harness is read from the checkout.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from common import FIRST_MSG_ID, MOBILE_BASE, REPO

from storage.postgres.schema import migrations


def cluster(*, durable: bool = False, core: int | None = None) -> Any:
    """A started server. `durable`: fsync on, as a production server runs (the tests'
    cluster passes -F, fsync off, which would flatter PostgreSQL against SQLite's
    `synchronous = FULL`). `core`: the server and every backend it forks run on that core
    only (the affinity is inherited from this process while it starts the server)."""
    sys.path.insert(0, str(REPO))
    import pytest

    from tests.postgres import Cluster, need_postgres

    try:
        bin_dir = need_postgres()
    except (pytest.skip.Exception, pytest.fail.Exception) as why:
        sys.exit(f"{sys.argv[0]} needs PostgreSQL: {why}")

    class Durable(Cluster):  # type: ignore[misc, valid-type]
        def _as_owner(self, *argv: str | Path) -> list[str]:
            return list(super()._as_owner(*(arg for arg in argv if arg != "-F")))

    server = (Durable if durable else Cluster)(bin_dir)
    if (os.cpu_count() or 1) < 2 or not hasattr(os, "sched_setaffinity"):
        core = None  # as common.pin: nothing to pin on one core
    mine = os.sched_getaffinity(0) if core is not None else None
    try:
        if core is not None:
            os.sched_setaffinity(0, {core})
        server.start()
    finally:
        if mine is not None:
            os.sched_setaffinity(0, mine)
    return server


def seed_postgres(url: str, sends: int, per_send: int) -> int:
    """common.seed without history, on PostgreSQL through its own migrations: `sends` sends
    of `per_send` `accepted` recipients, the same msgIds and mobiles. Returns the rows."""
    migrations.apply(url)
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
    with psycopg.connect(url) as conn:
        with conn.cursor().copy(
            "COPY sends (id, team_id, user_id, channel_id, kind, content, created, goes_out, "
            "phase) FROM STDIN"
        ) as copy:
            for n in range(sends):
                copy.write_row((n + 1, "T", "U", "", "send", "bench", stamp, stamp, "done"))
        conn.execute("SELECT setval(pg_get_serial_sequence('sends', 'id'), %s)", [sends])
        with conn.cursor().copy(
            "COPY recipients (send_id, msg_id, mobile, state, updated) FROM STDIN"
        ) as copy:
            for n in range(sends):
                for m in range(per_send):
                    row = (n + 1, str(FIRST_MSG_ID + n), str(MOBILE_BASE + m), "accepted", stamp)
                    copy.write_row(row)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
        row = conn.execute("SELECT count(*) FROM recipients").fetchone()
    return int(row[0]) if row else 0


def show(url: str, *names: str) -> str:
    """Server settings as `name=value`, to print what a figure was measured with."""
    said = []
    with psycopg.connect(url) as conn:
        for name in names:
            row = conn.execute(f"SHOW {name}").fetchone()
            said.append(f"{name}={row[0] if row else '?'}")
    return " ".join(said)
