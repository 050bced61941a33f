"""The query modules' statements that PostgreSQL needs rewritten, keyed by their SQLite text.

Each key is the exact text a query module passes (an `IN (?, …)` list of any length written
as `IN (?)`, see storage/postgres/dialect.py); each value is its PostgreSQL text, taking
the same parameters in the same order. Statements that need nothing but `?` → `%s` are
left to the rule in dialect.py and are not listed here.

How the SQLite forms map:
- `json_each(?)` over a bound JSON array becomes `jsonb_array_elements(%s::jsonb)`; its
  `key` (the 0-based index) is `WITH ORDINALITY` less one, and `ORDER BY key` becomes
  `ORDER BY ord`. SQLite's `->>` hands back a JSON number as an integer; PostgreSQL's hands
  back text, so number slots written to integer columns are cast (`::bigint`).
- `json_group_array(json_array(…))` becomes `json_agg(json_build_array(…))`, coalesced
  to `'[]'` (json_agg of no rows is NULL) and cast to text, so the caller still gets the
  JSON as a string. The text differs in spacing only (`[1, "a"]` against `[1,"a"]`).
- `desc` is reserved in PostgreSQL: the reports column is written `"desc"`.
- An INSERT whose caller reads `cursor.lastrowid` gets `RETURNING id`: the adapter reads
  the id from the returned row instead.
- `ORDER BY` on a column that may tie gets the tie-breaker SQLite gives in practice (the
  rowid, through its index or its table scan), so both list ties alike.
"""

from __future__ import annotations

__all__ = ["STATEMENTS"]

_IDS = "(SELECT value::bigint FROM jsonb_array_elements_text(%s::jsonb) AS ids(value))"

STATEMENTS: dict[str, str] = {
    # storage/reports.py RECIPIENTS_OF_SQL
    "SELECT json_group_array(json_array(q.key, r.id, r.send_id, r.state)) "
    "FROM json_each(?) AS q JOIN recipients AS r "
    "ON r.msg_id = q.value ->> 0 AND r.mobile = q.value ->> 1": (
        "SELECT coalesce(json_agg(json_build_array(q.ord - 1, r.id, r.send_id, r.state)), "
        "'[]')::text FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS q(value, ord) "
        "JOIN recipients AS r ON r.msg_id = q.value ->> 0 AND r.mobile = q.value ->> 1"
    ),
    # storage/reports.py APPLY_SQL
    "UPDATE recipients SET state = c.value ->> 1, reason = c.value ->> 2, "
    "gw_status = c.value ->> 3, error_code = c.value ->> 4, report_time = c.value ->> 5, "
    "updated = ? FROM json_each(?) AS c WHERE recipients.id = c.value ->> 0": (
        "UPDATE recipients SET state = c.value ->> 1, reason = c.value ->> 2, "
        "gw_status = (c.value ->> 3)::bigint, error_code = c.value ->> 4, "
        "report_time = c.value ->> 5, updated = %s FROM jsonb_array_elements(%s::jsonb) "
        "AS c(value) WHERE recipients.id = (c.value ->> 0)::bigint"
    ),
    # storage/reports.py LOG_SQL
    "INSERT INTO reports (received_at, source, msg_id, mobile, status, error_code, desc, "
    "timestamp, body, outcome) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, "
    "value ->> 4, value ->> 5, value ->> 6, value ->> 7, value ->> 8, value ->> 9 "
    "FROM json_each(?) ORDER BY key": (
        'INSERT INTO reports (received_at, source, msg_id, mobile, status, error_code, "desc", '
        '"timestamp", body, outcome) SELECT e.value ->> 0, e.value ->> 1, e.value ->> 2, '
        "e.value ->> 3, (e.value ->> 4)::bigint, e.value ->> 5, e.value ->> 6, e.value ->> 7, "
        "e.value ->> 8, e.value ->> 9 "
        "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS e(value, ord) ORDER BY e.ord"
    ),
    # storage/reports.py OUTCOMES_SQL
    "UPDATE reports SET outcome = o.value ->> 1 FROM json_each(?) AS o "
    "WHERE reports.id = o.value ->> 0": (
        "UPDATE reports SET outcome = o.value ->> 1 FROM jsonb_array_elements(%s::jsonb) "
        "AS o(value) WHERE reports.id = (o.value ->> 0)::bigint"
    ),
    # storage/reports.py TAKEN_SQL
    "DELETE FROM inbox WHERE id IN (SELECT value FROM json_each(?))": (
        f"DELETE FROM inbox WHERE id IN {_IDS}"
    ),
    # storage/reports.py orphans_sql(n), its IN list written as one mark
    "SELECT id, msg_id, mobile, status, error_code, desc, timestamp, source FROM reports "
    "WHERE outcome = 'orphan' AND msg_id IN (?) ORDER BY id": (
        'SELECT id, msg_id, mobile, status, error_code, "desc", "timestamp", source '
        "FROM reports WHERE outcome = 'orphan' AND msg_id IN (%s) ORDER BY id"
    ),
    # storage/inbox.py PUT_SQL
    "INSERT INTO inbox (received_at, body) SELECT ?, value FROM json_each(?) ORDER BY key": (
        "INSERT INTO inbox (received_at, body) SELECT %s, e.value "
        "FROM jsonb_array_elements_text(%s::jsonb) WITH ORDINALITY AS e(value, ord) "
        "ORDER BY e.ord"
    ),
    # storage/inbox.py OLDEST_SQL: the aggregate's order is written out (SQLite's follows
    # the subquery's order, which it does not promise)
    "SELECT json_group_array(json_array(id, received_at, body)), "
    "(SELECT max(id) FROM inbox) FROM (SELECT id, received_at, body FROM inbox "
    "ORDER BY id LIMIT ?)": (
        "SELECT coalesce(json_agg(json_build_array(id, received_at, body) ORDER BY id), "
        "'[]')::text, (SELECT max(id) FROM inbox) FROM (SELECT id, received_at, body "
        "FROM inbox ORDER BY id LIMIT %s) AS oldest"
    ),
    # storage/outbox.py ENQUEUE_SQL[1]
    "INSERT INTO outbox (send_id, version, queued_at) "
    "SELECT id, changes, ? FROM sends WHERE id = ? AND channel_id != '' "
    "ON CONFLICT (send_id) DO UPDATE SET version = excluded.version, attempts = 0, "
    "not_before = NULL": (
        "INSERT INTO outbox (send_id, version, queued_at) "
        "SELECT id, changes, %s FROM sends WHERE id = %s AND channel_id != '' "
        "ON CONFLICT (send_id) DO UPDATE SET version = excluded.version, attempts = 0, "
        "not_before = NULL"
    ),
    # storage/outbox.py ENQUEUE_MANY_SQL
    "UPDATE sends SET changes = changes + 1 WHERE id IN (SELECT value FROM json_each(?))": (
        f"UPDATE sends SET changes = changes + 1 WHERE id IN {_IDS}"
    ),
    "INSERT INTO outbox (send_id, version, queued_at) "
    "SELECT id, changes, ? FROM sends WHERE id IN (SELECT value FROM json_each(?)) "
    "AND channel_id != '' "
    "ON CONFLICT (send_id) DO UPDATE SET version = excluded.version, attempts = 0, "
    "not_before = NULL": (
        "INSERT INTO outbox (send_id, version, queued_at) "
        f"SELECT id, changes, %s FROM sends WHERE id IN {_IDS} AND channel_id != '' "
        "ON CONFLICT (send_id) DO UPDATE SET version = excluded.version, attempts = 0, "
        "not_before = NULL"
    ),
    # storage/outbox.py PENDING_SQL, PENDING_DUE_SQL: ties in the outbox's key order
    "SELECT send_id, version, attempts FROM outbox ORDER BY queued_at": (
        "SELECT send_id, version, attempts FROM outbox ORDER BY queued_at, send_id"
    ),
    "SELECT send_id, version, attempts FROM outbox "
    "WHERE not_before IS NULL OR not_before <= ? ORDER BY queued_at": (
        "SELECT send_id, version, attempts FROM outbox "
        "WHERE not_before IS NULL OR not_before <= %s ORDER BY queued_at, send_id"
    ),
    # storage/retention.py PRUNABLE_SQL: ties in id order, as the index on `created`
    "SELECT s.id, (SELECT count(*) FROM recipients r WHERE r.send_id = s.id) FROM sends s "
    "WHERE s.created < ? AND s.phase = 'done' "
    "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.send_id = s.id) "
    "AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.send_id = s.id "
    "AND r.state NOT IN ('delivered', 'failed', 'unknown')) "
    "AND NOT EXISTS (SELECT 1 FROM alert_groups g WHERE g.send_id = s.id AND g.closed IS NULL) "
    "ORDER BY s.created LIMIT ?": (
        "SELECT s.id, (SELECT count(*) FROM recipients r WHERE r.send_id = s.id) FROM sends s "
        "WHERE s.created < %s AND s.phase = 'done' "
        "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.send_id = s.id) "
        "AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.send_id = s.id "
        "AND r.state NOT IN ('delivered', 'failed', 'unknown')) "
        "AND NOT EXISTS (SELECT 1 FROM alert_groups g WHERE g.send_id = s.id "
        "AND g.closed IS NULL) ORDER BY s.created, s.id LIMIT %s"
    ),
    # storage/confirmations.py Confirmations.add: the caller reads `lastrowid`
    "INSERT INTO confirmations (team_id, user_id, channel_id, request, created, "
    "state) VALUES (?, ?, ?, ?, ?, ?)": (
        "INSERT INTO confirmations (team_id, user_id, channel_id, request, created, "
        "state) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id"
    ),
}
