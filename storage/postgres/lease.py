"""The background work's lease on PostgreSQL: one session holding an advisory lock, plus
LISTEN/NOTIFY so a poke on any replica reaches the holder.

A session-level advisory lock lasts exactly as long as its session. When the holder's
process dies, its kernel closes the socket and the server ends the session and frees the
lock at once; when the holder's machine vanishes, the keepalive settings below make the
server end the session within about KEEPALIVE_LOSS seconds. No clock is compared between
machines and nothing must be renewed on time: the lock is the session.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import psycopg

__all__ = ["CALLERS", "CHANNEL", "KEEPALIVE_LOSS", "LOCK_KEY", "Lease", "Megaphone", "alive"]

LOCK_KEY = 0x736D73626F74  # "smsbot" in ASCII: the one key this database's replicas share
CHANNEL = "smsbot"  # NOTIFY channel: the payload names the worker to wake
# The lock space of callers: (CALLERS, id) is held by each process that writes sends, for as
# long as it lives, so `live_callers` (schema m017) can tell a send cut off by a dead
# replica from one another replica is still calling the gateway for.
CALLERS = 0x736D73  # "sms"
# Server side: probe an idle client after 5 s, every 2 s, give up after 3 misses, and drop a
# connection whose sent data goes unacknowledged for 10 s: a vanished holder is let go
# within about 11 s.
_KEEPALIVES = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "10000",
}
KEEPALIVE_LOSS = 11.0


async def _connect(conninfo: str) -> psycopg.AsyncConnection[tuple[object, ...]]:
    conn = await psycopg.AsyncConnection.connect(
        conninfo, autocommit=True, keepalives=1, keepalives_idle=5, keepalives_interval=2
    )
    for name, value in _KEEPALIVES.items():
        await conn.execute(f"SET {name} = {value}")
    return conn


async def _say_alive(conn: psycopg.AsyncConnection[tuple[object, ...]], caller: int) -> None:
    await conn.execute("SELECT pg_advisory_lock(%s, %s)", [CALLERS, caller])


@contextlib.asynccontextmanager
async def alive(conninfo: str, caller: int) -> AsyncIterator[None]:
    """`caller` counts as alive (in `live_callers`) inside the block: for `smsbot send`,
    which writes a send without a lease session."""
    conn = await _connect(conninfo)
    try:
        await _say_alive(conn, caller)
        yield
    finally:
        await conn.close()


class Lease:
    """One replica's session for the lease: try to take it, prove it still holds it, and
    hear the pokes meant for the holder. It also says the replica is alive (its caller id
    locked), whether or not it holds the lease."""

    def __init__(self, conninfo: str, caller: int) -> None:
        self.conninfo = conninfo
        self.caller = caller
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def connect(self) -> None:
        self._conn = await _connect(self.conninfo)
        await _say_alive(self._conn, self.caller)
        await self._conn.execute(f"LISTEN {CHANNEL}")

    async def take(self) -> bool:
        """True when this session holds the lock now (taken now, or held already)."""
        cursor = await self._session().execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        row = await cursor.fetchone()
        return bool(row and row[0])

    async def server_uptime(self) -> float:
        """Seconds since the server started: a restart freed every lock at once."""
        cursor = await self._session().execute(
            "SELECT extract(epoch FROM now() - pg_postmaster_start_time())::float8"
        )
        row = await cursor.fetchone()
        return float(row[0]) if row else 0.0

    async def holds(self, within: float) -> bool:
        """Whether the session still holds the lock, asked of the server; False if the
        server does not answer within `within` seconds (then it may have let go)."""
        query = (
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = %s"
        )
        try:
            async with asyncio.timeout(within):
                cursor = await self._session().execute(query, [LOCK_KEY])
                row = await cursor.fetchone()
        except (TimeoutError, psycopg.Error):
            return False
        return bool(row and row[0])

    async def heard(self, seconds: float) -> set[str]:
        """What replicas said (NOTIFY payloads) since the last call and during the next
        `seconds`. Called at least every few seconds by every replica: what is said
        between calls waits in psycopg's backlog."""
        session = self._session()
        return {note.payload async for note in session.notifies(timeout=seconds)}

    async def close(self) -> None:
        """Ends the session, which lets the lock go."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    def _session(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            raise psycopg.OperationalError("the lease's session is closed")
        return self._conn


class Megaphone:
    """What a replica says to the others (pokes for the holder, news for all), sent as
    NOTIFY on a session of its own."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._lock = asyncio.Lock()  # one connection, even when two say something at once

    async def say(self, payload: str) -> None:
        async with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = await _connect(self.conninfo)
            try:
                await self._conn.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])
            except psycopg.Error:
                await self.close()
                raise

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()
