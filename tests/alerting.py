"""How tests make an alert integration and send it alerts: the one place to switch to the
public surface (`/sms alerts add`, `POST /alerts/{token}`) once intake's side is merged.

Until then an integration is added through the running bot's store, as `/sms alerts add`
will, and a notice is stored as the route will store it (then the route pokes the worker).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.alerts.notice import AlertNotice, Link
from bot.alerts.tokens import new_token, token_hash
from bot.services import SERVICES, Services
from standins.local import DEMO_CHANNEL, LocalSystem
from standins.slack_requests import TEAM_ID
from storage import AlertNotices, Integrations


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
