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

__all__ = ["PgTable", "quote"]


def quote(identifier: str) -> str:
    """A table or column name as a PostgreSQL quoted identifier."""
    return '"' + identifier.replace('"', '""') + '"'


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
        keys = self.db.primary_key(self.name)
        returning = f" RETURNING {', '.join(map(quote, keys))}" if keys else ""
        if record:
            columns = ", ".join(map(quote, record))
            marks = ", ".join(["%s"] * len(record))
            head = f"INSERT INTO {quote(self.name)} ({columns}) VALUES ({marks})"
        else:
            head = f"INSERT INTO {quote(self.name)} DEFAULT VALUES"
        row = self.db.execute_postgres(
            head + returning, [_value(v) for v in record.values()]
        ).fetchone()
        if row is not None:
            self.last_pk = row[0] if len(row) == 1 else tuple(row)
        return self

    def insert_all(self, records: Iterable[Mapping[str, Any]]) -> PgTable:
        """Insert many rows in one `executemany`; the columns are every key any row has."""
        rows = list(records)
        if not rows:
            return self
        columns = list(dict.fromkeys(key for row in rows for key in row))
        sql = (
            f"INSERT INTO {quote(self.name)} ({', '.join(map(quote, columns))}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})"
        )
        cursor = self.db.raw.cursor()
        cursor.executemany(sql, [[_value(row.get(c)) for c in columns] for row in rows])
        return self

    def update(self, pk_values: Any, updates: Mapping[str, Any] | None = None) -> PgTable:
        """Set columns of the row with this primary key; NotFoundError when there is none."""
        values = list(pk_values) if isinstance(pk_values, list | tuple) else [pk_values]
        keys = self.db.primary_key(self.name)
        where = " AND ".join(f"{quote(key)} = %s" for key in keys)
        if updates:
            sets = ", ".join(f"{quote(column)} = %s" for column in updates)
            sql = f"UPDATE {quote(self.name)} SET {sets} WHERE {where}"
            params = [*map(_value, updates.values()), *values]
        else:
            sql, params = f"SELECT 1 FROM {quote(self.name)} WHERE {where}", values
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
