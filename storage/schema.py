"""The database schema, as sqlite-utils migrations applied in order at start."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

from storage.sendtime import goes_out

migrations = Migrations("smsbot")


@migrations()
def m001_initial(db: Database) -> None:
    """Sends, their recipients, the raw report log and the outbox of channel updates."""
    db["sends"].create(
        {
            "id": int,
            "team_id": str,
            "user_id": str,
            "channel_id": str,
            "kind": str,
            "content": str,
            "sender_id": str,
            "send_at": str,
            "zone": str,
            "created": str,
            "message_channel": str,
            "message_ts": str,
            "notice": str,
        },
        pk="id",
    )
    db["sends"].create_index(["channel_id", "id"])
    db["recipients"].create(
        {
            "id": int,
            "send_id": int,
            "msg_id": str,
            "mobile": str,
            "state": str,
            "reason": str,
            "gw_status": int,
            "error_code": str,
            "report_time": str,
            "updated": str,
            "announced": int,
        },
        pk="id",
        foreign_keys=[("send_id", "sends", "id")],
        not_null={"send_id", "mobile", "state", "updated"},
        defaults={"announced": 0},
    )
    db["recipients"].create_index(["send_id"])
    db["recipients"].create_index(["msg_id", "mobile"], unique=True)
    db["reports"].create(
        {
            "id": int,
            "received_at": str,
            "source": str,
            "msg_id": str,
            "mobile": str,
            "status": int,
            "error_code": str,
            "desc": str,
            "timestamp": str,
            "body": str,
            "outcome": str,
        },
        pk="id",
        not_null={"received_at", "source", "msg_id", "mobile", "outcome"},
    )
    db["reports"].create_index(["msg_id", "mobile"])
    db["reports"].create_index(["outcome"])
    db["outbox"].create(
        {"send_id": int, "version": int, "queued_at": str},
        pk="send_id",
        foreign_keys=[("send_id", "sends", "id")],
    )


@migrations()
def m002_polling_and_retries(db: Database) -> None:
    """When each recipient is next asked about, and the outbox's retry bookkeeping."""
    db["recipients"].add_column("polls", int, not_null_default=0)
    db["recipients"].add_column("next_poll", str)
    db["recipients"].create_index(["state", "next_poll"])
    db["outbox"].add_column("attempts", int, not_null_default=0)
    db["outbox"].add_column("not_before", str)


@migrations()
def m003_people_and_pages(db: Database) -> None:
    """Saved contacts, who each recipient is in Slack, and page escalation bookkeeping."""
    db["contacts"].create(
        {
            "id": int,
            "team_id": str,
            "name": str,
            "members": str,
            "created_by": str,
            "created": str,
            "updated": str,
        },
        pk="id",
        not_null={"team_id", "name", "members"},
    )
    db["contacts"].create_index(["team_id", "name"], unique=True)
    db["recipients"].add_column("slack_user", str)
    db["recipients"].add_column("escalated", int, not_null_default=0)
    db["sends"].add_column("retry_of", int)
    db["sends"].create_index(["user_id", "created"])


@migrations()
def m004_send_change_counter(db: Database) -> None:
    """A per-send change counter that never goes back, so an outbox version is never reused."""
    db["sends"].add_column("changes", int, not_null_default=0)
    db.execute(
        "UPDATE sends SET changes = "
        "coalesce((SELECT version FROM outbox o WHERE o.send_id = sends.id), 0)"
    )


@migrations()
def m005_send_time(db: Database) -> None:
    """When each send's SMS goes out, in UTC, so time counts from then and not the command.

    Filled for the rows already there: `created` for sends made at once, the scheduled wall
    time read in its zone for the others.
    """
    db["sends"].add_column("goes_out", str)
    db.execute("UPDATE sends SET goes_out = created WHERE send_at IS NULL OR zone IS NULL")
    scheduled = db.execute(
        "SELECT id, send_at, zone, created FROM sends WHERE goes_out IS NULL"
    ).fetchall()
    db.conn.executemany(
        "UPDATE sends SET goes_out = ? WHERE id = ?",
        [
            (goes_out(send_at, zone, created), send_id)
            for send_id, send_at, zone, created in scheduled
        ],
    )


@migrations()
def m006_background_loop_indexes(db: Database) -> None:
    """Indexes so that no background round reads a whole table (tests/test_query_plans.py).

    The escalator starts from the posted pages, not from every recipient. Orphan
    reconciliation looks up a new send's msgIds among the orphans instead of reading every
    orphan ever kept; the (outcome, msg_id) index also serves whatever `outcome` alone did,
    so it replaces that one and the report webhook keeps the same number of indexes.
    """
    db.execute(
        "CREATE INDEX idx_sends_posted_pages ON sends (id) "
        "WHERE kind = 'page' AND message_ts IS NOT NULL"
    )
    db["reports"].create_index(["outcome", "msg_id"])
    db.execute("DROP INDEX idx_reports_outcome")


@migrations()
def m007_write_ahead_sends(db: Database) -> None:
    """Where a send is in its gateway call: `calling` is written before the call, so a crash
    between the call and its answer leaves the send on record; `done` once it is answered
    (every send made before this column existed), `interrupted` when a restart found it
    still `calling`."""
    db["sends"].add_column("phase", str, not_null_default="done")
    db.execute("CREATE INDEX sends_calling ON sends (created) WHERE phase = 'calling'")


@migrations()
def m008_alerts(db: Database) -> None:
    """Alert integrations (a channel, recipients, a token's hash) and the notices they receive.

    Recipients are kept as typed (`<to>` of `/sms alerts add`), resolved at page time, so an
    @on-call user group that rotates pages whoever is on call when the alert fires. A notice
    is stored before the webhook answers 200 and marked done once the alert worker acted.
    """
    db["integrations"].create(
        {
            "id": int,
            "team_id": str,
            "name": str,
            "channel_id": str,
            "recipients": str,
            "token_hash": str,
            "created_by": str,
            "created": str,
            "rotated": str,
        },
        pk="id",
        not_null={"team_id", "name", "channel_id", "recipients", "token_hash"},
    )
    db["integrations"].create_index(["team_id", "name"], unique=True)
    db["integrations"].create_index(["token_hash"], unique=True)
    db["alert_notices"].create(
        {
            "id": int,
            "integration_id": int,
            "received": str,
            "group_key": str,
            "status": str,
            "notice": str,
            "done": int,
        },
        pk="id",
        foreign_keys=[("integration_id", "integrations", "id")],
        not_null={"integration_id", "received", "group_key", "status", "notice"},
        defaults={"done": 0},
    )
    db.execute("CREATE INDEX alert_notices_undone ON alert_notices (id) WHERE done = 0")


@migrations()
def m009_alert_groups(db: Database) -> None:
    """Alert groups (one per firing episode of a group key), their thread notes, and who
    acknowledged a page.

    A group is open from the notice that starts it firing until the one that resolves it;
    at most one is open per (integration, group key). Its page is a send of kind `alert`,
    written in the same commit as the group (so a restart never pages it twice); `paged`
    is when it texted anyone, what the per-integration rate limit counts. The integration's
    name is copied in, so the audit still names it after the integration is removed (no
    foreign key to `integrations` for the same reason). Notes are said in the page's thread
    by the outbox worker. A page (`page` or `alert`) acknowledged in Slack names who did
    it, and the escalator leaves it alone: the pages' index holds only unacknowledged ones.
    """
    db["alert_groups"].create(
        {
            "id": int,
            "integration_id": int,
            "integration": str,
            "group_key": str,
            "send_id": int,
            "opened": str,
            "closed": str,
            "paged": str,
            "problem": str,
            "notice": str,
            "fingerprints": str,
        },
        pk="id",
        foreign_keys=[("send_id", "sends", "id")],
        not_null={"integration_id", "integration", "group_key", "send_id", "opened", "notice"},
    )
    db.execute(
        "CREATE UNIQUE INDEX alert_groups_open ON alert_groups (integration_id, group_key) "
        "WHERE closed IS NULL"
    )
    db.execute(
        "CREATE INDEX alert_groups_paged ON alert_groups (integration_id, paged) "
        "WHERE paged IS NOT NULL"
    )
    db["alert_groups"].create_index(["send_id"])
    db["alert_notes"].create(
        {"id": int, "send_id": int, "kind": str, "text": str, "created": str, "said": int},
        pk="id",
        foreign_keys=[("send_id", "sends", "id")],
        not_null={"send_id", "kind", "text", "created"},
        defaults={"said": 0},
    )
    db.execute("CREATE INDEX alert_notes_unsaid ON alert_notes (send_id) WHERE said = 0")
    db["sends"].add_column("acked_by", str)
    db["sends"].add_column("acked_at", str)
    db.execute("DROP INDEX idx_sends_posted_pages")
    db.execute(
        "CREATE INDEX idx_sends_posted_pages ON sends (id) "
        "WHERE kind IN ('page', 'alert') AND message_ts IS NOT NULL AND acked_by IS NULL"
    )


@migrations()
def m010_state_counts(db: Database) -> None:
    """How many recipients are in each state, kept by triggers, so /metrics reads a few rows.

    Counting by state read every recipient ever stored (50 ms at a million rows, on every
    scrape). Triggers keep the count in the same transaction as the change, whichever code
    makes it, so it cannot drift from the rows.
    """
    db.execute("CREATE TABLE state_counts (state TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    db.execute(
        "INSERT INTO state_counts (state, n) SELECT state, count(*) FROM recipients GROUP BY state"
    )
    bump = (
        "INSERT INTO state_counts (state, n) VALUES ({state}, {delta}) "
        "ON CONFLICT (state) DO UPDATE SET n = n + ({delta})"
    )
    db.execute(
        "CREATE TRIGGER state_counts_insert AFTER INSERT ON recipients BEGIN "
        + bump.format(state="new.state", delta="1")
        + "; END"
    )
    db.execute(
        "CREATE TRIGGER state_counts_delete AFTER DELETE ON recipients BEGIN "
        + bump.format(state="old.state", delta="-1")
        + "; END"
    )
    db.execute(
        "CREATE TRIGGER state_counts_update AFTER UPDATE OF state ON recipients "
        "WHEN old.state IS NOT new.state BEGIN "
        + bump.format(state="old.state", delta="-1")
        + "; "
        + bump.format(state="new.state", delta="1")
        + "; END"
    )


@migrations()
def m011_send_age_index(db: Database) -> None:
    """Retention (SMS_RETENTION_DAYS) finds the oldest sends without reading them all."""
    db["sends"].create_index(["created"])


@migrations()
def m012_orphan_index(db: Database) -> None:
    """Only orphan reports are looked up by outcome: index just those (a partial index), so
    the webhook's insert of every applied or duplicate report no longer updates it."""
    db.execute("DROP INDEX idx_reports_outcome_msg_id")
    db.execute("CREATE INDEX reports_orphans ON reports (msg_id) WHERE outcome = 'orphan'")


@migrations()
def m013_low_balance(db: Database) -> None:
    """Whether the balance is below SMS_LOW_BALANCE and whether that was said: one row, so
    a restart neither repeats the warning nor forgets one still owed."""
    db.execute(
        "CREATE TABLE low_balance (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "low INTEGER NOT NULL, said INTEGER NOT NULL, amount TEXT, changed TEXT)"
    )
    db.execute("INSERT INTO low_balance (id, low, said) VALUES (1, 0, 0)")


@migrations()
def m014_confirmations(db: Database) -> None:
    """`/sms send` above SMS_CONFIRM_ABOVE waits for its Send button: the request waits here,
    and the press claims it in one commit (`state`), so two presses send once."""
    db["confirmations"].create(
        {
            "id": int,
            "team_id": str,
            "user_id": str,
            "channel_id": str,
            "request": str,
            "created": str,
            "state": str,
        },
        pk="id",
        not_null={"team_id", "user_id", "channel_id", "request", "created", "state"},
    )
    db["confirmations"].create_index(["created"])


@migrations()
def m015_sends_by_sender(db: Database) -> None:
    """App Home lists a person's latest sends, and refreshes it after each of their reports:
    an index on the sender keeps that a look-up, however many sends others have made."""
    db.execute("CREATE INDEX sends_by_sender ON sends (user_id, id)")


@migrations()
def m016_inbox(db: Database) -> None:
    """Pushed reports are answered once their body is stored here, and applied after
    (bot/applier.py); no index but the key, so storing one is the cheapest durable write."""
    db["inbox"].create(
        {"id": int, "received_at": str, "body": str}, pk="id", not_null={"received_at", "body"}
    )


@migrations()
def m017_send_callers(db: Database) -> None:
    """Which process is in a send's gateway call. With replicas (PostgreSQL) a send still
    `calling` was cut off only if its caller is gone: `live_callers` lists the processes
    alive (there, the advisory locks they hold; storage/postgres/lease.py). Here one
    process has the file, so `caller` stays NULL and the view is empty."""
    db.execute("ALTER TABLE sends ADD COLUMN caller INTEGER")
    db.execute("CREATE VIEW live_callers AS SELECT NULL AS caller WHERE 0")
