"""Nothing lost across a restart between an alert's arrival and its page, and never two pages.

A notice is stored before the route answers 200; the page's group is written in the commit
that writes its send down, before the gateway is called, with the notice marked done.
"""

from __future__ import annotations

from pathlib import Path

from bot.alerts.tokens import new_token
from standins.local import DEMO_CHANNEL, LocalSystem
from tests.alerting import add_integration, firing, notify, store_while_down
from tests.conftest import SystemFactory
from tests.stored import database_env
from tests.test_write_ahead import ServedBot, sends_made

BOB = {"real_name": "Bob", "phone": "+234 803 100 0010"}


def pages(system: LocalSystem) -> list[str]:
    return [m.text for m in system.slack.channel_messages(DEMO_CHANNEL)]


async def test_a_notice_stored_before_a_restart_pages_exactly_once(make_system: SystemFactory):
    system = await make_system()
    system.slack.users["U0BOB"] = BOB
    token = await add_integration(system, "db", "<@U0BOB|bob>")
    await system.stop_bot()
    await store_while_down(system, token, firing("g1", "Stored before the restart"))
    await system.start_bot()
    await system.wait_for(lambda: pages(system))
    await system.restart_bot()
    await notify(system, token, firing("g2", "After the second start"))
    await system.wait_for(lambda: len(pages(system)) == 2)
    assert [sent["content"] for sent in system.gateway.sent] == [
        "[FIRING:1] Stored before the restart",
        "[FIRING:1] After the second start",
    ]


async def test_a_crash_while_the_gateway_holds_the_page_never_pages_twice(
    make_system: SystemFactory, tmp_path: Path
):
    stand_ins = await make_system(send_delay=60)  # the gateway takes the SMS, holds the answer
    stand_ins.slack.users["U0BOB"] = BOB
    database = tmp_path / "served.db"
    token = new_token()
    await store_while_down(database_env(database), token, firing("g1", "DB down"), to="<@U0BOB>")
    bot = ServedBot(stand_ins, database, tmp_path)
    await bot.start()
    try:
        await stand_ins.wait_for(lambda: sends_made(stand_ins), timeout=10)
        await bot.kill()
        await bot.start()
        message = await stand_ins.wait_for(lambda: pages(stand_ins), timeout=15)
        assert "[FIRING:1] DB down" in message[0] and "1 unknown" in message[0], message
        stand_ins.gateway.config.send_delay = 0
        await bot.kill()
        await store_while_down(database_env(database), token, firing("g1", "DB down"))  # a repeat
        await bot.start()
        await stand_ins.wait_for(
            lambda: any(
                "Still firing" in m.text for m in stand_ins.slack.messages.values() if m.thread_ts
            ),
            timeout=15,
        )
        assert len(sends_made(stand_ins)) == 1
        assert len(pages(stand_ins)) == 1
    finally:
        await bot.stop()
