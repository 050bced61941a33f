"""`db["table"]` on PostgreSQL: the four sqlite_utils `Table` calls the query modules make.

The SQL is made here in PostgreSQL's own words (quoted identifiers, `%s`), so these calls
need no dialect entry. Values behave as sqlite_utils stores them: a dict, list or tuple is
written as JSON text, and `insert_all` writes NULL for a key some rows lack.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlite_utils.db import NotFoundError

if TYPE_CHECKING:
    from storage.postgres.database import PgDatabase

__all__ = ["PgTable", "insert_sql", "quote", "update_sql"]


def quote(identifier: str) -> str:
    """A table or column name as a PostgreSQL quoted identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def insert_sql(table: str, columns: Sequence[str], keys: Sequence[str] = ()) -> str:
    """What `db[table].insert(row)` (and each row of `insert_all`, without `keys`) runs:
    the new row's primary key comes back as its one row, where sqlite-utils reads it."""
    returning = f" RETURNING {', '.join(map(quote, keys))}" if keys else ""
    if not columns:
        return f"INSERT INTO {quote(table)} DEFAULT VALUES{returning}"
    names = ", ".join(map(quote, columns))
    marks = ", ".join(["%s"] * len(columns))
    return f"INSERT INTO {quote(table)} ({names}) VALUES ({marks}){returning}"


def update_sql(table: str, columns: Sequence[str], keys: Sequence[str]) -> str:
    """What `db[table].update(pk, values)` runs: the values in `columns` order, then the
    key; with no columns, whether the row exists."""
    where = " AND ".join(f"{quote(key)} = %s" for key in keys)
    if not columns:
        return f"SELECT 1 FROM {quote(table)} WHERE {where}"
    sets = ", ".join(f"{quote(column)} = %s" for column in columns)
    return f"UPDATE {quote(table)} SET {sets} WHERE {where}"


def _value(value: Any) -> Any:
    return json.dumps(value, default=repr) if isinstance(value, dict | list | tuple) else value


class PgTable:
    def __init__(self, db: PgDatabase, name: str) -> None:
        self.db = db
        self.name = name
        self.last_pk: Any = None

    def insert(self, record: Mapping[str, Any]) -> PgTable:
        """Insert one row; `last_pk` is its primary key (a tuple when the key has several
        columns), returned by the INSERT itself."""
        sql = insert_sql(self.name, list(record), self.db.primary_key(self.name))
        row = self.db.execute_postgres(sql, [_value(v) for v in record.values()]).fetchone()
        if row is not None:
            self.last_pk = row[0] if len(row) == 1 else tuple(row)
        return self

    def insert_all(self, records: Iterable[Mapping[str, Any]]) -> PgTable:
        """Insert many rows in one `executemany`; the columns are every key any row has."""
        rows = list(records)
        if not rows:
            return self
        columns = list(dict.fromkeys(key for row in rows for key in row))
        cursor = self.db.raw.cursor()
        cursor.executemany(
            insert_sql(self.name, columns), [[_value(row.get(c)) for c in columns] for row in rows]
        )
        return self

    def update(self, pk_values: Any, updates: Mapping[str, Any] | None = None) -> PgTable:
        """Set columns of the row with this primary key; NotFoundError when there is none."""
        values = list(pk_values) if isinstance(pk_values, list | tuple) else [pk_values]
        keys = self.db.primary_key(self.name)
        columns = list(updates or {})
        params = [*(_value(updates[c]) for c in columns), *values] if updates else values
        sql = update_sql(self.name, columns, keys)
        if self.db.execute_postgres(sql, params).rowcount != 1:
            raise NotFoundError
        self.last_pk = values[0] if len(keys) == 1 else values
        return self

    def rows_where(
        self,
        where: str | None = None,
        where_args: Sequence[Any] | None = None,
        order_by: str | None = None,
        select: str = "*",
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Rows as dicts; `where` and `order_by` are SQLite text, placeholders changed."""
        sql = f"SELECT {select} FROM {quote(self.name)}"
        if where is not None:
            sql += f" WHERE {where}"
        if order_by is not None:
            sql += f" ORDER BY {order_by}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self.db.query(sql, where_args)
