"""Modals in the Slack stand-in: `views.open` / `views.update`, and a person using them.

Slack keeps what was typed in a modal across `views.update` when the input blocks keep
their ids; here each view's typed values are kept the same way and sent back in the
`block_actions` and `view_submission` payloads, signed as Slack signs them.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp

from standins.slack_requests import TEAM_ID, signed_headers

_ids = itertools.count(1)


def _user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID}


def shortcut_body(callback_id: str, user_id: str, channel_id: str | None = None) -> str:
    """A global shortcut: no channel, unless Slack knows the one being viewed."""
    payload: dict[str, Any] = {
        "type": "shortcut",
        "token": "legacy-unused",
        "action_ts": str(time.time()),
        "team": {"id": TEAM_ID, "domain": "demo"},
        "user": _user(user_id),
        "is_enterprise_install": False,
        "callback_id": callback_id,
        "trigger_id": f"trigger.{next(_ids)}",
    }
    if channel_id:
        payload["channel"] = {"id": channel_id, "name": "general"}
    return urlencode({"payload": json.dumps(payload)})


def message_shortcut_body(
    callback_id: str, user_id: str, channel_id: str, text: str, ts: str
) -> str:
    """A message shortcut (`message_action`), used on a message in a channel."""
    payload: dict[str, Any] = {
        "type": "message_action",
        "token": "legacy-unused",
        "action_ts": str(time.time()),
        "team": {"id": TEAM_ID, "domain": "demo"},
        "user": _user(user_id),
        "channel": {"id": channel_id, "name": "general"},
        "is_enterprise_install": False,
        "callback_id": callback_id,
        "trigger_id": f"trigger.{next(_ids)}",
        "message_ts": ts,
        "message": {"type": "message", "user": "U0BOB", "text": text, "ts": ts},
        "response_url": "https://hooks.slack.invalid/unused",
    }
    return urlencode({"payload": json.dumps(payload)})


def state_of(view: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """Slack's `view.state.values` for `answers` (block id -> text, user ids or channel id)."""
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        element = block.get("element")
        if block.get("type") != "input" or not element:
            continue
        kind, answer = element["type"], answers.get(block["block_id"])
        if kind == "multi_users_select":
            value: dict[str, Any] = {"type": kind, "selected_users": list(answer or [])}
        elif kind == "conversations_select":
            value = {"type": kind, "selected_conversation": answer}
        else:
            value = {"type": kind, "value": answer}
        values[block["block_id"]] = {element["action_id"]: value}
    return values


class ViewsStandIn:
    """Mixed into SlackStandIn: the modals it has open, by view id, as last drawn."""

    views: dict[str, dict[str, Any]]
    typed: dict[str, dict[str, Any]]  # view id -> answers so far
    groups: dict[str, list[str]]
    # user group id -> handle, for usergroups.list (a group typed as `@oncall` in a modal)
    handles: dict[str, str]

    def _usergroups_list(self, params: dict[str, Any]) -> dict[str, Any]:
        handles = getattr(self, "handles", {})
        return {
            "ok": True,
            "usergroups": [
                {"id": group_id, "handle": handles.get(group_id, group_id.lower())}
                for group_id in self.groups
            ],
        }

    def _open_views(self) -> dict[str, dict[str, Any]]:
        if not hasattr(self, "views"):
            self.views, self.typed = {}, {}
        return self.views

    def _draw(self, view_id: str, view: Any) -> dict[str, Any]:
        drawn = json.loads(view) if isinstance(view, str) else dict(view)
        drawn.update(id=view_id, hash=f"{time.time():.6f}.{next(_ids)}")
        self._open_views()[view_id] = drawn
        return {"ok": True, "view": drawn}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not str(params.get("trigger_id", "")).startswith("trigger."):
            return {"ok": False, "error": "invalid_trigger_id"}
        view_id = f"V{next(_ids):06d}"
        self._open_views()
        drawn = self._draw(view_id, params.get("view"))
        # Slack's state starts from the initial values, as if typed
        self.typed[view_id] = {
            block["block_id"]: block["element"]["initial_value"]
            for block in drawn["view"].get("blocks", [])
            if block.get("element", {}).get("initial_value")
        }
        return drawn

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = str(params.get("view_id", ""))
        shown = self._open_views().get(view_id)
        if shown is None:
            return {"ok": False, "error": "not_found"}
        if params.get("hash") and params["hash"] != shown["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        return self._draw(view_id, params.get("view"))

    def _view_payload(self, kind: str, view_id: str, user_id: str) -> dict[str, Any]:
        view = {**self.views[view_id]}
        view["state"] = {"values": state_of(view, self.typed[view_id])}
        return {
            "type": kind,
            "team": {"id": TEAM_ID, "domain": "demo"},
            "user": _user(user_id),
            "api_app_id": "A0SMSBOT",
            "trigger_id": f"trigger.{next(_ids)}",
            "view": view,
        }

    async def _post(
        self, session: aiohttp.ClientSession, url: str, secret: str, body: str
    ) -> tuple[int, str]:
        async with session.post(url, data=body, headers=signed_headers(secret, body)) as answer:
            return answer.status, await answer.text()

    async def use_shortcut(
        self,
        session: aiohttp.ClientSession,
        url: str,
        secret: str,
        callback_id: str,
        *,
        user_id: str = "U0ALICE",
        channel_id: str | None = None,
    ) -> int:
        body = shortcut_body(callback_id, user_id, channel_id)
        return (await self._post(session, url, secret, body))[0]

    async def use_message_shortcut(
        self,
        session: aiohttp.ClientSession,
        url: str,
        secret: str,
        callback_id: str,
        *,
        text: str,
        ts: str,
        user_id: str = "U0ALICE",
        channel_id: str = "C0GENERAL",
    ) -> int:
        body = message_shortcut_body(callback_id, user_id, channel_id, text, ts)
        return (await self._post(session, url, secret, body))[0]

    async def type_in(
        self,
        session: aiohttp.ClientSession,
        url: str,
        secret: str,
        view_id: str,
        answers: dict[str, Any],
        *,
        user_id: str = "U0ALICE",
    ) -> int:
        """Fill fields; a field that dispatches actions (the message) sends block_actions."""
        self.typed[view_id].update(answers)
        status = 200
        for block in self.views[view_id].get("blocks", []):
            if block["block_id"] in answers and block.get("dispatch_action"):
                element = block["element"]
                payload = self._view_payload("block_actions", view_id, user_id)
                payload["container"] = {"type": "view", "view_id": view_id}
                payload["actions"] = [
                    {
                        "type": element["type"],
                        "block_id": block["block_id"],
                        "action_id": element["action_id"],
                        "value": answers[block["block_id"]],
                        "action_ts": str(time.time()),
                    }
                ]
                body = urlencode({"payload": json.dumps(payload)})
                status = (await self._post(session, url, secret, body))[0]
        return status

    async def submit(
        self,
        session: aiohttp.ClientSession,
        url: str,
        secret: str,
        view_id: str,
        *,
        user_id: str = "U0ALICE",
    ) -> dict[str, Any]:
        """Press the modal's submit button; the bot's answer (`{}` closes the modal)."""
        payload = self._view_payload("view_submission", view_id, user_id)
        body = urlencode({"payload": json.dumps(payload)})
        status, text = await self._post(session, url, secret, body)
        assert status == 200, (status, text)
        answer = json.loads(text) if text.strip() else {}
        if not answer:
            self.views.pop(view_id, None)
        return dict(answer)
