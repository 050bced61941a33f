"""App Home in the Slack stand-in: `views.publish`, and a person opening the tab (over HTTP
or Socket Mode) and pressing its buttons, as Slack sends those to the bot."""

from __future__ import annotations

import itertools
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp

from standins.slack_requests import (
    TEAM_ID,
    app_home_opened_body,
    app_home_opened_fields,
    button_click,
    signed_headers,
)

if TYPE_CHECKING:
    from standins.socket_mode import SocketModeStandIn

_ids = itertools.count(1)


class HomeStandIn:
    """Mixed into SlackStandIn: each person's Home tab as last published."""

    socket_mode: SocketModeStandIn

    @property
    def homes(self) -> dict[str, dict[str, Any]]:
        """Each person's Home tab as last published, by user id."""
        if not hasattr(self, "_homes"):
            self._homes: dict[str, dict[str, Any]] = {}
        return self._homes

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        drawn = json.loads(view) if isinstance(view, str) else dict(view or {})
        if drawn.get("type") != "home" or not params.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        user_id = str(params["user_id"])
        view_id = self.homes.get(user_id, {}).get("id") or f"VH{next(_ids):05d}"
        drawn.update(id=view_id, hash=f"{time.time():.6f}.{next(_ids)}", team_id=TEAM_ID)
        self.homes[user_id] = drawn
        return {"ok": True, "view": drawn}

    async def open_home(
        self,
        session: aiohttp.ClientSession,
        url: str,
        secret: str,
        *,
        user_id: str = "U0ALICE",
        tab: str = "home",
    ) -> int:
        """Open the app's Home (or Messages) tab: Slack's signed `app_home_opened` event."""
        body = app_home_opened_body(user_id, tab=tab, view=self.homes.get(user_id))
        headers = signed_headers(secret, body, "application/json")
        async with session.post(url, data=body, headers=headers) as answer:
            return answer.status

    async def socket_open_home(self, *, user_id: str = "U0ALICE") -> dict[str, Any]:
        """Open the Home tab while the bot is in Socket Mode; the bot's ack."""
        fields = app_home_opened_fields(user_id, view=self.homes.get(user_id))
        return await self.socket_mode.send("events_api", fields)

    async def press_home_button(
        self,
        session: aiohttp.ClientSession,
        url: str,
        secret: str,
        action_id: str,
        *,
        user_id: str = "U0ALICE",
    ) -> int:
        """Press a button on the person's Home tab, as Slack posts a block_actions payload."""
        home = self.homes[user_id]
        payload = button_click(
            home["blocks"],
            action_id,
            user_id,
            container={"type": "view", "view_id": home["id"]},
            trigger_id=f"trigger.home{next(_ids)}",
            view=home,
        )
        body = urlencode({"payload": json.dumps(payload)})
        async with session.post(url, data=body, headers=signed_headers(secret, body)) as answer:
            return answer.status
