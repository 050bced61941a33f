"""HTTP client for the SMS gateway (send, balance, status), per /work/shared/gateway-api.md.

Every failure becomes a GatewayError whose text a person can read and whose class says whether
the gateway may have acted on the request: a send is never retried, so callers must know when
"failed" really means "maybe sent".
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import aiohttp

from .codes import ACCOUNT_LEVEL, ResultCode, describe

log = logging.getLogger(__name__)

SEND_PATH = "/api/v1/international/sms/send"
BALANCE_PATH = "/api/v1/international/sms/balance"
STATUS_PATH = "/api/v1/international/sms/status"

SEND_BATCH_SIZE = 1000
STATUS_BATCH_SIZE = 500

MetricsHook = Callable[[str, str], None]
T = TypeVar("T")


class GatewayError(Exception):
    """A gateway call failed; `str(e)` is a sentence for a person, never containing the secret."""

    default_outcome_unknown = False
    kind = "error"

    def __init__(
        self, message: str, *, code: int | None = None, outcome_unknown: bool | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.outcome_unknown = (
            self.default_outcome_unknown if outcome_unknown is None else outcome_unknown
        )


class GatewayRejected(GatewayError):
    """The gateway answered with a non-zero result code: it definitely did not act."""

    kind = "rejected"


class GatewayUnreachable(GatewayError):
    """No connection could be made, so the request was never sent."""

    kind = "unreachable"


class GatewayTimeout(GatewayError):
    """The request went out but no answer came in time: the gateway may have acted."""

    default_outcome_unknown = True
    kind = "timeout"


class GatewayProtocolError(GatewayError):
    """The answer was not the documented JSON envelope, so what happened is not known."""

    kind = "protocol"


@dataclass(frozen=True)
class SendBatch:
    """One gateway send request (at most 1000 numbers) and how it ended."""

    mobiles: tuple[str, ...]
    msg_id: str | None
    error: GatewayError | None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Balance:
    """The account balance; Decimal because money must not pick up float noise."""

    amount: Decimal
    currency_code: str
    currency_name: str

    def __str__(self) -> str:
        cents = self.amount.quantize(Decimal("0.01"))
        shown = cents if cents == self.amount else self.amount
        return f"{shown:f} {self.currency_code}".strip()


@dataclass(frozen=True)
class StatusEntry:
    """One row of a status query answer, values kept raw (see §7.1 and §7.2)."""

    msg_id: str
    mobile: str
    status: int
    error_code: str
    desc: str
    timestamp: str


def secret_digest(secret: str) -> str:
    """The appSecret header value: uppercase hex MD5 of the secret (§1)."""
    return hashlib.md5(secret.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _as_text(value: Any) -> str | None:
    """A string field that may arrive as a JSON number; floats are refused as digits may be lost."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _as_decimal(value: Any) -> Decimal | None:
    """A finite Decimal from a JSON number (parsed as Decimal) or a numeric string."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def _as_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


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
    ) -> list[SendBatch]:
        """Send in requests of at most 1000 numbers, one after another; never raises, never retries.

        After an account-level rejection the remaining batches are not attempted: they would
        fail the same way, and saying "not sent" is more useful than repeating the rejection.
        """
        results: list[SendBatch] = []
        stop: GatewayRejected | None = None
        for batch in _chunks(tuple(mobiles), SEND_BATCH_SIZE):
            if stop is not None:
                results.append(SendBatch(tuple(batch), None, stop))
                continue
            body: dict[str, str] = {"mobile": ",".join(batch), "content": content}
            if sender_id is not None:
                body["senderID"] = sender_id
            if send_time is not None:
                body["sendTime"] = send_time
            try:
                data = await self._call("send", "POST", SEND_PATH, body)
                msg_id = _as_text(data.get("msgId")) if isinstance(data, dict) else None
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
                results.append(SendBatch(tuple(batch), None, error))
                if isinstance(error, GatewayRejected) and error.code in ACCOUNT_LEVEL:
                    stop = GatewayRejected(
                        f"Not sent because an earlier batch failed: {error}", code=error.code
                    )
                continue
            results.append(SendBatch(tuple(batch), msg_id, None))
        return results

    async def balance(self) -> Balance:
        """The account balance; `data` may be an object or a one-element list (§7.5)."""
        data = await self._call("balance", "GET", BALANCE_PATH, None)
        record = data[0] if isinstance(data, list) and len(data) == 1 else data
        amount = _as_decimal(record.get("balance")) if isinstance(record, dict) else None
        if amount is None or not isinstance(record, dict):
            raise self._fail(
                "balance",
                GatewayProtocolError("The gateway's balance answer has no readable balance"),
            )
        return Balance(
            amount=amount,
            currency_code=_as_text(record.get("currencyCode")) or "",
            currency_name=_as_text(record.get("currencyName")) or "",
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
            entries.extend(e for e in map(_status_entry, data) if e is not None)
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
        msg = self._scrub(_as_text(answer.get("msg")) if isinstance(answer, dict) else None)
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
        if code != 0:
            raise self._fail(operation, GatewayRejected(describe(code, msg), code=code))
        return answer.get("data")

    def _scrub(self, msg: str | None) -> str | None:
        """The gateway's message with any echo of the secret or its digest removed."""
        for secret in self._redact:
            msg = msg and re.sub(re.escape(secret), "[redacted]", msg, flags=re.IGNORECASE)
        return msg

    def _fail(self, operation: str, error: GatewayError) -> GatewayError:
        """Log and count a failure once, then hand the error back for raising."""
        log.warning("SMS gateway %s failed: %s", operation, error)
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


def _status_entry(item: Any) -> StatusEntry | None:
    """A StatusEntry, or None when a required field is missing or unreadable."""
    if not isinstance(item, dict):
        return None
    msg_id = _as_text(item.get("msgId"))
    mobile = _as_text(item.get("mobile"))
    status = _as_int(item.get("status"))
    if not msg_id or not mobile or status is None:
        return None
    return StatusEntry(
        msg_id=msg_id,
        mobile=mobile,
        status=status,
        error_code=_as_text(item.get("errorCode")) or "",
        desc=_as_text(item.get("desc")) or "",
        timestamp=_as_text(item.get("timestamp")) or "",
    )


__all__ = [
    "Balance",
    "GatewayClient",
    "GatewayError",
    "GatewayProtocolError",
    "GatewayRejected",
    "GatewayTimeout",
    "GatewayUnreachable",
    "SendBatch",
    "StatusEntry",
    "secret_digest",
]
