"""The Slack side: Bolt's AsyncApp, its Web API client, and the /slack/events route.

The route exists in HTTP mode only (server/app.py leaves it out in Socket Mode), and it
always checks Slack's signature: no path into Bolt skips it.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryState
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings

MAX_SLACK_BODY = 256 * 1024

# Methods that make a new message each time they are called. A 5xx answer or a dropped
# connection does not say whether Slack acted, so repeating one can show people the same
# message twice: only the caller, which knows what it stored, may decide to call again.
NOT_IDEMPOTENT = frozenset(
    {"chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage", "chat.meMessage"}
)


def _method(request: HttpRequest) -> str:
    return urlsplit(request.url).path.rsplit("/", 1)[-1]


class _IdempotentOnly:
    """Mixin for a retry handler: never repeat a call that may have acted (`NOT_IDEMPOTENT`)."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if _method(request) in NOT_IDEMPOTENT:
            return False
        return await super()._can_retry_async(  # type: ignore[misc]
            state=state, request=request, response=response, error=error
        )


class ServerErrorRetryHandler(_IdempotentOnly, AsyncServerErrorRetryHandler):
    """5xx answers, retried for reads and edits only."""


class ConnectionErrorRetryHandler(_IdempotentOnly, AsyncConnectionErrorRetryHandler):
    """Dropped connections, retried for reads and edits only."""


def web_client(settings: Settings) -> AsyncWebClient:
    """A Web API client set up as the bot's own (see `_set_up`)."""
    return _set_up(AsyncWebClient(token=settings.slack_bot_token), settings)


def _set_up(client: AsyncWebClient, settings: Settings) -> AsyncWebClient:
    """Make `client` ride out rate limits, and 5xx answers and dropped connections where
    repeating the call cannot double what it did.

    A 429 is retried for every method (Slack did not act); posts are not repeated on a 5xx
    or a lost connection: the escalator and the notifier decide from what they stored.
    """
    client.base_url = settings.slack_api_url
    client.timeout = 15
    client.retry_handlers = [
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=3),
        ConnectionErrorRetryHandler(max_retry_count=2),
    ]
    return client


def bolt_app(settings: Settings) -> AsyncApp:
    """Bolt's app, whose Web API client (`app.client`) is the one the whole bot uses.

    Bolt is given the token, not a client: it also reads SLACK_BOT_TOKEN from the process
    environment, and given both it warns at every start that one will be unused. Its own
    client is then set up as ours, so listeners and workers share one client.
    """
    app = AsyncApp(
        token=settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=not settings.socket_mode,
        process_before_response=False,
        logger=logging.getLogger("smsbot.bolt"),
    )
    _set_up(app.client, settings)
    return app


async def dispatch(
    app: AsyncApp, verifier: SignatureVerifier, request: web.Request
) -> web.Response:
    """POST /slack/events (HTTP mode only): the signature is checked (401) and Bolt dispatches.

    The body is read as bytes and decoded leniently, so bad UTF-8 fails the signature
    check (401) instead of raising inside the adapter (500); the signature is checked before
    Bolt parses the body, so garbage from strangers never reaches a parser.
    """
    raw = await request.read()
    body = raw.decode("utf-8", errors="replace")
    if not _signed(verifier, body, request):
        return web.json_response({"error": "invalid request"}, status=401)
    try:
        bolt_request = AsyncBoltRequest(
            body=body, query=request.query_string, headers=dict(request.headers)
        )
    except Exception:
        return web.json_response({"error": "malformed request"}, status=400)
    return await to_aiohttp_response(await app.async_dispatch(bolt_request))


def _signed(verifier: SignatureVerifier, body: str, request: web.Request) -> bool:
    """Slack's signature, checked before Bolt parses anything an attacker sent."""
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    return verifier.is_valid(
        body=body, timestamp=timestamp, signature=request.headers.get("X-Slack-Signature", "")
    )
