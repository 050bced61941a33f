"""HTTP client for the SMS gateway (send, balance, status), per /work/shared/gateway-api.md.

Every failure becomes a GatewayError (`errors.py`) whose text a person can read and whose class
says whether the gateway may have acted on the request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import aiohttp

from bot.gateway.answers import (
    Balance,
    SendBatch,
    StatusEntry,
    as_decimal,
    as_text,
    status_entry,
)
from bot.gateway.codes import ACCOUNT_LEVEL, NOT_SENT, ResultCode, describe
from bot.gateway.errors import (
    GatewayError,
    GatewayProtocolError,
    GatewayRejected,
    GatewayTimeout,
    GatewayUncertain,
    GatewayUnreachable,
)

log = logging.getLogger(__name__)

SEND_PATH = "/api/v1/international/sms/send"
BALANCE_PATH = "/api/v1/international/sms/balance"
STATUS_PATH = "/api/v1/international/sms/status"

SEND_BATCH_SIZE = 1000
STATUS_BATCH_SIZE = 500

MetricsHook = Callable[[str, str], None]
BatchHook = Callable[[SendBatch], Awaitable[None]]
T = TypeVar("T")


def secret_digest(secret: str) -> str:
    """The appSecret header value: uppercase hex MD5 of the secret (§1)."""
    return hashlib.md5(secret.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class GatewayClient:
    """Talks to one gateway account over a session the caller owns."""

    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
        session: aiohttp.ClientSession,
        timeout: float = 10.0,
        metrics_hook: MetricsHook | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._timeout_seconds = timeout
        self._metrics_hook = metrics_hook
        self._redact = [text for text in {app_secret, secret_digest(app_secret)} if text]
        self._headers = {
            "Accept": "application/json",
            "Content-Type": "application/json;charset=utf-8",
            "appKey": app_key,
            "appSecret": secret_digest(app_secret),
        }

    def __repr__(self) -> str:
        return f"GatewayClient({self._base_url!r}, app_key={self._headers['appKey']!r})"

    async def send(
        self,
        mobiles: Sequence[str],
        content: str,
        sender_id: str | None = None,
        send_time: str | None = None,
        on_batch: BatchHook | None = None,
    ) -> list[SendBatch]:
        """Send in requests of at most 1000 numbers, one after another; never retries.

        After an account-level rejection the remaining batches are not attempted: they would
        fail the same way, and saying "not sent" is more useful than repeating the rejection.
        `on_batch` is awaited with each batch's outcome before the next request goes out, so
        the caller can record it at once; only what it raises is raised.
        """
        optional = {"senderID": sender_id, "sendTime": send_time}
        extra = {key: value for key, value in optional.items() if value is not None}
        results: list[SendBatch] = []
        stop: GatewayRejected | None = None
        for batch in _chunks(tuple(mobiles), SEND_BATCH_SIZE):
            outcome = await self._send_batch(batch, content, extra, stop)
            results.append(outcome)
            error = outcome.error
            if isinstance(error, GatewayRejected) and error.code in ACCOUNT_LEVEL and stop is None:
                stop = GatewayRejected(
                    f"Not sent because an earlier batch failed: {error}", code=error.code
                )
            if on_batch is not None:
                await on_batch(outcome)
        return results

    async def _send_batch(
        self, batch: Sequence[str], content: str, extra: dict[str, str], stop: GatewayError | None
    ) -> SendBatch:
        """One send request, or none when an earlier batch's account-level refusal stops it."""
        if stop is not None:
            return SendBatch(tuple(batch), None, stop)
        body = {"mobile": ",".join(batch), "content": content, **extra}
        try:
            data = await self._call("send", "POST", SEND_PATH, body)
            msg_id = as_text(data.get("msgId")) if isinstance(data, dict) else None
            if not msg_id:
                raise self._fail(
                    "send",
                    GatewayProtocolError(
                        "The gateway accepted the send but its answer has no msgId; "
                        "the messages may or may not have been sent",
                        outcome_unknown=True,
                    ),
                )
        except GatewayError as error:
            return SendBatch(tuple(batch), None, error)
        log.info("SMS gateway accepted %d number(s) as msgId %s", len(batch), msg_id)
        return SendBatch(tuple(batch), msg_id, None)

    async def balance(self) -> Balance:
        """The account balance; `data` may be an object or a one-element list (§7.5)."""
        data = await self._call("balance", "GET", BALANCE_PATH, None)
        record = data[0] if isinstance(data, list) and len(data) == 1 else data
        amount = as_decimal(record.get("balance")) if isinstance(record, dict) else None
        if amount is None or not isinstance(record, dict):
            raise self._fail(
                "balance",
                GatewayProtocolError("The gateway's balance answer has no readable balance"),
            )
        return Balance(
            amount=amount,
            currency_code=as_text(record.get("currencyCode")) or "",
            currency_name=as_text(record.get("currencyName")) or "",
        )

    async def status(self, pairs: Sequence[tuple[str, str]]) -> list[StatusEntry]:
        """Delivery status of (msg_id, mobile) pairs, queried 500 at a time.

        Pairs the gateway does not mention are simply absent; a 1012 "no report" answer is an
        empty result rather than an error, since that is what it means for a query.
        """
        entries: list[StatusEntry] = []
        for chunk in _chunks(tuple(pairs), STATUS_BATCH_SIZE):
            body = {"data": [{"msgId": m, "mobile": p} for m, p in chunk]}
            try:
                data = await self._call("status", "POST", STATUS_PATH, body)
            except GatewayRejected as error:
                if error.code == ResultCode.NoReportError:
                    continue
                raise
            if data is None:
                continue
            if not isinstance(data, list):
                raise self._fail(
                    "status",
                    GatewayProtocolError("The gateway's status answer is not a list of reports"),
                )
            entries.extend(e for e in map(status_entry, data) if e is not None)
        return entries

    async def _call(self, operation: str, method: str, path: str, body: Any) -> Any:
        """One request; returns `data` of a code-0 answer or raises a classified GatewayError."""
        maybe_acted = operation == "send"
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        try:
            async with self._session.request(
                method,
                self._base_url + path,
                data=payload,
                headers=self._headers,
                timeout=self._timeout,
            ) as response:
                http_status = response.status
                raw = await response.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise self._fail(
                operation,
                GatewayUnreachable(
                    f"Could not connect to the SMS gateway at {self._base_url} ({_reason(exc)})"
                ),
            ) from exc
        except TimeoutError as exc:
            suffix = "; the messages may or may not have been sent" if maybe_acted else ""
            raise self._fail(
                operation,
                GatewayTimeout(
                    f"The SMS gateway did not answer within {self._timeout_seconds:g} s{suffix}"
                ),
            ) from exc
        except aiohttp.ClientError as exc:
            suffix = "; the messages may or may not have been sent" if maybe_acted else ""
            raise self._fail(
                operation,
                GatewayProtocolError(
                    f"The connection to the SMS gateway broke before its answer was read "
                    f"({_reason(exc)}){suffix}",
                    outcome_unknown=maybe_acted,
                ),
            ) from exc
        return self._interpret(operation, http_status, raw)

    def _interpret(self, operation: str, http_status: int, raw: bytes) -> Any:
        maybe_acted = operation == "send"
        suffix = "; the messages may or may not have been sent" if maybe_acted else ""
        try:
            answer = json.loads(raw.decode("utf-8-sig"), parse_float=Decimal)
        except (UnicodeDecodeError, ValueError):
            answer = None
            shape = "a non-JSON body"
        else:
            shape = "a JSON body that is not an object"
        code = answer.get("code") if isinstance(answer, dict) else None
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        msg = self._scrub(as_text(answer.get("msg")) if isinstance(answer, dict) else None)
        if http_status != 200:
            if code is not None:
                what = f": {describe(code, msg)}"
            elif isinstance(answer, dict):
                what = " with an unexpected JSON body"
            else:
                what = f" with {shape}"
            raise self._fail(
                operation,
                GatewayProtocolError(
                    f"The gateway answered HTTP {http_status}{what}{suffix}",
                    code=code,
                    outcome_unknown=maybe_acted,
                ),
            )
        if not isinstance(answer, dict):
            raise self._fail(
                operation,
                GatewayProtocolError(
                    f"The gateway answered with {shape}{suffix}", outcome_unknown=maybe_acted
                ),
            )
        if code is None:
            raise self._fail(
                operation,
                GatewayProtocolError(
                    f"The gateway's answer has no numeric result code{suffix}",
                    outcome_unknown=maybe_acted,
                ),
            )
        if code != 0 and maybe_acted and code not in NOT_SENT:
            raise self._fail(
                operation, GatewayUncertain(f"{describe(code, msg)}{suffix}", code=code)
            )
        if code != 0:
            raise self._fail(operation, GatewayRejected(describe(code, msg), code=code))
        return answer.get("data")

    def _scrub(self, msg: str | None) -> str | None:
        """The gateway's message with any echo of the secret or its digest removed."""
        for secret in self._redact:
            msg = msg and re.sub(re.escape(secret), "[redacted]", msg, flags=re.IGNORECASE)
        return msg

    def _fail(self, operation: str, error: GatewayError) -> GatewayError:
        """Count a failure and hand it back for raising; logged at DEBUG only, since the
        caller says it once, where it knows who asked (the bot's log, or a terminal)."""
        log.debug("SMS gateway %s failed: %s", operation, error)
        if self._metrics_hook is not None:
            try:
                self._metrics_hook(operation, error.kind)
            except Exception:
                log.exception("metrics hook failed for gateway %s", operation)
        return error


def _reason(exc: BaseException) -> str:
    """A short cause for an aiohttp error, falling back to its class name when it has no text."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return exc.strerror or type(exc.os_error).__name__
    return str(exc) or type(exc).__name__
