"""Every statement the query modules run, in PostgreSQL's dialect: `postgres(sqlite_text)`.

The query modules keep writing SQLite; an adapter that runs them on PostgreSQL looks each
statement up by the exact text the module passes and runs what comes back with psycopg,
with the module's parameters unchanged (same values, same order). Two sources:
- STATEMENTS (storage/postgres/statements.py): the statements that need rewriting, each
  written out by hand;
- the placeholder rule, for every other statement: `?` becomes `%s` and a literal `%`
  becomes `%%`, nothing else. It refuses (NoPostgresForm) any statement that uses what
  only SQLite understands (JSON functions, `INSERT OR …`, bracket quoting, date
  functions, the reserved word `desc` as a column, …) and every INSERT, so a new
  statement of that kind fails loudly until it gets its own entry rather than reaching
  the server half translated. tests/test_postgres_dialect.py runs every form on the server.

An `IN (?,?,…)` list of bound values, which several modules build for as many values as
they have, is looked up as `IN (?)` and given back with as many `%s`; an empty list, which
SQLite accepts and PostgreSQL does not, becomes `IN (NULL)`: no row matches, as in SQLite
(only `NOT IN ()` would differ, and no module writes one).

Where PostgreSQL cannot mean exactly the same, said once here for the adapter's author:
- Text compares by the database's collation; SQLite compares bytes. The ISO times and the
  names the modules sort and compare need a database created with `LC_COLLATE=C` (the
  tests' cluster is `--no-locale`) or columns declared `COLLATE "C"`.
- Row ids come from identity sequences, which never hand an id out twice; SQLite (no
  AUTOINCREMENT) reuses the highest id once its row is deleted (an emptied inbox starts
  again at 1). Ids an INSERT takes as values do not move the sequence.
- PostgreSQL's text cannot hold NUL: a report field with U+0000 (a JSON `\\u0000` in a
  pushed body) makes the batch's statement fail, where SQLite's `->>` cuts the field at
  the NUL and stores the rest. A number slot (`status`) that is not a whole number fails the
  `::bigint` cast where SQLite would store the value as given.
- The rows a batch reads (`OLDEST_SQL`, `EXPIRED_SQL`, `PRUNABLE_SQL`) are only exclusive
  on SQLite because one writer thread runs at a time; under PostgreSQL's READ COMMITTED
  two replicas' transactions can read the same rows, so claiming them (`FOR UPDATE SKIP
  LOCKED`, advisory locks) is the adapter's job, not a matter of dialect.
- `EXPIRED_SQL` and retention's `DELETE … IN (SELECT … LIMIT ?)` have no ORDER BY: which
  rows one batch takes is unspecified on both and may differ between them; the batches
  together take the same rows.
- Unchanged: `rowcount` (UPDATE and DELETE count the rows their WHERE matched, changed or
  not, on both) and NULL handling (`IS NULL`, `coalesce`, `max` of no rows).
- sqlite-utils' table calls build their own SQL (`db[t].insert`, `insert_all`, `update`,
  `rows_where`); storage/postgres/table.py writes them in PostgreSQL's words.
  `Table.update` raises NotFoundError for a missing row: on PostgreSQL that is a rowcount
  of 0 for the adapter to turn into the same error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from storage.postgres.statements import STATEMENTS

__all__ = [
    "STATEMENTS",
    "NoPostgresForm",
    "placeholders",
    "postgres",
    "to_postgres",
]


class NoPostgresForm(LookupError):
    """The statement has no PostgreSQL form: it needs an entry in STATEMENTS."""


_LIST = re.compile(r"IN \((\?(?:,\?)*)?\)")
_PG_LIST = re.compile(r"IN \(%s\)")
_LITERAL = re.compile(r"'[^']*'")
# What only SQLite understands (or what PostgreSQL reads otherwise), case-insensitively,
# and the lower-case `desc`: the modules write keywords in capitals, so it is the column.
_SQLITE_ONLY = re.compile(
    r"\bjson_\w+\(|->|\[|\bINSERT\b|\bREPLACE\b|\bOR\s+IGNORE\b|\bdatetime\(|\bdate\(|"
    r"\bjulianday\(|\bstrftime\(|\bunixepoch\(|\bgroup_concat\(|\bifnull\(|\biif\(|"
    r"\bglob\b|\browid\b|\blast_insert_rowid\(|\bchanges\(\)|\bIS NOT (?!NULL\b)",
    re.IGNORECASE,
)
_DESC_COLUMN = re.compile(r"\bdesc\b")


# A quoted string or identifier, a comment, or a placeholder, left to right, so a `?` inside
# quotes or a comment stays a question mark. psycopg reads `%` everywhere, quotes included.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|\?", re.S)


@lru_cache(maxsize=1024)
def to_postgres(sqlite_sql: str) -> str:
    """SQLite's `?` placeholders as psycopg's `%s` outside quotes and comments, and every
    `%` as `%%`: the lenient rule, for statements of one's own that need nothing else."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        return "%s" if token == "?" else token

    return _TOKENS.sub(swap, sqlite_sql.replace("%", "%%"))


def placeholders(sql: str) -> str:
    """The rule: `?` → `%s`, `%` → `%%`, for a statement that needs nothing else."""
    outside = _LITERAL.sub("''", sql)
    if sql.count("'") % 2:
        raise NoPostgresForm(f"an unclosed quote: {sql}")
    if any(mark in literal for literal in _LITERAL.findall(sql) for mark in "?%"):
        raise NoPostgresForm(f"a literal holds ? or %: {sql}")
    if _SQLITE_ONLY.search(outside) or _DESC_COLUMN.search(outside):
        raise NoPostgresForm(f"needs its own PostgreSQL form: {sql}")
    return to_postgres(sql)


@lru_cache(maxsize=4096)
def postgres(sql: str) -> str:
    """The PostgreSQL text of a statement a query module runs on SQLite (same parameters)."""
    counts = [(match.group(1) or "").count("?") for match in _LIST.finditer(sql)]
    key = _LIST.sub("IN (?)", sql)
    text = STATEMENTS.get(key)
    if text is None:
        text = placeholders(key)
    return _expand(text, counts, sql)


def _expand(text: str, counts: Sequence[int], sql: str) -> str:
    lists = iter(counts)

    def marks(_: re.Match[str]) -> str:
        count = next(lists, None)
        if count is None:
            raise NoPostgresForm(f"more IN lists in the PostgreSQL form than in: {sql}")
        return "IN (NULL)" if count == 0 else "IN (" + ", ".join(["%s"] * count) + ")"

    expanded = _PG_LIST.sub(marks, text)
    if next(lists, None) is not None:
        raise NoPostgresForm(f"fewer IN lists in the PostgreSQL form than in: {sql}")
    return expanded
