"""`POST /alerts/{token}`: where Alertmanager, Grafana or any JSON sender posts an alert.

`200 {"ok": true}` is a promise that the notice is stored: it is sent only after the writer
committed it, and then the alert worker is woken; the route itself never waits on the
gateway or Slack. A sender retries what it was not told 200, so a storage failure is 503,
never 500; a body that can never be read is 400 with the reason, so its sender's log says
what to fix.

The token is the only secret. Every request does the same work before it is known whether
the token is good: hash it and look the hash up (an indexed equality on SHA-256 hex, which
says nothing about the token itself), so an unknown token, a retired one (`rotate` replaced
its hash) and a malformed one get the same 404, the same way. Nothing about unknown tokens
is logged above DEBUG or counted: a scanner guessing URLs must not fill either.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.alerts.payloads import BadPayload, parse_payload
from bot.alerts.tokens import token_hash
from bot.services import SERVICES

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
_CHUNK = 64 * 1024
NOT_FOUND = {"ok": False, "error": "no alert integration at this URL"}


class TooLarge(Exception):
    """The body is over MAX_BODY, whatever Content-Length said."""


def _answer(status: int, error: str | None = None) -> web.Response:
    body = {"ok": True} if error is None else {"ok": False, "error": error}
    return web.json_response(body, status=status)


async def read_limited(request: web.Request, limit: int = MAX_BODY) -> bytes:
    """The body, read in chunks and given up on past `limit` bytes (a chunked body has no
    Content-Length, and a declared one may lie)."""
    if (request.content_length or 0) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def receive_alert(request: web.Request) -> web.Response:
    """Find the integration by its token's hash, read the body, store it, then answer."""
    services = request.app[SERVICES]
    metrics = services.metrics
    try:
        integration = await services.integrations.by_token_hash(
            token_hash(request.match_info["token"])
        )
    except Exception:
        log.exception("could not look up an alert integration")
        return _answer(503, "could not read the database, send the alert again")
    if integration is None:
        log.debug("alert for an unknown integration token from %s", request.remote)
        return web.json_response(NOT_FOUND, status=404)
    name = integration.name
    try:
        notice = parse_payload(await read_limited(request))
    except ConnectionResetError:
        log.debug("alert for %s: the sender hung up before its body was read", name)
        return _answer(400, "the body did not arrive")
    except TooLarge:
        metrics.alert_received(name, "rejected")
        log.warning("alert for %s refused: body over %d KiB", name, MAX_BODY // 1024)
        return _answer(413, f"body over {MAX_BODY // 1024} KiB")
    except BadPayload as error:
        metrics.alert_received(name, "rejected")
        log.warning("alert for %s refused: %s", name, error)
        return _answer(400, str(error))
    try:
        await services.alert_notices.store_notice(
            integration.id, notice.group_key, notice.status, notice.to_json()
        )
    except Exception:
        metrics.alert_received(name, "unstored")
        log.exception("could not store an alert for %s", name)
        return _answer(503, "could not store the alert, send it again")
    metrics.alert_received(name, notice.status)
    services.alerts_wake.set()
    return _answer(200)
