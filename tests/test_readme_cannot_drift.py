"""The README cannot drift: its demo sample, routes table and metrics table against the real thing.

People read the README before the code and trust it; each test here compares one part of it
with what the running program shows, so a change on either side fails until both agree.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import load_settings
from server.app import build_app
from standins.local import LocalSystem
from tests.cli import REPO, smsbot
from tests.conftest import SystemFactory

README = REPO / "README.md"
DELIVERS = "+2348031000010"

# What changes between two runs of the demo, and nothing else: the wording stays compared.
DEMO_MASKS = (
    (re.compile(r"(?<=http://127\.0\.0\.1:)\d+\b"), "PORT"),
    (re.compile(r"(?<=msgId )\d+\b"), "MSGID"),
    (re.compile(r"(?<=updated )\d\d:\d\d:\d\d(?= UTC)"), "HH:MM:SS"),
    (
        re.compile(
            r"(?<=tracked message \()(?:not edited|edited once|edited [1-9]\d+ times|"
            r"edited [2-9] times)(?=\):)"
        ),
        "EDITED",
    ),
)


def readme() -> str:
    return README.read_text(encoding="utf-8")


def fenced_block_after(text: str, phrase: str) -> str:
    """The first ``` block after `phrase`, without its fences."""
    found = re.search(re.escape(phrase) + r"\s*```[^\n]*\n(.*?)^```", text, re.S | re.M)
    assert found, f"no fenced block after {phrase!r} in README.md"
    return found.group(1)


def table_under(text: str, heading: str) -> list[list[str]]:
    """The cells of each body row of the first table under a `## heading`."""
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    rows = [re.split(r"(?<!\\)\|", line.strip())[1:-1] for line in lines[2:]]
    return [[cell.strip() for cell in row] for row in rows]


def masked(transcript: str) -> list[str]:
    for pattern, placeholder in DEMO_MASKS:
        transcript = pattern.sub(placeholder, transcript)
    return transcript.splitlines()


# The demo sample


def test_the_demo_masks_hide_what_changes_between_runs_and_nothing_else() -> None:
    sample = fenced_block_after(readme(), "and prints what the channel shows:")
    another_run = {
        "PORT": "51234",
        "MSGID": "261126080102334455",
        "HH:MM:SS": "08:01:02",
        "EDITED": "edited 3 times",
    }
    other_run = sample
    for pattern, placeholder in DEMO_MASKS:
        assert pattern.search(sample), f"nothing in the sample for {placeholder}"
        other_run = pattern.sub(another_run[placeholder], other_run)
    assert other_run != sample and masked(other_run) == masked(sample)
    edits = DEMO_MASKS[-1][0]
    for reworded in (
        sample.replace("could not be reached", "was not reached"),
        edits.sub("edited 1 times", sample),
        sample.replace("1 delivered · 1 failed", "2 delivered · 0 failed"),
    ):
        assert masked(reworded) != masked(sample), reworded


async def test_the_readme_demo_sample_is_what_smsbot_demo_prints(tmp_path: Path) -> None:
    run = await smsbot(tmp_path, "demo", limit=30)
    assert run.code == 0, run.stderr
    sample = fenced_block_after(readme(), "and prints what the channel shows:")
    assert masked(run.stdout) == masked(sample)


# The routes table

BASE_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-readme",
    "SLACK_SIGNING_SECRET": "readme-secret",
    "SMS_API_URL": "http://127.0.0.1:9",
    "SMS_APP_KEY": "10002",
    "SMS_APP_SECRET": "abc123",
}
SOCKET_MODE = {"SLACK_APP_TOKEN": "xapp-1-readme"}
ROUTE = re.compile(r"^`(?P<method>[A-Z]+) (?P<path>/\S*)`(?: \(`(?P<variable>[A-Z_]+)`\))?$")


def documented_routes(env: dict[str, str]) -> set[str]:
    """`METHOD path` of each row that applies to `env`; a path named by a variable moves."""
    socket_mode = "SLACK_APP_TOKEN" in env
    routes = set()
    for route, purpose, *_ in table_under(readme(), "HTTP routes"):
        found = ROUTE.match(route)
        assert found, f"unreadable route cell {route!r}"
        if socket_mode and "HTTP mode only" in purpose:
            continue
        path = env.get(found["variable"] or "", found["path"])
        routes.add(f"{found['method']} {path}")
    return routes


def served_routes(env: dict[str, str]) -> set[str]:
    """`METHOD path` of each route of the app `smsbot serve` would run with `env`.

    aiohttp answers HEAD wherever it answers GET; HTTP says HEAD goes with GET, so such a
    HEAD is counted as part of its GET row, not as a route of its own.
    """
    app = build_app(load_settings({**BASE_ENV, **env}))
    routes = {(route.method, route.resource.canonical) for route in app.router.routes()}  # type: ignore[union-attr]
    gets = {path for method, path in routes if method == "GET"}
    return {f"{m} {p}" for m, p in routes if not (m == "HEAD" and p in gets)}


@pytest.mark.parametrize("mode", [{}, SOCKET_MODE], ids=["http", "socket"])
@pytest.mark.parametrize(
    "report_path", [{}, {"SMS_REPORT_PATH": "/gateway/dlr"}], ids=["default", "moved"]
)
def test_the_routes_table_lists_every_route_the_server_exposes(
    mode: dict[str, str], report_path: dict[str, str]
) -> None:
    env = {**mode, **report_path}
    assert served_routes(env) == documented_routes(env)


def test_socket_mode_has_no_slack_events_route() -> None:
    assert "POST /slack/events" in served_routes({})
    assert "POST /slack/events" not in served_routes(SOCKET_MODE)


# The metrics table

Labels = dict[str, tuple[str, ...] | None]  # label → its closed set of values, None if open


def documented_metrics() -> dict[str, Labels]:
    """Each metric of the README's table with its labels; an open-ended label says so."""
    table: dict[str, Labels] = {}
    for name, labels, *_ in table_under(readme(), "Metrics"):
        family: Labels = {}
        for part in [] if labels == "none" else labels.split("; "):
            label, _, values = part.partition(": ")
            if re.fullmatch(r"`[^`]+`(, `[^`]+`)*", values):
                family[label.strip("`")] = tuple(re.findall(r"`([^`]+)`", values))
            else:
                assert "open-ended" in values, f"{name} {label}: neither values nor open-ended"
                family[label.strip("`")] = None
        table[name.strip("`")] = family
    assert table, "no metrics table in README.md"
    return table


def exposed(text: str) -> dict[str, list[dict[str, str]]]:
    """Each family of the exposition (counters by their `_total` name) and its series."""
    families: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(text):
        name = family.name + ("_total" if family.type == "counter" else "")
        families[name] = []
        for sample in family.samples:
            assert sample.name == name, f"stray series {sample.name} in {family.name}"
            families[name].append(sample.labels)
    return families


def closed_series(labels: Labels) -> list[dict[str, str]]:
    """Every series of a family whose labels are all closed sets; none if one is open."""
    if any(values is None for values in labels.values()):
        return []
    names = list(labels)
    combos = itertools.product(*(labels[name] or () for name in names))
    return [dict(zip(names, combo, strict=True)) for combo in combos]


async def metrics_of(system: LocalSystem) -> str:
    assert system.session is not None
    async with system.session.get(system.url + "/metrics") as response:
        assert response.status == 200
        return await response.text()


def assert_series_match_the_table(text: str) -> None:
    table = documented_metrics()
    families = exposed(text)
    assert set(families) == set(table), "README metrics table vs /metrics"
    for name, series in families.items():
        for labels in series:
            assert set(labels) == set(table[name]), f"{name}{labels}: labels not as documented"
            for label, value in labels.items():
                allowed = table[name][label]
                assert allowed is None or value in allowed, f"{name}{{{label}={value!r}}}"


async def test_the_metrics_table_lists_every_family_and_label_the_bot_exposes(
    system: LocalSystem,
) -> None:
    assert_series_match_the_table(await metrics_of(system))


async def test_no_created_timestamps_are_exported(system: LocalSystem) -> None:
    text = await metrics_of(system)
    assert "_created" not in text


async def test_a_fresh_bot_shows_every_closed_set_series_at_0(system: LocalSystem) -> None:
    text = await metrics_of(system)
    expected = {
        (name, tuple(sorted(labels.items())))
        for name, family in documented_metrics().items()
        for labels in closed_series(family)
    }
    shown = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert set(shown) == expected
    assert set(shown.values()) == {0}


async def test_open_ended_series_appear_with_their_documented_labels_at_first_use(
    make_system: SystemFactory,
) -> None:
    system = await make_system(report_delay=0.3)
    system.slack.fail_next["chat.update"] = ["token_revoked"]
    await system.slash(f"send {DELIVERS} hi")
    dropped = 'smsbot_slack_updates_dropped_total{error="token_revoked"} 1.0'
    text = ""
    for _ in range(100):
        text = await metrics_of(system)
        if dropped in text.splitlines():
            break
        await asyncio.sleep(0.1)
    assert dropped in text.splitlines()
    assert 'smsbot_slack_errors_total{error="token_revoked",method="chat.update"} 1.0' in (
        text.splitlines()
    )
    assert_series_match_the_table(text)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """CI's last line is the command a newcomer copies: both backends, nothing added."""
    command = fenced_block_after(readme(), "Run the tests:").strip()
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci == command
    assert command.endswith("&& pytest && pytest -p tests.on_postgres")
