"""Pushed reports are answered once stored in the inbox, and applied just after.

The webhook's answer is the durable promise; the applier (bot/applier.py) does the rest a
chunk at a time. These tests pin what that split must never change: every answered report
is applied exactly once, in arrival order, whatever the batching, and one that a crash left
in the inbox is applied at the next start.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from standins.local import LocalSystem
from tests.cli import smsbot
from tests.conftest import SystemFactory
from tests.stored import execute, rows
from tests.test_report_webhook import metric, post_raw, report, shows

NUMBERS = [f"+23480310{n:05d}" for n in range(120)]


async def send_to(system: LocalSystem, numbers: list[str]) -> str:
    status, _ = await system.slash(f"send {','.join(numbers)} hi")
    assert status == 200
    await shows(system, f"0 delivered, 0 failed, {len(numbers)} pending")
    return str(system.gateway.sent[0]["msgId"])


async def test_a_burst_of_reports_is_applied_once_each_in_arrival_order(
    make_system: SystemFactory,
) -> None:
    system = await make_system(
        report_delay=60, env={"SMS_MAX_RECIPIENTS": "200", "SMS_CONFIRM_ABOVE": "1000"}
    )
    msg_id = await send_to(system, NUMBERS)
    first = [report(msg_id, mobile=n[1:], status=0, error_code="DELIVRD") for n in NUMBERS]
    # a later report for the first 10 says failed: the first final state wins, in order
    later = [report(msg_id, mobile=n[1:], status=2, error_code="UNDELIV") for n in NUMBERS[:10]]
    unknown = [report("990000000000000001", mobile=n[1:]) for n in NUMBERS[:5]]
    answers = await asyncio.gather(*(post_raw(system, body) for body in first + unknown))
    answers += await asyncio.gather(*(post_raw(system, body) for body in later))
    assert all(answer == (200, {"code": 0, "msg": "ok"}) for answer in answers)
    await system.reports_applied()
    await shows(system, f"{len(NUMBERS)} delivered, 0 failed, 0 pending")
    outcomes = {
        outcome: await metric(
            system, "smsbot_reports_received_total", source="push", outcome=outcome
        )
        for outcome in ("applied", "conflict", "orphan")
    }
    assert outcomes == {"applied": len(NUMBERS), "conflict": 10, "orphan": 5}
    assert rows(system, "SELECT count(*) FROM inbox") == [(0,)]
    assert rows(system, "SELECT count(*) FROM reports") == [(len(first) + len(unknown) + 10,)]


async def test_a_report_a_crash_left_in_the_inbox_is_applied_at_the_next_start(
    make_system: SystemFactory,
) -> None:
    system = await make_system(report_delay=60)
    msg_id = await send_to(system, NUMBERS[:2])
    await system.stop_bot()
    # what a crash between the answer and the applier's commit leaves behind
    body = '{"msgId": "%s", "mobile": "%s", "status": 0, "errorCode": "DELIVRD"}'
    execute(
        system,
        "INSERT INTO inbox (received_at, body) VALUES (?, ?)",
        ["2026-11-26T00:00:00.000+00:00", body % (msg_id, NUMBERS[0][1:])],
    )
    await system.start_bot()
    await shows(system, "1 delivered, 0 failed, 1 pending")
    assert rows(system, "SELECT received_at, outcome FROM reports") == [
        ("2026-11-26T00:00:00.000+00:00", "applied")
    ]
    assert rows(system, "SELECT count(*) FROM inbox") == [(0,)]


async def test_the_pending_gauge_is_back_at_0_once_an_answered_report_is_applied(
    make_system: SystemFactory,
) -> None:
    """`reports_applied()` reads `smsbot_reports_pending` from /metrics and waits for 0: it
    times out if the gauge is missing, and the report must be applied when it returns."""
    system = await make_system(report_delay=60)
    msg_id = await send_to(system, NUMBERS[:1])
    assert (await post_raw(system, report(msg_id, mobile=NUMBERS[0][1:])))[0] == 200
    await system.reports_applied()
    assert rows(system, "SELECT outcome FROM reports") == [("applied",)]
    assert rows(system, "SELECT count(*) FROM inbox") == [(0,)]


async def test_reports_for_a_send_from_the_terminal_queue_no_channel_update(
    make_system: SystemFactory, tmp_path: Path
) -> None:
    """`smsbot send` has no channel and no tracked message: its reports are applied and
    logged, and nothing is queued for the notifier to load and throw away."""
    system = await make_system(report_delay=60)
    await system.stop_bot()  # one process per database: the terminal sends in between
    run = await smsbot(tmp_path, "send", NUMBERS[0], "-m", "hi", env=system.environment())
    assert run.code == 0, run.stderr
    await system.start_bot()
    msg_id = str(system.gateway.sent[0]["msgId"])
    assert (await post_raw(system, report(msg_id, mobile=NUMBERS[0][1:])))[0] == 200
    await system.reports_applied()
    assert rows(system, "SELECT state FROM recipients") == [("delivered",)]
    assert rows(system, "SELECT count(*) FROM outbox") == [(0,)]
