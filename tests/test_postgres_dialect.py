"""Every statement the query modules run has a PostgreSQL form the real server accepts.

The statements are found two ways, so a new one cannot slip past: the `*_SQL` constants,
by importing the query modules and walking their attributes; and the SQL written inline,
by reading each module's source (string literals that start with a statement's verb,
f-strings rendered with the module's own constants and an `IN` list of one mark). Each
form is then prepared on the server (tests/postgres.py) without parameter types: psycopg
sends Python strings untyped, so the server must infer every parameter's type itself, as
it does here. tests/test_postgres_dialect_rows.py checks that the forms that carry logic
give the same rows as SQLite.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import psycopg
import pytest

import storage
from storage.postgres import dialect
from storage.postgres.dialect import NoPostgresForm, postgres
from storage.postgres.schema import migrations
from storage.postgres.table import insert_sql, update_sql
from storage.reports import orphans_sql
from tests.postgres import Cluster

NOT_QUERIES = {"schema", "store", "writer", "lock", "path"}
VERB = re.compile(r"(SELECT|INSERT|UPDATE|DELETE|WITH)\b")


def query_modules() -> list[ModuleType]:
    names = [m.name for m in pkgutil.iter_modules(storage.__path__) if not m.ispkg]
    return [importlib.import_module(f"storage.{n}") for n in sorted(names) if n not in NOT_QUERIES]


def constants() -> dict[str, str]:
    """Every `*_SQL` constant of the query modules, by `module.NAME[index]`."""
    found: dict[str, str] = {}
    for module in query_modules():
        short = module.__name__.removeprefix("storage.")
        for name, value in vars(module).items():
            if not name.endswith("_SQL"):
                continue
            parts = value if isinstance(value, tuple) else (value,)
            assert all(isinstance(p, str) for p in parts), f"{short}.{name} is not SQL text"
            for index, part in enumerate(parts):
                label = f"{short}.{name}" + (f"[{index}]" if isinstance(value, tuple) else "")
                found[label] = part
    return found


def _render(node: ast.JoinedStr, module: ModuleType) -> str:
    text = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            text.append(str(part.value))
            continue
        assert isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name)
        name = part.value.id
        text.append("?" if name == "marks" else str(getattr(module, name)))
    return "".join(text)


def inline() -> dict[str, str]:
    """Statements written in the modules' code, by `module:line`."""
    found: dict[str, str] = {}
    for module in query_modules():
        path = Path(module.__file__ or "")
        tree = ast.parse(path.read_text())
        parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
        for node in ast.walk(tree):
            if id(node) in parts:
                continue
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            elif isinstance(node, ast.JoinedStr):
                text = _render(node, module)
            else:
                continue
            if VERB.match(text):
                found[f"{path.stem}:{node.lineno}"] = text
    return found


# What sqlite-utils' table calls in the modules run on PostgreSQL (storage/postgres/table.py).
SEND_COLUMNS = [
    *("team_id", "user_id", "channel_id", "kind", "content", "sender_id", "send_at", "zone"),
    *("retry_of", "created", "goes_out", "phase"),
]
TABLE_CALLS = {
    "sends.insert": insert_sql("sends", SEND_COLUMNS, ["id"]),
    "recipients.insert_all": insert_sql(
        "recipients", ["send_id", "msg_id", "mobile", "state", "reason", "slack_user", "updated"]
    ),
    "alert_groups.insert": insert_sql(
        "alert_groups",
        [
            *("integration_id", "integration", "group_key", "send_id", "opened", "paged"),
            *("problem", "notice", "fingerprints"),
        ],
        ["id"],
    ),
    "alert_notes.insert": insert_sql("alert_notes", ["send_id", "kind", "text", "created"], ["id"]),
    "integrations.insert": insert_sql(
        "integrations",
        ["team_id", "name", "channel_id", "recipients", "token_hash", "created_by", "created"],
        ["id"],
    ),
    "alert_notices.insert": insert_sql(
        "alert_notices", ["integration_id", "received", "group_key", "status", "notice"], ["id"]
    ),
    "contacts.insert": insert_sql(
        "contacts", ["team_id", "name", "members", "created_by", "created", "updated"], ["id"]
    ),
    "sends.update": update_sql("sends", ["message_channel", "message_ts", "notice"], ["id"]),
    "recipients.rows_where": postgres(
        "SELECT * FROM recipients WHERE send_id = ? AND escalated IN (1, 3) "
        "AND state != 'delivered' ORDER BY id"
    ),
}


@pytest.fixture(scope="module")
def migrated(postgres_cluster: Cluster) -> Iterator[str]:
    """One migrated database for the module: preparing a statement changes nothing."""
    url = postgres_cluster.create_database()
    try:
        migrations.apply(url)
        yield url
    finally:
        postgres_cluster.drop_database(url)


def numbered(text: str) -> str:
    """psycopg's `%s` marks as the server's `$1, $2, …`, and `%%` as `%`."""
    count = iter(range(1, 1000))
    return re.sub(r"%%|%s", lambda m: "%" if m.group() == "%%" else f"${next(count)}", text)


def prepare(url: str, text: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"PREPARE checked AS {numbered(text)}", prepare=False)


@pytest.mark.parametrize(
    ("label", "sql"), [pytest.param(*i, id=i[0]) for i in sorted(constants().items())]
)
def test_every_constant_has_a_form_the_server_accepts(migrated: str, label: str, sql: str) -> None:
    try:
        text = postgres(sql)
    except NoPostgresForm as error:
        pytest.fail(f"{label} has no PostgreSQL form: {error}")
    assert "?" not in text.replace("'?'", ""), label
    prepare(migrated, text)


@pytest.mark.parametrize(
    ("label", "sql"), [pytest.param(*i, id=i[0]) for i in sorted(inline().items())]
)
def test_every_inline_statement_has_a_form_the_server_accepts(
    migrated: str, label: str, sql: str
) -> None:
    try:
        text = postgres(sql)
    except NoPostgresForm as error:
        pytest.fail(f"the statement at {label} has no PostgreSQL form: {error}")
    prepare(migrated, text)


@pytest.mark.parametrize(
    ("label", "text"), [pytest.param(*i, id=i[0]) for i in sorted(TABLE_CALLS.items())]
)
def test_table_calls_have_forms_the_server_accepts(migrated: str, label: str, text: str) -> None:
    prepare(migrated, text)


def test_the_walk_finds_the_statements_it_should() -> None:
    """A guard on the finders themselves: known constants and inline statements are seen."""
    found = constants()
    assert {"reports.APPLY_SQL", "outbox.ENQUEUE_MANY_SQL[1]", "inbox.PUT_SQL"} <= set(found)
    assert len(found) >= 28
    texts = set(inline().values())
    assert any(t.startswith("INSERT INTO confirmations") for t in texts)
    assert any("desc, timestamp" in t and "IN (?)" in t for t in texts)  # orphans_sql's f-string


def test_every_entry_replaces_a_statement_a_module_runs() -> None:
    """No entry is left behind when a module's statement changes: each key is still run."""
    run = {
        re.sub(r"IN \(\?(,\?)*\)", "IN (?)", s) for s in [*constants().values(), *inline().values()]
    }
    stale = [key for key in dialect.STATEMENTS if key not in run]
    assert not stale, stale


def test_entries_are_only_where_the_rule_cannot_serve() -> None:
    """An entry that the rule would translate the same way says nothing: none is kept."""
    for key, text in dialect.STATEMENTS.items():
        try:
            ruled = dialect.placeholders(key)
        except NoPostgresForm:
            continue
        assert ruled != text, key


def test_the_rule_swaps_marks_and_escapes_percent() -> None:
    sql = "SELECT id FROM sends WHERE user_id = ? AND id % 2 = 0 ORDER BY id DESC LIMIT ?"
    expected = "SELECT id FROM sends WHERE user_id = %s AND id %% 2 = 0 ORDER BY id DESC LIMIT %s"
    assert postgres(sql) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT value FROM json_each(?)",
        "INSERT INTO inbox (received_at, body) VALUES (?, ?)",
        "INSERT OR IGNORE INTO outbox (send_id) VALUES (?)",
        "SELECT desc FROM reports WHERE id = ?",
        "SELECT [name] FROM contacts",
        "SELECT datetime('now')",
        "SELECT id FROM sends WHERE kind = '?'",
        "SELECT id FROM sends WHERE acked_by IS NOT ?",
    ],
)
def test_the_rule_refuses_what_only_sqlite_reads(sql: str) -> None:
    with pytest.raises(NoPostgresForm):
        postgres(sql)


def test_in_lists_keep_their_length() -> None:
    update = "UPDATE recipients SET announced = ? WHERE id IN ({})"
    expected = "UPDATE recipients SET announced = %s WHERE id IN ({})"
    assert postgres(update.format("?,?,?")) == expected.format("%s, %s, %s")
    assert postgres(update.format("?")) == expected.format("%s")
    assert postgres(update.format("")) == expected.format("NULL")
    orphans = orphans_sql(2)
    assert postgres(orphans).endswith("msg_id IN (%s, %s) ORDER BY id")
    assert '"desc"' in postgres(orphans)


def test_an_empty_in_list_matches_nothing(migrated: str) -> None:
    """SQLite's `IN ()` is false; its form `IN (NULL)` selects no row either."""
    with psycopg.connect(migrated) as conn:
        conn.execute(insert_sql("inbox", ["received_at", "body"]), ["t", "{}"])
        text = postgres("SELECT count(*) FROM inbox WHERE id IN () AND body = ?")
        assert conn.execute(text, ["{}"]).fetchone() == (0,)
        conn.rollback()
