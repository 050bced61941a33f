"""How tests make an alert integration and send it alerts: the one place to switch to the
public surface (`/sms alerts add`, `POST /alerts/{token}`) once intake's side is merged.

Until then an integration is added through the running bot's store, as `/sms alerts add`
will, and a notice is stored as the route will store it (then the route pokes the worker).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlite_utils import Database

from bot.alerts.notice import AlertNotice, Link
from bot.alerts.tokens import new_token, token_hash
from bot.services import SERVICES, Services
from standins.local import DEMO_CHANNEL, LocalSystem
from standins.slack_requests import TEAM_ID
from storage import AlertNotices, Integrations
from storage.schema import migrations


def services(system: LocalSystem) -> Services:
    assert system.app is not None
    return system.app[SERVICES]


async def add_integration(
    system: LocalSystem,
    name: str,
    to: str,
    *,
    channel: str = DEMO_CHANNEL,
    user: str = "U0ALICE",
) -> str:
    """`/sms alerts add NAME <to>` typed by `user` in `channel`; returns the URL's token."""
    found = services(system)
    token = new_token()
    added = await Integrations(found.store, found.clock).add(
        TEAM_ID, name, channel, to, token_hash(token), user
    )
    assert added is not None, f"integration {name} exists"
    return token


def firing(
    key: str,
    title: str,
    *,
    text: str = "",
    fingerprints: Sequence[str] = ("a1",),
    labels: Mapping[str, str] | None = None,
    links: Sequence[tuple[str, str]] = (),
) -> AlertNotice:
    return AlertNotice(
        source="generic",
        group_key=key,
        status="firing",
        title=title,
        text=text,
        firing=len(fingerprints),
        labels=dict(labels or {}),
        links=tuple(Link(label, url) for label, url in links),
        fingerprints=tuple(fingerprints),
    )


def resolved(key: str, title: str, *, count: int = 1) -> AlertNotice:
    return AlertNotice(
        source="generic", group_key=key, status="resolved", title=title, resolved=count
    )


async def notify(system: LocalSystem, token: str, notice: AlertNotice) -> None:
    """What `POST /alerts/{token}` does with a body that parses into `notice`."""
    found = services(system)
    integration = await Integrations(found.store, found.clock).by_token_hash(token_hash(token))
    assert integration is not None, "unknown token"
    await AlertNotices(found.store, found.clock).store_notice(
        integration.id, notice.group_key, notice.status, notice.to_json()
    )
    found.alerts_wake.set()


def store_while_down(database: Path, token: str, notice: AlertNotice, to: str = "") -> None:
    """A notice the route committed just before the bot went down (and, with `to`, the
    integration it came to), written straight into the stopped bot's database."""
    db = Database(database)
    migrations.apply(db)
    if to:
        db["integrations"].insert(
            {
                "team_id": TEAM_ID,
                "name": "restart",
                "channel_id": DEMO_CHANNEL,
                "recipients": to,
                "token_hash": token_hash(token),
                "created_by": "U0ALICE",
                "created": "2025-01-01T00:00:00.000+00:00",
            }
        )
    (integration_id,) = db.execute(
        "SELECT id FROM integrations WHERE token_hash = ?", [token_hash(token)]
    ).fetchone()
    db["alert_notices"].insert(
        {
            "integration_id": integration_id,
            "received": "2025-01-01T00:00:00.000+00:00",
            "group_key": notice.group_key,
            "status": notice.status,
            "notice": notice.to_json(),
        }
    )
    db.close()
