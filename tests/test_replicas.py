"""Two replicas of `smsbot serve` on one PostgreSQL database (issue 13).

Real processes on real ports, a real PostgreSQL server (tests/postgres.py), the Slack
stand-in and the gateway simulator in this process. Any replica takes any request; one
at a time does the background work (bot/replica.py) and the other passes its pokes on;
a SIGKILLed active replica's work is taken over by the standby.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from bot.replica import CHECK_EVERY, TAKE_OVER
from standins.child import ChildBot, serve_env
from standins.gateway_simulator import GatewaySimulator, SimulatorConfig
from standins.local import DEMO_CHANNEL, SIGNING_SECRET
from standins.slack import SlackStandIn
from storage.postgres.lease import LOCK_KEY
from tests.cli import free_port, smsbot
from tests.postgres import Cluster as PostgresCluster

# A take-over: the server freeing the lock at once (SIGKILL), the standby's next try, its
# grace, with room for a slow CI machine.
TAKE_OVER_WITHIN = TAKE_OVER + 2 * CHECK_EVERY + 10


@dataclass
class Cluster:
    slack: SlackStandIn
    gateway: GatewaySimulator
    session: aiohttp.ClientSession
    replicas: list[ChildBot]

    async def roles(self) -> list[str | None]:
        """Each replica's role from its /healthz; None for one that does not answer."""
        roles: list[str | None] = []
        for replica in self.replicas:
            try:
                roles.append(str((await replica.health(self.session))["role"]))
            except (aiohttp.ClientError, TimeoutError):
                roles.append(None)
        return roles

    async def until(self, want: list[str | None], seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (got := await self.roles()) != want:
            assert loop.time() < deadline, f"roles {got}, wanted {want}"
            await asyncio.sleep(0.2)

    async def start_both(self) -> tuple[ChildBot, ChildBot]:
        """The first replica, once it is active; then the second, a standby."""
        first, second = self.replicas
        await first.start(self.session)
        await self.until(["active", None], TAKE_OVER_WITHIN)
        await second.start(self.session)
        await self.until(["active", "standby"], 5)
        return first, second

    async def until_published(self, count: int, seconds: float = 20) -> None:
        """Until Alice's App Home has been published `count` times."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while len(self.slack.calls_to("views.publish")) < count:
            assert loop.time() < deadline, f"published {self.slack.calls_to('views.publish')}"
            await asyncio.sleep(0.1)

    async def answers(self, count: int, seconds: float = 20) -> list[dict[str, Any]]:
        """The first `count` answers the bot gave at response_url."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while len(self.slack.responses) < count:
            assert loop.time() < deadline, f"answers {self.slack.responses}"
            await asyncio.sleep(0.05)
        return self.slack.responses[:count]

    def sends_made(self) -> list[Any]:
        return [body for op, body in self.gateway.requests if op == "send"]

    async def until_gateway_has(self, count: int, seconds: float = 20) -> None:
        """Until `count` send requests have reached the gateway (answered or held)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while len(self.sends_made()) < count:
            assert loop.time() < deadline, f"the gateway has {self.sends_made()}"
            await asyncio.sleep(0.05)

    async def send(self, replica: ChildBot, number: str, text: str) -> None:
        url = replica.url + "/slack/events"
        await self.slack.slash_command(self.session, url, SIGNING_SECRET, f"send {number} {text}")

    async def channel(self, predicate: Any, seconds: float = 20) -> list[str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            texts = [m.text for m in self.slack.channel_messages(DEMO_CHANNEL)]
            if predicate(texts):
                return texts
            assert loop.time() < deadline, f"channel shows {texts}"
            await asyncio.sleep(0.1)


@pytest.fixture
async def cluster(postgres_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    slack = SlackStandIn()
    gateway = GatewaySimulator(SimulatorConfig(report_delay=0.3, retry_delay=0.2))
    await slack.start()
    gateway_url = await gateway.start()
    env = {
        **serve_env(slack, gateway, gateway_url),
        "DATABASE_URL": postgres_url,
        "LOG_LEVEL": "INFO",
    }
    replicas = [ChildBot(env, free_port(), tmp_path, tmp_path / f"replica-{n}.log") for n in "ab"]
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            yield Cluster(slack, gateway, session, replicas)
        finally:
            for replica in replicas:
                await replica.stop()
    await gateway.stop()
    await slack.stop()


async def test_the_standby_takes_requests_and_the_active_replica_does_their_work(
    cluster: Cluster,
) -> None:
    _first, second = await cluster.start_both()
    # The gateway pushes its reports to the standby: only a NOTIFY tells the active one.
    cluster.gateway.config.report_url = second.url + "/sms/reports"
    # Alice's App Home is open on the standby; the active replica's notifier sees her send.
    slack_events = second.url + "/slack/events"
    assert await cluster.slack.open_home(cluster.session, slack_events, SIGNING_SECRET) == 200
    await cluster.until_published(1)

    await cluster.send(second, "+2348031000010", "from the standby")
    texts = await cluster.channel(lambda t: t and t[0].endswith("1 delivered, 0 failed, 0 pending"))
    assert len(texts) == 1, "one tracked message, posted once"
    (answer,) = await cluster.answers(1)  # the answer follows the post it names
    assert answer["text"].startswith(":white_check_mark: Sent to +234 803 100 0010"), answer
    assert await cluster.roles() == ["active", "standby"]
    await cluster.until_published(2)  # the standby heard of it and refreshed her tab


async def test_a_killed_active_replica_is_replaced_by_the_standby_and_its_work_finished(
    cluster: Cluster,
) -> None:
    first, second = await cluster.start_both()
    # The report comes while the active replica is dead: its take-over applies it.
    cluster.gateway.config.report_url = second.url + "/sms/reports"
    cluster.gateway.config.report_delay = 2.0

    await cluster.send(second, "+2348031000011", "before the kill")
    await cluster.channel(lambda t: t and t[0].endswith("0 delivered, 0 failed, 1 pending"))
    await first.kill()
    await cluster.until([None, "active"], TAKE_OVER_WITHIN)
    await cluster.channel(lambda t: t and t[0].endswith("1 delivered, 0 failed, 0 pending"))

    await cluster.send(second, "+2348031000012", "after the kill")
    texts = await cluster.channel(
        lambda t: len(t) == 2 and all(m.endswith("1 delivered, 0 failed, 0 pending") for m in t)
    )
    assert len(texts) == 2, "each send's message posted once, across the take-over"

    await first.start(cluster.session)
    await cluster.until(["standby", "active"], 5)


async def test_a_database_that_does_not_sort_text_in_byte_order_is_refused_at_start(
    postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    """An ICU default collation sorts 'a' before 'B'; the bot's ISO times and names need
    byte order, as in SQLite. Refused in one line saying how to create the database."""
    name = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as conn:
        conn.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 LOCALE 'C' "
            "LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
        )
    url = postgres_cluster.url(name)
    try:
        env = {
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s",
            "SMS_API_URL": "http://127.0.0.1:9/",
            "SMS_APP_KEY": "k",
            "SMS_APP_SECRET": "s",
        }
        run = await smsbot(tmp_path, "serve", env=env)
        assert run.code == 2
        assert len(run.problems) == 1, run.stderr
        assert "does not compare text in byte order" in run.problems[0]
        assert "LOCALE 'C'" in run.problems[0]
    finally:
        postgres_cluster.drop_database(url)


async def test_an_active_replica_whose_session_is_cut_stops_and_one_replica_carries_on(
    cluster: Cluster, postgres_url: str
) -> None:
    """The lock goes with the session: cut it (as a reset connection would) and the
    active replica stops its work; the lock is taken again, by one replica only."""
    first, _second = await cluster.start_both()

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        (cut,) = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
            "AND ((classid::bigint << 32) | objid::bigint) = %s AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            [LOCK_KEY],
        ).fetchall()
    assert cut == (True,)

    seen: list[list[str | None]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TAKE_OVER_WITHIN
    noticed = False  # the first replica stopped being active: it saw its session end
    while not (noticed and seen[-1].count("active") == 1 and "taking over" not in seen[-1]):
        assert loop.time() < deadline, f"roles seen: {seen}"
        seen.append(await cluster.roles())
        noticed = noticed or seen[-1][0] != "active"
        await asyncio.sleep(0.1)
    assert all(roles.count("active") <= 1 for roles in seen), seen

    cluster.gateway.config.report_url = first.url + "/sms/reports"
    await cluster.send(first, "+2348031000013", "after the cut")
    await cluster.channel(lambda t: t and t[0].endswith("1 delivered, 0 failed, 0 pending"))


async def test_a_send_in_its_gateway_call_is_left_alone_while_its_replica_lives(
    cluster: Cluster,
) -> None:
    """The active replica looks for sends cut off in their gateway call every round; one
    the standby is still calling for is not one of them (its caller is alive), and one
    whose replica was killed mid-call is shown with its recipient unknown, never re-sent."""
    _first, second = await cluster.start_both()
    cluster.gateway.config.report_url = second.url + "/sms/reports"
    cluster.gateway.config.send_delay = 3.0  # several of the active replica's rounds

    await cluster.send(second, "+2348031000014", "slow gateway")
    await cluster.channel(lambda t: t and t[0].endswith("1 delivered, 0 failed, 0 pending"))
    edits = [c.params for c in cluster.slack.calls if c.method.startswith("chat.")]
    assert not [e for e in edits if "unknown" in str(e.get("text", ""))], edits

    cluster.gateway.config.send_delay = 60.0
    await cluster.send(second, "+2348031000015", "cut off")  # acked; the call goes on
    await cluster.until_gateway_has(2)
    await second.kill()
    texts = await cluster.channel(lambda t: len(t) == 2 and "1 unknown" in t[1])
    assert len(cluster.sends_made()) == 2, "never sent again"
    assert texts[0].endswith("1 delivered, 0 failed, 0 pending")
