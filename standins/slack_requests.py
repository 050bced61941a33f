"""The requests Slack sends to the bot when a person acts, signed as Slack signs them.

Built as Slack builds them (form-encoded, `payload` JSON for interactions), so the bot's
signature check and Bolt's parsing are exercised exactly as in a real workspace.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

if TYPE_CHECKING:
    from standins.slack import ChannelMessage

TEAM_ID = "T0DEMO"


def signed_headers(
    signing_secret: str, body: str, content_type: str = "application/x-www-form-urlencoded"
) -> dict[str, str]:
    """Slack's v0 signature over the timestamp and body (form-encoded, or JSON for events)."""
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=timestamp, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }


def slash_command_fields(
    command: str, text: str, user_id: str, channel_id: str, *, response_url: str
) -> dict[str, str]:
    """A slash command's fields: form-encoded over HTTP, a JSON payload over Socket Mode."""
    return {
        "token": "legacy-unused",
        "team_id": TEAM_ID,
        "team_domain": "demo",
        "channel_id": channel_id,
        "channel_name": "general",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0SMSBOT",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    }


def slash_command_body(
    command: str, text: str, user_id: str, channel_id: str, *, response_url: str
) -> str:
    return urlencode(
        slash_command_fields(command, text, user_id, channel_id, response_url=response_url)
    )


def button_click(
    blocks: list[dict[str, Any]], action_id: str, user_id: str, **where: Any
) -> dict[str, Any]:
    """A `block_actions` payload for a click on the button `action_id` among `blocks`;
    `where` is where the button was (container, channel, message or view, response_url…)."""
    block, button = next(
        (block, element)
        for block in blocks
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("action_id") == action_id
    )
    return {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "demo"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0SMSBOT",
        "token": "legacy-unused",
        **where,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block.get("block_id", "b"),
                "text": button.get("text"),
                "value": button.get("value", ""),
                "action_ts": str(time.time()),
            }
        ],
    }


def block_actions_body(
    message: ChannelMessage, action_id: str, user_id: str, response_url: str
) -> str:
    """A click on the button `action_id` of `message`."""
    payload = button_click(
        message.blocks,
        action_id,
        user_id,
        container={
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": False,
        },
        channel={"id": message.channel, "name": "general"},
        message={"ts": message.ts, "text": message.text, "blocks": message.blocks},
        response_url=response_url,
        trigger_id="1.2.3",
    )
    return urlencode({"payload": json.dumps(payload)})


def ephemeral_block_actions_body(
    blocks: list[dict[str, Any]], channel_id: str, action_id: str, user_id: str, response_url: str
) -> str:
    """A click on the button `action_id` of an ephemeral message (one only its reader sees).

    Slack sends no `message` for an ephemeral one, only its container and the channel.
    """
    button: dict[str, Any] = next(
        element
        for block in blocks
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("action_id") == action_id
    )
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "demo"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0SMSBOT",
        "container": {
            "type": "message",
            "message_ts": f"{int(time.time())}.000001",
            "channel_id": channel_id,
            "is_ephemeral": True,
        },
        "channel": {"id": channel_id, "name": "general"},
        "response_url": response_url,
        "trigger_id": "1.2.3",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": button.get("block_id", "b"),
                "value": button.get("value", ""),
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def _event_callback(event: dict[str, Any], event_id: str, event_time: int) -> dict[str, Any]:
    """The Events API's envelope around one event, as Slack sends it to the app."""
    return {
        "token": "legacy-unused",
        "team_id": TEAM_ID,
        "api_app_id": "A0SMSBOT",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": "U0BOT",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def function_executed_payload(
    callback_id: str,
    inputs: dict[str, Any],
    *,
    execution_id: str,
    bot_access_token: str,
    definition: dict[str, Any] | None = None,
    user_id: str | None = None,
) -> dict[str, Any]:
    """A workflow reaching the app's custom step: the Events API's `function_executed`.

    Shaped as in Slack's docs (an `event_callback` envelope; the event carries the function
    as declared, the step's `inputs`, its `function_execution_id` and the `bot_access_token`
    valid for that execution). `definition` is the manifest's `functions` entry, whose
    parameters Slack lists by name; `user_id` is for a payload that names a person (Slack's
    documented one does not).
    """
    definition = definition or {}

    def listed(kind: str) -> list[dict[str, Any]]:
        return [{"name": name, **spec} for name, spec in definition.get(kind, {}).items()]

    now = time.time()
    event: dict[str, Any] = {
        "type": "function_executed",
        "function": {
            "id": "Fn0SENDSMS",
            "callback_id": callback_id,
            "title": definition.get("title", callback_id),
            "description": definition.get("description", ""),
            "type": "app",
            "input_parameters": listed("input_parameters"),
            "output_parameters": listed("output_parameters"),
            "app_id": "A0SMSBOT",
            "date_created": 1764000000,
            "date_updated": 1764000000,
            "date_deleted": 0,
        },
        "inputs": inputs,
        "function_execution_id": execution_id,
        "workflow_execution_id": "Wx" + execution_id.removeprefix("Fx"),
        "event_ts": f"{now:.6f}",
        "bot_access_token": bot_access_token,
    }
    if user_id:
        event["user_id"] = user_id
    return _event_callback(event, "Ev" + execution_id.removeprefix("Fx"), int(now))


def app_home_opened_fields(
    user_id: str, *, tab: str = "home", view: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The Events API's `event_callback` for a person opening the app's Home (or Messages)
    tab; `view` is the tab as last published, which Slack includes once there is one."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": "D" + user_id[1:],
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }
    if view is not None:
        event["view"] = view
    now = int(time.time())
    return _event_callback(event, f"Ev{now}{user_id}", now)


def app_home_opened_body(
    user_id: str, *, tab: str = "home", view: dict[str, Any] | None = None
) -> str:
    """The event as Slack POSTs it over HTTP: a JSON body."""
    return json.dumps(app_home_opened_fields(user_id, tab=tab, view=view))
