"""How tests make an alert integration and send it alerts, through the public surface:
`/sms alerts add` in Slack, and Alertmanager's webhook body POSTed to `/alerts/{token}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.alerts.notice import AlertNotice, Link
from bot.alerts.tokens import token_hash
from bot.services import SERVICES, Services
from standins.local import DEMO_CHANNEL, LocalSystem
from standins.slack_requests import TEAM_ID
from tests.alert_integrations import answer, post_alert, token_in
from tests.stored import Where, opened_store


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
    return token_in(
        await answer(system, f"alerts add {name} {to}", user_id=user, channel_id=channel)
    )


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


def alertmanager_body(notice: AlertNotice) -> dict[str, object]:
    """The Alertmanager webhook (version 4) that monitoring would send for `notice`."""
    links = {link.label: link.url for link in notice.links}
    annotations = {"summary": notice.title}
    if notice.text:
        annotations["description"] = notice.text
    if "Runbook" in links:
        annotations["runbook_url"] = links["Runbook"]
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": notice.title, **notice.labels, "n": fingerprint},
            "annotations": annotations,
            "startsAt": "2026-11-25T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": links.get("Source", ""),
            "fingerprint": fingerprint,
        }
        for fingerprint in notice.fingerprints
    ] or [
        {
            "status": "resolved",
            "labels": {"alertname": notice.title, **notice.labels},
            "annotations": annotations,
            "startsAt": "2026-11-25T10:00:00Z",
            "endsAt": "2026-11-25T10:05:00Z",
            "generatorURL": "",
            "fingerprint": "r1",
        }
    ]
    return {
        "version": "4",
        "groupKey": notice.group_key,
        "truncatedAlerts": 0,
        "status": notice.status,
        "receiver": "smsbot",
        "groupLabels": {"alertname": notice.title},
        "commonLabels": {"alertname": notice.title, **notice.labels},
        "commonAnnotations": annotations,
        "externalURL": "http://alertmanager.example:9093",
        "alerts": alerts,
    }


async def notify(system: LocalSystem, token: str, notice: AlertNotice) -> None:
    """POST /alerts/{token} with the Alertmanager body for `notice`, answered 200."""
    status, body = await post_alert(system, token, alertmanager_body(notice))
    assert status == 200, body


async def store_while_down(where: Where, token: str, notice: AlertNotice, to: str = "") -> None:
    """A notice the route committed just before the bot went down (and, with `to`, the
    integration it came to), written straight into the stopped bot's database."""

    def write(db: Any) -> None:
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

    async with opened_store(where) as store:
        await store.write(write)
