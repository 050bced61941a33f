"""A local stand-in for Slack: the Web API methods the bot calls, and the slash-command side
(modals in standins/slack_views.py, App Home in standins/slack_home.py).

The demo and the tests run the real bot against it over HTTP, so everything between
our code and the wire is exercised; only Slack itself is replaced. It records every
call and keeps the channel as Slack would show it (messages edited in place, threads).
Tests make it fail as Slack can with `fail` (see `standins.slack_faults`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from standins import slack_requests
from standins.slack_channel import Call, ChannelMessage, plain
from standins.slack_faults import Fault, take
from standins.slack_functions import FunctionsStandIn
from standins.slack_home import HomeStandIn
from standins.slack_requests import (
    block_actions_body,
    signed_headers,
    slash_command_body,
    slash_command_fields,
)
from standins.slack_views import ViewsStandIn
from standins.socket_mode import SocketModeStandIn

BOT_USER_ID = "U0BOT"
APP_TOKEN = "xapp-standin-token"
__all__ = ["APP_TOKEN", "BOT_USER_ID", "Call", "ChannelMessage", "SlackStandIn", "plain"]


@dataclass
class SlackStandIn(ViewsStandIn, FunctionsStandIn, HomeStandIn):
    """Serves `/api/<method>` like slack.com and `/respond/<n>` like a response_url.

    Socket Mode too: `apps.connections.open` (with the app-level token) hands out a
    websocket on `socket_mode` (standins/socket_mode.py). Steps: standins/slack_functions.py.
    """

    token: str = "xoxb-standin-token"
    app_token: str = APP_TOKEN
    # channel id -> Slack error code returned when the bot posts there (e.g. not_in_channel)
    refuse: dict[str, str] = field(default_factory=dict)
    # method -> faults for its next calls, one per call; see `fail` and standins.slack_faults
    fail_next: dict[str, list[str | Fault]] = field(default_factory=dict)
    # method -> seconds to wait before answering it (a slow Slack); the call is recorded at once
    delays: dict[str, float] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], ChannelMessage] = field(default_factory=dict)
    responses: list[dict[str, Any]] = field(default_factory=list)
    # user id -> profile fields (real_name, phone, deleted, is_bot, tz) for users.info
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    # user group id -> member user ids, for usergroups.users.list
    groups: dict[str, list[str]] = field(default_factory=dict)
    base_url: str = ""
    # what `Call.at` is read from: the bot's clock when a test moves time by hand
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._ts = itertools.count(1)
        self._response_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.app = web.Application()
        self.app.router.add_post("/api/{method}", self._api)
        self.app.router.add_get("/api/{method}", self._api)
        self.app.router.add_post("/respond/{n}", self._respond)
        self.socket_mode = SocketModeStandIn(self.app)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.base_url = f"http://{host}:{sockets[0].getsockname()[1]}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def new_response_url(self) -> str:
        return f"{self.base_url}/respond/{next(self._response_ids)}"

    # what tests and the demo read

    def fail(self, method: str, times: int = 1, **fault: Any) -> None:
        """Make the next `times` calls of `method` fail; `fault` as `Fault`'s fields."""
        self.fail_next.setdefault(method, []).extend([Fault(**fault)] * times)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def channel_messages(self, channel: str) -> list[ChannelMessage]:
        """Top-level messages of a channel, oldest first, as last edited."""
        return [m for m in self.messages.values() if m.channel == channel and not m.thread_ts]

    def thread(self, channel: str, ts: str) -> list[ChannelMessage]:
        return [m for m in self.messages.values() if m.channel == channel and m.thread_ts == ts]

    # the Web API

    async def _params(self, request: web.Request) -> dict[str, Any]:
        """The call's arguments, from the query string (as slack_sdk sends some) and body."""
        params: dict[str, Any] = dict(request.query)
        if request.method == "GET":
            return params
        if request.content_type == "application/json":
            return {**params, **await request.json()}
        params.update(await request.post())
        for key in ("blocks", "attachments"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.calls.append(Call(method, params, self.clock(), token))
        if self.delays.get(method):
            await asyncio.sleep(self.delays[method])
        if token not in self.tokens_for(method):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        fault = take(self.fail_next.get(method, []), params)
        if fault is not None and not fault.act:
            return fault.answer(request)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        answer = handler(params)
        if fault is not None:
            return fault.answer(request)  # it acted; the answer is what is lost
        return web.json_response(answer)

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "team_id": slack_requests.TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": "B0BOT",
        }

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.socket_mode.open(self.base_url)

    def _chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if channel in self.refuse:
            return {"ok": False, "error": self.refuse[channel]}
        if channel.startswith(("U", "W")):
            channel = "D" + channel[1:]
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        message = ChannelMessage(
            channel=channel,
            ts=ts,
            text=str(params.get("text", "")),
            blocks=list(params.get("blocks") or []),
            thread_ts=params.get("thread_ts"),
            broadcast=bool(params.get("reply_broadcast")),
        )
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (str(params.get("channel")), str(params.get("ts")))
        message = self.messages.get(key)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.text = str(params.get("text", ""))
        message.blocks = list(params.get("blocks") or [])
        message.edits += 1
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        user = str(params.get("users", ""))
        return {"ok": True, "channel": {"id": "D" + user[1:]}}

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        """A thread, its parent first, as the bot may read it (a refused channel refuses it)."""
        channel, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        if self.refuse.get(channel, "is_archived") != "is_archived":
            return {"ok": False, "error": self.refuse[channel]}
        if (channel, ts) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        thread = [self.messages[(channel, ts)], *self.thread(channel, ts)]
        return {"ok": True, "messages": [m.as_api() for m in thread], "has_more": False}

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        """A channel's top-level messages, newest first."""
        channel = str(params.get("channel", ""))
        newest_first = self.channel_messages(channel)[::-1]
        limit = int(params.get("limit") or 100)
        return {"ok": True, "messages": [m.as_api() for m in newest_first[:limit]]}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user", ""))
        person = self.users.get(user_id)
        if person is None:
            return {"ok": False, "error": "user_not_found"}
        profile = {
            "real_name": person.get("real_name", user_id),
            "display_name": person.get("display_name", ""),
            "phone": person.get("phone", ""),
        }
        return {
            "ok": True,
            "user": {
                "id": user_id,
                "name": person.get("real_name", user_id).lower(),
                "real_name": profile["real_name"],
                "deleted": bool(person.get("deleted", False)),
                "is_bot": bool(person.get("is_bot", False)),
                **({"tz": person["tz"]} if person.get("tz") else {}),
                "profile": profile,
            },
        }

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group_id = str(params.get("usergroup", ""))
        if group_id not in self.groups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.groups[group_id])}

    def _chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if channel in self.refuse:
            return {"ok": False, "error": self.refuse[channel]}
        return {"ok": True, "message_ts": f"{int(time.time())}.{next(self._ts):06d}"}

    async def _respond(self, request: web.Request) -> web.Response:
        self.responses.append(dict(await request.json()))
        return web.Response(text="ok")

    # the requests Slack sends to the bot when a person acts

    async def click(
        self,
        session: aiohttp.ClientSession,
        url: str,
        signing_secret: str,
        message: ChannelMessage,
        action_id: str,
        *,
        user_id: str = "U0ALICE",
    ) -> int:
        """Press the button `action_id` on a message, as Slack posts a block_actions payload."""
        body = block_actions_body(message, action_id, user_id, self.new_response_url())
        headers = signed_headers(signing_secret, body)
        async with session.post(url, data=body, headers=headers) as response:
            return response.status

    async def slash_command(
        self,
        session: aiohttp.ClientSession,
        url: str,
        signing_secret: str,
        text: str,
        *,
        user_id: str = "U0ALICE",
        channel_id: str = "C0GENERAL",
        command: str = "/sms",
    ) -> tuple[int, str]:
        """POST a signed slash command to the bot, as Slack does; returns its ack's text.

        Bolt answers an ack with text as plain text, and one with blocks as JSON;
        Slack shows either to the user, so both are read back as text here.
        """
        body = slash_command_body(
            command, text, user_id, channel_id, response_url=self.new_response_url()
        )
        headers = signed_headers(signing_secret, body)
        async with session.post(url, data=body, headers=headers) as response:
            raw = await response.text()
            if response.content_type == "application/json" and raw:
                return response.status, str(json.loads(raw).get("text", ""))
            return response.status, raw

    async def socket_slash_command(
        self, text: str, *, user_id: str = "U0ALICE", channel_id: str = "C0GENERAL"
    ) -> dict[str, Any]:
        """Type `/sms <text>` while the bot is in Socket Mode; returns the bot's ack."""
        fields = slash_command_fields(
            "/sms", text, user_id, channel_id, response_url=self.new_response_url()
        )
        return await self.socket_mode.send("slash_commands", fields)
