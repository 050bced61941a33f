"""The report webhook: where the gateway pushes delivery reports (gateway-api.md §5).

The answer `{"code": 0}` is a promise that the report is stored, so it is sent only
after the writer has committed it to the inbox (`bot/applier.py` applies it next).
Anything else makes the gateway push the report again, which is what we want when we
could not store it; so we never answer 500 (a crash page the gateway cannot read), only
a JSON code.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address

from aiohttp import web

from bot.gateway import secret_digest
from bot.services import SERVICES
from sms.pushed import BadReport, parse_report

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024


def _address_allowed(remote: str | None, allowed: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        address = ip_address(remote or "")
    except ValueError:
        return False
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in allowed)


# The answer to almost every request, encoded once: this is the webhook's hot path.
_STORED = json.dumps({"code": 0, "msg": "ok"}).encode()


@functools.lru_cache(maxsize=4)
def _credentials(app_key: str, app_secret: str) -> tuple[bytes, bytes]:
    """What the headers must say, worked out once rather than an MD5 per report."""
    return app_key.encode(), secret_digest(app_secret).encode()


def _answer(code: int, msg: str, status: int) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


async def receive_report(request: web.Request) -> web.Response:
    """POST {SMS_REPORT_PATH}: check, parse, store, and only then answer code 0."""
    services = request.app[SERVICES]
    metrics = services.metrics
    settings = services.settings
    allowed = settings.sms_report_allowed_ips
    if allowed is not None and not _address_allowed(request.remote, allowed):
        metrics.reports_rejected.labels("address").inc()
        log.warning("report refused from %s: not in SMS_REPORT_ALLOWED_IPS", request.remote)
        return _answer(1004, "address not allowed", 403)
    expected_key, expected_digest = _credentials(settings.sms_app_key, settings.sms_app_secret)
    given_key = request.headers.get("appKey", "").encode()
    given_digest = request.headers.get("appSecret", "").upper().encode()
    key_ok = hmac.compare_digest(given_key, expected_key)
    secret_ok = hmac.compare_digest(given_digest, expected_digest)
    if not (key_ok and secret_ok):
        metrics.reports_rejected.labels("credentials").inc()
        log.warning("report refused from %s: wrong appKey/appSecret", request.remote)
        return _answer(1002 if not key_ok else 1003, "wrong appKey or appSecret", 401)
    if (request.content_length or 0) > MAX_BODY:
        metrics.reports_rejected.labels("too_large").inc()
        return _answer(1001, "body too large", 413)
    try:
        raw = await request.read()
        if len(raw) > MAX_BODY:
            metrics.reports_rejected.labels("too_large").inc()
            return _answer(1001, "body too large", 413)
        report = parse_report(raw)
    except web.HTTPRequestEntityTooLarge:
        metrics.reports_rejected.labels("too_large").inc()
        return _answer(1001, "body too large", 413)
    except ConnectionResetError:
        log.debug("report from %s: the sender hung up before its body was read", request.remote)
        return _answer(1001, "the body did not arrive", 400)
    except BadReport as error:
        metrics.reports_rejected.labels("malformed").inc()
        log.warning("report refused: %s", error)
        return _answer(1001, str(error), 400)
    try:
        await services.inbox.push(raw.decode("utf-8", "replace"))
    except Exception:
        log.exception("could not store report for msgId %s", report.msg_id)
        metrics.reports_rejected.labels("storage").inc()
        return _answer(9999, "could not store the report, please push it again", 503)
    services.applier.poke()
    return web.Response(body=_STORED, content_type="application/json")
