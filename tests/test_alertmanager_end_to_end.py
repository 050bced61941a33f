"""Issue 10 against the real thing: Debian's Alertmanager pointed at an integration's URL.

A person adds an integration in a channel, the URL goes into Alertmanager's webhook
config, alerts are posted to Alertmanager's API as Prometheus would: the on-call phone
gets one SMS per firing group, the channel gets a tracked page message with an
Acknowledge button, repeats and added alerts are said in its thread without an SMS, and
resolution is said in the thread and on the message, also without an SMS.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from pathlib import Path

from standins.local import DEMO_CHANNEL, SIGNING_SECRET, LocalSystem
from standins.slack import ChannelMessage, plain
from tests.alertmanager import DISK_DB1, DISK_DB2, DISK_NOTES, Alertmanager

ONCALL = "+2348031000010"  # the simulator delivers it
TOKEN_PATH = re.compile(r"/alerts/[A-Za-z0-9_-]{22,}")


async def integration_url(system: LocalSystem, name: str = "disk") -> str:
    """`/sms alerts add NAME <to>` in the channel; the URL its private answer gives, on this bot.

    The answer's host is `SMS_PUBLIC_URL`; the test bot's port is only known once it runs,
    so the token's path is joined to the bot's address here.
    """
    status, ack = await system.slash(f"alerts add {name} {ONCALL}")
    assert status == 200, ack

    def said() -> str:
        return "\n".join([ack, *(str(r.get("text", "")) for r in system.slack.responses)])

    path = await system.wait_for(lambda: TOKEN_PATH.search(said()))
    return system.url + path.group(0)


async def notified(manager: Alertmanager, count: int, timeout: float = 15.0) -> None:  # noqa: ASYNC109
    """Until Alertmanager has sent `count` notifications, none of them refused by the bot."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await manager.notifications() < count:
        assert loop.time() < deadline, f"Alertmanager did not send {count} notifications"
        await asyncio.sleep(0.05)
    assert await manager.notifications(failed=True) == 0, "the bot did not take a notification"


def pages(system: LocalSystem) -> list[ChannelMessage]:
    return system.slack.channel_messages(DEMO_CHANNEL)


def notes(system: LocalSystem, page: ChannelMessage) -> list[str]:
    return [plain(m) for m in system.slack.thread(DEMO_CHANNEL, page.ts)]


def shown(message: ChannelMessage) -> str:
    """All a person reads on a message: its text, blocks and the links in them."""
    return message.text + "\n" + json.dumps(message.blocks, ensure_ascii=False)


def button(message: ChannelMessage, label: str) -> str | None:
    """The action_id of the button labelled `label`, if the message has one."""
    for block in message.blocks:
        for element in block.get("elements", ()) if block.get("type") == "actions" else ():
            if element.get("type") == "button" and element["text"]["text"] == label:
                return str(element["action_id"])
    return None


async def test_a_firing_group_pages_once_repeats_are_quiet_and_resolved_is_said(
    system: LocalSystem, tmp_path: Path
):
    url = await integration_url(system)
    async with Alertmanager(url, tmp_path / "alertmanager") as manager:
        await manager.fire(DISK_DB1, annotations=DISK_NOTES)
        await notified(manager, 1)
        await system.wait_for(lambda: system.gateway.sent)
        sms = system.gateway.sent[0]
        assert sms["mobile"] == ONCALL.lstrip("+")
        assert sms["content"].startswith("[FIRING")
        page = await system.wait_for(lambda: pages(system) and pages(system)[0])
        assert DISK_NOTES["summary"] in shown(page)
        assert "db1:9100" in shown(page)
        assert "runbooks.example.com/disk-full" in shown(page)
        assert "prometheus.example.com:9090" in shown(page)
        assert button(page, "Acknowledge")

        await notified(manager, 2)  # the repeat, after repeat_interval
        await system.wait_for(lambda: notes(system, page))
        repeat_notes = len(notes(system, page))

        await manager.fire(DISK_DB2, annotations=DISK_NOTES)
        await notified(manager, 3)
        await system.wait_for(lambda: len(notes(system, page)) > repeat_notes)

        await manager.resolve(DISK_DB1, DISK_DB2)
        await system.wait_for(lambda: any("resolved" in n.lower() for n in notes(system, page)))
        await system.wait_for(lambda: "resolved" in plain(pages(system)[0]).lower())
    assert len(system.gateway.sent) == 1, "repeats, added alerts and resolution send no SMS"
    assert len(pages(system)) == 1


async def test_a_group_that_fires_again_after_it_resolved_is_a_new_page(
    system: LocalSystem, tmp_path: Path
):
    url = await integration_url(system)
    async with Alertmanager(url, tmp_path / "alertmanager") as manager:
        await manager.fire(DISK_DB1, annotations=DISK_NOTES)
        await system.wait_for(lambda: system.gateway.sent)
        await manager.resolve(DISK_DB1)
        await system.wait_for(
            lambda: pages(system) and "resolved" in plain(pages(system)[0]).lower()
        )
        await manager.fire(DISK_DB1, annotations=DISK_NOTES)
        await system.wait_for(lambda: len(system.gateway.sent) == 2, timeout=15)
        await system.wait_for(lambda: len(pages(system)) == 2)
    assert all(s["content"].startswith("[FIRING") for s in system.gateway.sent)


async def test_acknowledge_names_who_pressed_it_once(system: LocalSystem, tmp_path: Path):
    url = await integration_url(system)
    async with Alertmanager(url, tmp_path / "alertmanager") as manager:
        await manager.fire(DISK_DB1, annotations=DISK_NOTES)
        await system.wait_for(lambda: pages(system) and "1 delivered" in pages(system)[0].text)
        page = copy.deepcopy(pages(system)[0])  # as shown before anyone pressed anything
        action, session = button(page, "Acknowledge"), system.session
        assert action is not None and session is not None

        def bob_named() -> int:
            said = [shown(pages(system)[0]), *notes(system, pages(system)[0])]
            return "\n".join(said).count("<@U0BOB>")

        async def press() -> int:
            """Press the button on the message as first shown (a second click, a stale view)."""
            events = system.url + "/slack/events"
            return await system.slack.click(
                session, events, SIGNING_SECRET, page, action, user_id="U0BOB"
            )

        assert await press() == 200
        once = await system.wait_for(bob_named)
        assert await press() == 200
        await asyncio.sleep(0.5)
        assert bob_named() == once, "pressing twice changes nothing"
        assert await manager.notifications(failed=True) == 0
    assert len(system.gateway.sent) == 1
