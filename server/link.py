"""The Slack link: is the bot token accepted, and in Socket Mode, is the socket up.

It runs in the background so the HTTP server (reports, health, metrics) serves while
Slack is slow, unreachable or refusing a token: a delivery report must never wait on
Slack. Each attempt checks the bot token with `auth.test`, then (Socket Mode) asks
`apps.connections.open` for a websocket URL and connects; a failure waits, doubling
the wait up to a ceiling, and tries again. A rejected token is said once, as one ERROR
line naming the variable (never its value), not at every retry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

import aiohttp
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

State = Literal["connecting", "connected", "token rejected"]

# Slack's answers meaning the token itself is refused: retrying soon cannot fix them.
REJECTED = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "not_allowed_token_type",
        "missing_scope",
        "no_permission",
        "team_access_not_granted",
    }
)
FIRST_DELAY = 1.0
MAX_DELAY = 60.0
# Slack hands out a websocket URL that is then connected to; a connect that hangs is
# given up after this long and started again with a fresh URL.
CONNECT_TIMEOUT = 30.0


class SlackLink:
    """Brings the link up in `run()` and says how it is doing in `status()`."""

    def __init__(
        self,
        client: AsyncWebClient,
        socket_mode: AsyncSocketModeHandler | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
    ) -> None:
        self._client = client
        self._socket_mode = socket_mode
        self._sleep = sleep
        self._first_delay = first_delay
        self._max_delay = max_delay
        self.state: State = "connecting"
        self.problem: str | None = None

    async def status(self) -> State:
        """The state now; a socket the SDK is reconnecting counts as connecting again."""
        if self.state == "connected" and self._socket_mode is not None:
            if not await self._socket_mode.client.is_connected():
                return "connecting"
        return self.state

    async def run(self) -> None:
        """Try until the link is up, backing off between attempts; then return."""
        delay = self._first_delay
        while True:
            variable = "SLACK_BOT_TOKEN"
            try:
                await self._client.auth_test()
                if self._socket_mode is not None:
                    variable = "SLACK_APP_TOKEN"
                    await self._connect(self._socket_mode)
            except SlackApiError as error:
                code = str(error.response.get("error", "unknown"))
                if code in REJECTED:
                    self._rejected(variable, code, delay)
                else:
                    self._unreachable(f"Slack answered {code}", delay)
            except (aiohttp.ClientError, OSError, TimeoutError) as error:
                self._unreachable(f"Slack unreachable: {error or type(error).__name__}", delay)
            else:
                self._connected()
                return
            await self._sleep(delay)
            delay = min(delay * 2, self._max_delay)

    async def _connect(self, socket_mode: AsyncSocketModeHandler) -> None:
        """Ask for a websocket URL ourselves (a refusal raises here, once), then connect."""
        socket = socket_mode.client
        answer = await self._client.apps_connections_open(app_token=socket.app_token)
        socket.wss_uri = str(answer["url"])
        await asyncio.wait_for(socket_mode.connect_async(), timeout=CONNECT_TIMEOUT)

    def _connected(self) -> None:
        what = "Socket Mode connected" if self._socket_mode else "bot token accepted"
        log.info("Slack link up: %s", what)
        self.state, self.problem = "connected", None

    def _rejected(self, variable: str, code: str, delay: float) -> None:
        problem = f"Slack rejected {variable} ({code})"
        if (self.state, self.problem) != ("token rejected", problem):
            log.error(
                "%s: set a valid token and restart; Slack calls fail until then "
                "(still retrying, backing off up to %.0fs)",
                problem,
                self._max_delay,
            )
        else:
            log.debug("%s again; next try in %.0fs", problem, delay)
        self.state, self.problem = "token rejected", problem

    def _unreachable(self, problem: str, delay: float) -> None:
        if self.problem != problem:
            log.warning(
                "%s; retrying in %.0fs, backing off up to %.0fs", problem, delay, self._max_delay
            )
        else:
            log.debug("%s again; next try in %.0fs", problem, delay)
        self.state, self.problem = "connecting", problem
