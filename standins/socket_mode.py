"""Slack's Socket Mode, as small as the bot needs: a websocket that carries envelopes.

`apps.connections.open` (in standins/slack.py) hands out a `ws://` URL on the Slack
stand-in; the bot (slack_sdk's aiohttp Socket Mode client, unchanged) connects to it,
is greeted with `hello` as Slack greets it, and acks each envelope sent to it by echoing
its `envelope_id`, with the ack's text as `payload`. Tests use it to run the bot in Socket
Mode over a real websocket: what a command sent this way does, and that the bot has no
HTTP door for Slack's requests then.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web


class SocketModeStandIn:
    """Serves `/socket-mode/<n>` on the stand-in's aiohttp app."""

    def __init__(self, app: web.Application) -> None:
        app.router.add_get("/socket-mode/{n}", self._connect)
        app.on_shutdown.append(self._close_all)
        self.sockets: list[web.WebSocketResponse] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self._urls = itertools.count(1)
        self._envelopes = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def open(self, base_url: str) -> dict[str, Any]:
        """The answer of `apps.connections.open`: a fresh websocket URL."""
        return {
            "ok": True,
            "url": f"ws{base_url.removeprefix('http')}/socket-mode/{next(self._urls)}",
        }

    @property
    def connected(self) -> bool:
        return any(not socket.closed for socket in self.sockets)

    async def send(self, kind: str, payload: dict[str, Any], timeout: float = 10) -> dict[str, Any]:  # noqa: ASYNC109
        """Deliver one envelope (e.g. `slash_commands`) to the bot; its ack, as Slack gets it."""
        socket = next(s for s in reversed(self.sockets) if not s.closed)
        envelope_id = f"envelope-{next(self._envelopes)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": True,
        }
        acked = self._waiting[envelope_id] = asyncio.get_running_loop().create_future()
        await socket.send_json(envelope)
        return await asyncio.wait_for(acked, timeout)

    async def _connect(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0SMSBOT"}}
        )
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                answer = json.loads(message.data)
                envelope_id = str(answer.get("envelope_id", ""))
                self.acks[envelope_id] = answer
                waiting = self._waiting.pop(envelope_id, None)
                if waiting is not None and not waiting.done():
                    waiting.set_result(answer)
        return socket

    async def _close_all(self, app: web.Application) -> None:
        for socket in self.sockets:
            await socket.close(code=WSCloseCode.GOING_AWAY)
