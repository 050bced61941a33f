"""`smsbot audit`: who sent what, to whom, when, from which channel, and what became of it.

The export reads the database through its own read-only connection. It never takes the
bot's lock and never writes, so an admin can run it while `smsbot serve` is running (WAL
lets readers and the writer go on side by side) and it cannot disturb the bot's state.
With DATABASE_URL it reads PostgreSQL instead, in one read-only snapshot, through a
server-side cursor so a year of sends streams as it does from SQLite.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any, TextIO

from storage.path import database_path_problem

FORMATS = ("csv", "json")

# The order of the columns in both formats; documented in README and --help.
COLUMNS = (
    "created",
    "team_id",
    "user_id",
    "channel_id",
    "kind",
    "send_id",
    "retry_of",
    "msg_id",
    "mobile",
    "slack_user",
    "state",
    "reason",
    "error_code",
    "report_time",
    "updated",
    "sender_id",
    "send_at",
    "zone",
    "content",
    "reports",
    "integration",
)

# One row per recipient of each send created in [since, until). `sends.created` is written
# as `datetime.isoformat(timespec="milliseconds")` of a UTC time, so bounds formatted the
# same way compare correctly as text. Mobiles are stored as E.164 digits without the `+`.
_QUERY = """
SELECT
    s.created, s.team_id, s.user_id, s.channel_id, s.kind, s.id, s.retry_of,
    r.msg_id, '+' || r.mobile, r.slack_user, r.state, r.reason, r.error_code,
    r.report_time, r.updated, s.sender_id, s.send_at, s.zone, s.content,
    (SELECT COUNT(*) FROM reports AS p WHERE p.msg_id = r.msg_id AND p.mobile = r.mobile),
    (SELECT g.integration FROM alert_groups AS g WHERE g.send_id = s.id)
FROM sends AS s
JOIN recipients AS r ON r.send_id = s.id
WHERE s.created >= :since AND (:until IS NULL OR s.created < :until)
ORDER BY s.created, r.id
"""

# The same query in psycopg's parameter style; an unset bound needs its type said.
_PG_QUERY = _QUERY.replace(":since", "%(since)s").replace(":until", "%(until)s::text")

_RELATIVE = re.compile(r"(\d+)([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
_ABSOLUTE = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")


class AuditError(Exception):
    """The export cannot run (no database, or not an smsbot one); the message is one line."""


def parse_when(text: str, now: datetime) -> datetime:
    """`YYYY-MM-DD`, `YYYY-MM-DD HH:MM` (UTC), or `7d` / `24h` / `30m` before `now`.

    UTC, not the local zone, because `sends.created` is stored in UTC and an audit run
    from a server and from a laptop must select the same rows.
    Raises ValueError with a sentence saying what is accepted.
    """
    value = text.strip()
    relative = _RELATIVE.fullmatch(value)
    if relative:
        amount, unit = relative.groups()
        return now - timedelta(**{_UNITS[unit]: int(amount)})
    for pattern in _ABSOLUTE:
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(
        f"{text!r} is not a time: use YYYY-MM-DD, 'YYYY-MM-DD HH:MM' (UTC), "
        "or a number of days, hours or minutes ago such as 7d, 24h or 30m"
    )


def _bound(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _connect(db_path: Path) -> sqlite3.Connection:
    """A read-only connection: `mode=ro` can never write, migrate or checkpoint."""
    problem = database_path_problem(Path(db_path), must_exist=True)
    if problem:
        raise AuditError(problem)
    path = Path(db_path).expanduser().resolve()
    try:
        conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True, timeout=30)
        conn.execute("PRAGMA query_only = ON")
    except sqlite3.Error as error:
        raise AuditError(f"DATABASE_PATH={db_path}: cannot open the database ({error})") from None
    return conn


def _bounds(since: datetime, until: datetime | None) -> dict[str, str | None]:
    return {"since": _bound(since), "until": None if until is None else _bound(until)}


def _sqlite_rows(
    db_path: Path, since: datetime, until: datetime | None
) -> Iterator[tuple[Any, ...]]:
    """Rows straight from the cursor, so a year of sends never sits in memory at once."""
    conn = _connect(db_path)
    try:
        try:
            cursor = conn.execute(_QUERY, _bounds(since, until))
        except sqlite3.Error as error:
            raise AuditError(
                f"cannot read the database: {error} (is it an smsbot database?)"
            ) from None
        try:
            yield from cursor
        finally:
            cursor.close()  # before the connection, or it complains when collected
    finally:
        conn.close()


def _postgres_rows(url: str, since: datetime, until: datetime | None) -> Iterator[tuple[Any, ...]]:
    """The same rows from PostgreSQL, fetched a thousand at a time by a server-side cursor."""
    import psycopg

    from storage.postgres.url import BadUrl, conninfo, reason

    try:
        conn = psycopg.connect(conninfo(url))
    except BadUrl as error:
        raise AuditError(str(error)) from None
    except psycopg.Error as error:
        raise AuditError(f"DATABASE_URL could not be opened: {reason(error, url)}") from None
    try:
        conn.read_only = True
        with conn.transaction(), conn.cursor(name="audit") as cursor:
            cursor.itersize = 1000
            try:
                cursor.execute(_PG_QUERY, _bounds(since, until))
                first = cursor.fetchone()
            except psycopg.Error as error:
                raise AuditError(
                    f"cannot read the database: {reason(error, url)} (is it an smsbot database?)"
                ) from None
            if first is not None:
                yield first
                yield from cursor
    finally:
        conn.close()


def _write_csv(rows: Iterator[tuple[Any, ...]], out: TextIO) -> int:
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def _write_json(rows: Iterator[tuple[Any, ...]], out: TextIO) -> int:
    """One JSON array, one object per line, written as the rows come."""
    count = 0
    for row in rows:
        out.write("[\n" if count == 0 else ",\n")
        out.write(json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "[]\n")
    return count


def export(
    db_path: Path,
    since: datetime,
    until: datetime | None,
    fmt: str,
    out: TextIO,
    url: str | None = None,
) -> int:
    """Write the audit rows for sends created in [since, until) to `out`; returns the count.

    Reads PostgreSQL when `url` (DATABASE_URL) is set, else the SQLite file `db_path`.
    Raises AuditError before writing anything when the database cannot be read.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    rows = _postgres_rows(url, since, until) if url else _sqlite_rows(db_path, since, until)
    try:
        first = next(rows, None)  # run the query now, so a bad database fails before output
        write = _write_csv if fmt == "csv" else _write_json
        return write(chain([first], rows) if first is not None else rows, out)
    finally:
        rows.close()


def _open_private(path: Path) -> TextIO:
    """Create or truncate `path` as owner-only (0o600): it holds phone numbers and messages."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode on O_CREAT; tighten it too
    return open(fd, "w", encoding="utf-8", newline="")


def run(
    db_path: Path,
    since: str,
    until: str | None,
    fmt: str,
    output: str | Path | None,
    now: datetime | None = None,
    url: str | None = None,
) -> int:
    """The `smsbot audit` command once argparse is done: exit code 0, or 2 with one line."""
    now = now or datetime.now(UTC)
    try:
        start = parse_when(since, now)
    except ValueError as error:
        return _fail(f"--since: {error}")
    try:
        end = None if until is None else parse_when(until, now)
    except ValueError as error:
        return _fail(f"--until: {error}")
    if end is not None and end <= start:
        return _fail("--until: must be later than --since")
    try:
        if output is None:
            sys.stdout.reconfigure(encoding="utf-8", newline="")  # type: ignore[union-attr]
            export(db_path, start, end, fmt, sys.stdout, url)
            sys.stdout.flush()
            return 0
        output = Path(output)
        try:
            out = _open_private(output)
        except OSError as error:
            return _fail(f"--output: cannot write {output}: {error.strerror}")
        with out:
            try:
                export(db_path, start, end, fmt, out, url)
            except AuditError:
                out.close()
                output.unlink(missing_ok=True)
                raise
        return 0
    except AuditError as error:
        return _fail(str(error))


def _fail(line: str) -> int:
    print(f"smsbot: {line}", file=sys.stderr)
    return 2
