"""`POST /alerts/{token}` over real HTTP to the running bot.

Integrations are made the way a person makes them, with `/sms alerts add` in the channel;
what the route stored is read from its database, what it counted from `/metrics`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from bot.alerts.tokens import new_token
from bot.services import SERVICES
from standins.local import LocalSystem
from tests.alert_integrations import add_integration, answer, post_alert, stored_notices
from tests.stored import execute, on_postgres
from tests.test_alert_payloads import ALERTMANAGER, grafana_body

FIRING = {"key": "backup", "status": "firing", "title": "Nightly backup failed"}


async def metric_lines(system: LocalSystem) -> list[str]:
    assert system.session is not None
    async with system.session.get(system.url + "/metrics") as response:
        return [line for line in (await response.text()).splitlines() if "smsbot_alerts" in line]


# stored, then answered


async def test_an_alert_is_answered_200_once_stored_and_the_worker_is_woken(
    system: LocalSystem,
) -> None:
    token = await add_integration(system)
    services = system.app[SERVICES]  # type: ignore[index]
    seen_when_woken: list[int] = []

    async def worker_stand_in() -> None:
        await services.alerts_wake.wait()
        seen_when_woken.append(len(stored_notices(system)))

    services.alerts_wake.clear()
    waiter = asyncio.create_task(worker_stand_in())
    await asyncio.sleep(0)
    assert await post_alert(system, token, FIRING) == (200, {"ok": True})
    await asyncio.wait_for(waiter, timeout=5)
    assert seen_when_woken == [1]
    [(key, status, notice)] = stored_notices(system)
    assert (key, status) == ("backup", "firing")
    assert notice["title"] == "Nightly backup failed"


async def test_alertmanager_and_grafana_bodies_are_stored_as_notices(system: LocalSystem) -> None:
    token = await add_integration(system)
    assert (await post_alert(system, token, ALERTMANAGER))[0] == 200
    assert (await post_alert(system, token, grafana_body()))[0] == 200
    sources = [notice["source"] for _, _, notice in stored_notices(system)]
    assert sources == ["alertmanager", "grafana"]


async def test_a_body_just_under_256_kib_is_taken(system: LocalSystem) -> None:
    token = await add_integration(system)
    body = json.dumps({**FIRING, "text": ""}).encode()
    padded = body[:-1] + b' ,"pad": "' + b"x" * (256 * 1024 - len(body) - 12) + b'"}'
    assert len(padded) <= 256 * 1024
    assert (await post_alert(system, token, padded))[0] == 200


async def test_the_route_answers_without_waiting_on_slack_or_the_gateway(
    system: LocalSystem,
) -> None:
    token = await add_integration(system)
    for method in ("chat.postMessage", "chat.update", "users.info", "usergroups.users.list"):
        system.slack.delays[method] = 5
    system.gateway.config.send_delay = 5
    started = time.monotonic()
    assert (await post_alert(system, token, FIRING))[0] == 200
    assert time.monotonic() - started < 2


# refused


async def test_unknown_retired_and_malformed_tokens_get_the_same_404(system: LocalSystem) -> None:
    old = await add_integration(system)
    await answer(system, "alerts rotate prod")
    answers = [
        await post_alert(system, token, FIRING)
        for token in (new_token(), old, "x", "t%C3%B6ken%20", "a" * 500)
    ]
    assert answers == [(404, {"ok": False, "error": "no alert integration at this URL"})] * 5
    assert stored_notices(system) == []
    assert await metric_lines(system) == [
        "# HELP smsbot_alerts_total Notifications received by alert integrations, by what "
        "became of them",
        "# TYPE smsbot_alerts_total counter",
    ]


async def test_a_body_it_cannot_read_is_400_with_the_reason(system: LocalSystem) -> None:
    token = await add_integration(system)
    status, body = await post_alert(system, token, {"key": "backup", "status": "burning"})
    assert status == 400
    assert body == {
        "ok": False,
        "error": 'field status must be "firing" or "resolved", not "burning"',
    }
    status, body = await post_alert(system, token, b"\x00not json")
    assert (status, body["error"]) == (400, "body is not JSON")
    assert stored_notices(system) == []


async def test_a_body_over_256_kib_is_413_whatever_content_length_says(
    system: LocalSystem,
) -> None:
    token = await add_integration(system)
    assert system.session is not None
    big = json.dumps({**FIRING, "text": "x" * (256 * 1024)}).encode()
    assert (await post_alert(system, token, big))[0] == 413

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 16 * 1024):
            yield big[start : start + 16 * 1024]

    async with system.session.post(f"{system.url}/alerts/{token}", data=chunked()) as response:
        assert response.status == 413
        assert await response.json() == {"ok": False, "error": "body over 256 KiB"}
    assert stored_notices(system) == []


async def test_a_notice_that_could_not_be_stored_is_503_so_the_sender_retries(
    system: LocalSystem,
) -> None:
    token = await add_integration(system)
    if on_postgres(system):
        execute(
            system,
            "CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RAISE EXCEPTION 'database or disk is full'; END $$",
        )
        execute(
            system,
            "CREATE TRIGGER full_disk BEFORE INSERT ON alert_notices "
            "FOR EACH ROW EXECUTE FUNCTION full_disk()",
        )
    else:
        execute(
            system,
            "CREATE TRIGGER full_disk BEFORE INSERT ON alert_notices "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
        )
    status, body = await post_alert(system, token, FIRING)
    assert status == 503
    assert body == {"ok": False, "error": "could not store the alert, send it again"}


# counted


async def test_alerts_are_counted_per_integration_and_status(system: LocalSystem) -> None:
    prod = await add_integration(system, "prod")
    await add_integration(system, "backups", "+2348031000011")
    await post_alert(system, prod, FIRING)
    await post_alert(system, prod, {**FIRING, "status": "resolved"})
    await post_alert(system, prod, {**FIRING, "status": "resolved"})
    await post_alert(system, prod, {"nope": 1})
    series = [line for line in await metric_lines(system) if not line.startswith("#")]
    assert series == [
        'smsbot_alerts_total{integration="prod",status="firing"} 1.0',
        'smsbot_alerts_total{integration="prod",status="resolved"} 2.0',
        'smsbot_alerts_total{integration="prod",status="rejected"} 1.0',
        'smsbot_alerts_total{integration="prod",status="unstored"} 0.0',
    ]


HOSTILE = [
    b"",
    b"null",
    b'"firing"',
    b"[" * 50_000,
    b'{"key": 1' + b"0" * 5000 + b', "status": "firing"}',
    b'{"key": "k", "status": "firing", "title": 1e999999}',
    b'{"key": "k", "status": "firing", "text": NaN}',
    b'{"key": "\\ud800", "status": "firing", "title": "\\udfff\\u0000"}',
    b'{"alerts": [{"status": "firing", "labels": {"a": {"b": []}}}], "status": "firing",'
    b' "groupKey": "g", "commonLabels": {"x": null, "\\u0000": "\\n"}}',
    b'{"alerts": [{"status": "firing", "fingerprint": ["x"]}], "status": "firing", "groupKey": 1}',
    b'{"alerts": [{"status": "firing", "generatorURL": {}}], "status": "firing", "groupKey": "g"}',
    '{"key": "κλειδί", "status": "resolved", "title": "数据库"}'.encode("utf-16"),
]


async def test_hostile_bodies_get_200_or_400_and_never_a_server_error(
    system: LocalSystem,
) -> None:
    token = await add_integration(system)
    for body in HOSTILE:
        status, answer_body = await post_alert(system, token, body)
        assert status in (200, 400), (body[:80], status, answer_body)
        assert answer_body["ok"] is (status == 200)
