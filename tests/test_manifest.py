"""manifest.yml is what an admin pastes into Slack: it must pass Slack's own schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from listeners.compose_form import CALLBACK_ID
from listeners.shortcuts.text_message import CALLBACK_ID as MESSAGE_SHORTCUT

REPO = Path(__file__).resolve().parents[1]
SCHEMA_DIR = Path(__file__).resolve().parent / "slack_manifest_schema"
SCHEMA_FILE = SCHEMA_DIR / "manifest.schema.1.0.0.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    with (REPO / "manifest.yml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def test_manifest_is_valid_against_slack_schema(
    manifest: dict[str, Any], schema: dict[str, Any]
) -> None:
    validator_class = jsonschema.validators.validator_for(schema)
    assert validator_class is jsonschema.Draft7Validator, schema.get("$schema")
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]
    assert errors == []


def _sms_command(manifest: dict[str, Any]) -> dict[str, Any]:
    commands = manifest["features"]["slash_commands"]
    return next(command for command in commands if command["command"] == "/sms")


def test_sms_command_escapes_text_so_mentions_arrive_as_ids(manifest: dict[str, Any]) -> None:
    assert _sms_command(manifest)["should_escape"] is True


def test_sms_command_posts_to_the_bolt_events_route(manifest: dict[str, Any]) -> None:
    assert _sms_command(manifest)["url"].endswith("/slack/events")


def test_interactivity_posts_to_the_same_route_as_the_command(manifest: dict[str, Any]) -> None:
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    assert interactivity["request_url"] == _sms_command(manifest)["url"]


def test_the_messages_tab_is_read_only_while_the_bot_reads_no_direct_messages(
    manifest: dict[str, Any],
) -> None:
    """A writable Messages tab invites people to write to a bot that never answers."""
    events = manifest.get("settings", {}).get("event_subscriptions", {}).get("bot_events", [])
    app_home = manifest["features"]["app_home"]
    if "message.im" not in events:
        assert app_home["messages_tab_read_only_enabled"] is True


def test_socket_mode_is_the_one_manifest_switch_the_readme_names(
    manifest: dict[str, Any],
) -> None:
    readme = (REPO / "README.md").read_text()
    assert manifest["settings"]["socket_mode_enabled"] is False  # HTTP mode as shipped
    assert "`socket_mode_enabled: true`" in readme
    assert "*App-Level Tokens*" in readme and "`connections:write`" in readme


# Web API methods the bot may call, and the bot scopes each needs (api.slack.com/methods).
# Reading (to find a page alert whose answer was lost) covers where tracked messages live:
# public and private channels, and the sender's DM with the app; never a group DM, which
# refuses the bot.
READ_SCOPES = ("channels:history", "groups:history", "im:history")
METHOD_SCOPES = {
    "chat_postMessage": ("chat:write",),
    "chat_update": ("chat:write",),
    "chat_postEphemeral": ("chat:write",),
    "users_info": ("users:read",),
    "usergroups_users_list": ("usergroups:read",),
    "usergroups_list": ("usergroups:read",),
    "conversations_open": ("im:write",),
    "conversations_replies": READ_SCOPES,
    "conversations_history": READ_SCOPES,
    # modals need no scope of their own: the shortcut's trigger_id (from `commands`) opens one
    "views_open": (),
    "views_update": (),
    # the Home tab: no scope either (views.publish lists none), nor its app_home_opened event
    "views_publish": (),
}


def _methods_called() -> set[str]:
    """Web API methods called anywhere in the runtime code, found as `.method_name(`."""
    called = set()
    for folder in ("bot", "listeners", "server", "sms", "storage", "smsbot"):
        for path in (REPO / folder).rglob("*.py"):
            called |= set(
                re.findall(
                    r"\.(chat_\w+|users_\w+|usergroups_\w+|conversations_\w+|views_\w+)\(",
                    path.read_text(),
                )
            )
    return called


def test_bot_scopes_are_exactly_what_the_code_uses(manifest: dict[str, Any]) -> None:
    called = _methods_called()
    assert called, "no Web API calls found: the scan is broken"
    unknown = called - METHOD_SCOPES.keys()
    assert not unknown, f"add the scopes of {unknown} to METHOD_SCOPES"
    needed = {scope for m in called for scope in METHOD_SCOPES[m]} | {"commands"}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed


def test_schema_check_rejects_a_manifest_with_a_misspelt_key(
    manifest: dict[str, Any], schema: dict[str, Any]
) -> None:
    broken = {**manifest, "settings": {**manifest["settings"], "socket_mode": False}}
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert not validator.is_valid(broken)


def test_the_shortcuts_are_declared_as_their_listeners_are_named(
    manifest: dict[str, Any],
) -> None:
    declared = {s["callback_id"]: s["type"] for s in manifest["features"]["shortcuts"]}
    assert declared == {CALLBACK_ID: "global", MESSAGE_SHORTCUT: "message"}


def test_the_home_tab_is_on_and_its_opening_comes_to_the_bolt_events_route(
    manifest: dict[str, Any],
) -> None:
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    events = manifest["settings"]["event_subscriptions"]
    assert "app_home_opened" in events["bot_events"]
    assert events["request_url"] == _sms_command(manifest)["url"]
