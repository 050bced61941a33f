"""A local stand-in for the SMS gateway: the three endpoints plus pushed delivery reports.

It lets the bot be demonstrated and tested end to end without an account, and it behaves like
the documented gateway where it matters to callers: header checks, result codes, string msgIds,
per-number reports pushed with retries on a non-zero answer (§5), 30-day status window (§4).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from bot.gateway.client import BALANCE_PATH, SEND_PATH, STATUS_PATH, secret_digest
from bot.gateway.codes import NOT_SENT, ResultCode

log = logging.getLogger(__name__)

PUSH_ATTEMPTS = 3
SCHEDULE_PUSH_WINDOW = timedelta(seconds=60)
STATUS_WINDOW = timedelta(days=30)
_MOBILE = re.compile(r"[0-9]{6,15}")
_SEND_TIME = re.compile(r"[0-9]{14}")
_STAMP = "%Y%m%d%H%M%S"


@dataclass
class SimulatorConfig:
    """How the simulated account and its recipients behave."""

    app_key: str = "10002"
    app_secret: str = "abc123"
    balance: Decimal = Decimal("100.00")
    price: Decimal = Decimal("0.05")
    currency_code: str = "CNY"
    currency_name: str = "人民币"
    report_url: str | None = None
    report_delay: float = 1.0
    fail_suffixes: tuple[str, ...] = ("9",)
    silent_suffixes: tuple[str, ...] = ()
    retry_delay: float = 0.5
    send_delay: float = 0.0
    send_code: int | None = None
    """Answer every send with this result code. A documented "not sent" code (1001-1011) sends
    nothing; any other (9999, an undocumented one) sends the SMS anyway, the worst case for a
    caller that would take it as "not sent"."""
    send_body: str | None = None
    """Answer every send (after sending it) with this raw body instead of the JSON envelope."""
    send_drop: bool = False
    """Send the SMS, then close the connection without answering."""
    balance_code: int | None = None
    """Answer every balance query with this result code (a balance API that is down)."""
    report_app_key: str | None = None
    """Header on pushed reports; None means the same as app_key."""
    report_app_secret: str | None = None
    """Plain secret whose MD5 goes on pushed reports; None means the same as app_secret."""
    push_timeout: float = 5.0


@dataclass
class _Recipient:
    """What the simulated operator will say about one (msgId, mobile)."""

    msg_id: str
    mobile: str
    sent_at: datetime
    report_at: datetime | None
    failed: bool

    def report(self) -> dict[str, Any]:
        return {
            "mobile": self.mobile,
            "msgId": self.msg_id,
            "timestamp": (self.report_at or self.sent_at).strftime(_STAMP),
            "status": 2 if self.failed else 0,
            "desc": "",
            "errorCode": "UNDELIV" if self.failed else "DELIVRD",
        }

    def pending(self) -> dict[str, Any]:
        """The status-query row for a number whose report has not come back yet."""
        return {
            "mobile": self.mobile,
            "msgId": self.msg_id,
            "timestamp": "",
            "status": 1,
            "desc": "",
            "errorCode": "",
        }


class _Refusal(Exception):
    """A request the gateway answers with a non-zero code."""

    def __init__(self, code: ResultCode, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def _is_code_zero(answer: Any) -> bool:
    """The receiver's `{"code": 0}`; `false` is not zero even though Python says so."""
    code = answer.get("code") if isinstance(answer, dict) else None
    return type(code) is int and code == 0


def _loads(text: str) -> Any:
    """Parsed JSON, or None when the body is empty or not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def _answer(code: int = 0, msg: str = "ok", data: Any = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "msg": msg}
    if data is not None:
        body["data"] = data
    return web.json_response(body, dumps=lambda o: json.dumps(o, ensure_ascii=False))


class GatewaySimulator:
    """The simulated gateway. Use `app` in an existing server, or `start()` for its own.

    For tests it records `sent` (accepted send bodies plus their msgId), `pushes` (every push
    attempt) and `requests` (every request reaching an endpoint, as (operation, parsed body)).
    """

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config or SimulatorConfig()
        self.clock = clock or datetime.now
        self.balance: Decimal = self.config.balance
        self.sent: list[dict[str, Any]] = []
        self.pushes: list[dict[str, Any]] = []
        self.requests: list[tuple[str, Any]] = []
        self._recipients: dict[tuple[str, str], _Recipient] = {}
        self._msg_ids: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._push_seen: asyncio.Condition | None = None
        self._closed = False
        self.app = web.Application()
        self.app.router.add_post(SEND_PATH, self._send)
        self.app.router.add_get(BALANCE_PATH, self._balance)
        self.app.router.add_post(STATUS_PATH, self._status)
        self.app.on_cleanup.append(self._cleanup)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 = any free port) and return the base URL."""
        self._closed = False
        self._runner = web.AppRunner(self.app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        return str(URL.build(scheme="http", host=host, port=bound_port))

    async def stop(self) -> None:
        """Stop serving and pushing; pending reports are dropped."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        await self._cleanup(self.app)

    async def wait_for_pushes(self, count: int, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until at least `count` push attempts were made; TimeoutError after `timeout` s."""
        condition = self._condition()
        async with asyncio.timeout(timeout), condition:
            await condition.wait_for(lambda: len(self.pushes) >= count)

    def _condition(self) -> asyncio.Condition:
        if self._push_seen is None:
            self._push_seen = asyncio.Condition()
        return self._push_seen

    async def _cleanup(self, _app: web.Application) -> None:
        self._closed = True
        tasks, self._tasks = self._tasks, set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def _receive(self, operation: str, request: web.Request) -> dict[str, Any]:
        """Record the request, check credentials, and return the JSON object body (1001 if not)."""
        body = _loads(await request.text()) if request.can_read_body else None
        self.requests.append((operation, body))
        self._check_credentials(request)
        if request.method == "POST" and not isinstance(body, dict):
            raise _Refusal(ResultCode.ParamError, "request body is not a JSON object")
        return body if isinstance(body, dict) else {}

    def _check_credentials(self, request: web.Request) -> None:
        if request.headers.get("appKey") != self.config.app_key:
            raise _Refusal(ResultCode.AppKeyError, "AppKeyError")
        if request.headers.get("appSecret") != secret_digest(self.config.app_secret):
            raise _Refusal(ResultCode.PasswordError, "PasswordError")

    async def _send(self, request: web.Request) -> web.Response:
        code = self.config.send_code
        try:
            body = await self._receive("send", request)
            if code in NOT_SENT:
                return _answer(code, "refused (simulated)")
            msg_id = self._accept_send(body)
        except _Refusal as refusal:
            return _answer(refusal.code, refusal.msg)
        if self.config.send_delay > 0:
            await asyncio.sleep(self.config.send_delay)
        if self.config.send_drop:
            assert request.transport is not None
            request.transport.close()
        if code is not None:
            return _answer(code, "error (simulated)")
        if self.config.send_body is not None:
            return web.Response(text=self.config.send_body)
        return _answer(data={"msgId": msg_id})

    def _accept_send(self, body: dict[str, Any]) -> str:
        """Validate and record a send, schedule its reports, and return its msgId."""
        mobile, content = body.get("mobile"), body.get("content")
        if not isinstance(mobile, str) or not mobile:
            raise _Refusal(ResultCode.ParamError, "mobile is required")
        if not isinstance(content, str) or not content:
            raise _Refusal(ResultCode.ParamError, "content is required")
        if not isinstance(body.get("senderID", ""), str):
            raise _Refusal(ResultCode.ParamError, "senderID must be a string")
        mobiles = mobile.split(",")
        if len(mobiles) > 1000:
            raise _Refusal(ResultCode.ParamError, "more than 1000 mobile numbers")
        for number in mobiles:
            if not _MOBILE.fullmatch(number):
                raise _Refusal(ResultCode.MobileError, f"Illegal cell phone: {number}")
        now = self.clock()
        send_at = self._send_time(body.get("sendTime"), now)
        cost = self.config.price * len(mobiles)
        if cost > self.balance:
            raise _Refusal(ResultCode.AmountNotEnough, "AmountNotEnough")
        self.balance -= cost
        msg_id = self._new_msg_id(now)
        self.sent.append({**body, "msgId": msg_id})
        delay = max((send_at - now).total_seconds(), 0.0) + self.config.report_delay
        push = send_at - now <= SCHEDULE_PUSH_WINDOW
        for number in dict.fromkeys(mobiles):
            silent = number.endswith(self.config.silent_suffixes)
            recipient = _Recipient(
                msg_id=msg_id,
                mobile=number,
                sent_at=now,
                report_at=None if silent else now + timedelta(seconds=delay),
                failed=number.endswith(self.config.fail_suffixes),
            )
            self._recipients[(msg_id, number)] = recipient
            if push and not silent and self.config.report_url:
                self._spawn(self._push(recipient, delay))
        return msg_id

    def _send_time(self, value: Any, now: datetime) -> datetime:
        """When a send goes out: now, or the scheduled `yyyyMMddHHmmss` in the simulator's clock."""
        if value is None or value == "":
            return now
        if not isinstance(value, str) or not _SEND_TIME.fullmatch(value):
            raise _Refusal(ResultCode.SendTimeError, f"sendTime must be yyyyMMddHHmmss: {value}")
        try:
            return max(datetime.strptime(value, _STAMP).replace(tzinfo=now.tzinfo), now)
        except ValueError:
            raise _Refusal(ResultCode.SendTimeError, f"sendTime is not a date: {value}") from None

    def _new_msg_id(self, now: datetime) -> str:
        while True:
            msg_id = now.strftime("%y%m%d%H%M%S") + f"{random.randrange(1_000_000):06d}"
            if msg_id not in self._msg_ids:
                self._msg_ids.add(msg_id)
                return msg_id

    async def _balance(self, request: web.Request) -> web.Response:
        try:
            await self._receive("balance", request)
            if self.config.balance_code is not None:
                return _answer(self.config.balance_code, "error (simulated)")
        except _Refusal as refusal:
            return _answer(refusal.code, refusal.msg)
        return _answer(
            data={
                "balance": float(self.balance),
                "currencyName": self.config.currency_name,
                "currencyCode": self.config.currency_code,
            }
        )

    async def _status(self, request: web.Request) -> web.Response:
        try:
            body = await self._receive("status", request)
            return _answer(data=self._query(body.get("data")))
        except _Refusal as refusal:
            return _answer(refusal.code, refusal.msg)

    def _query(self, pairs: Any) -> list[dict[str, Any]]:
        if not isinstance(pairs, list):
            raise _Refusal(ResultCode.ParamError, "data must be a list of {msgId, mobile}")
        if len(pairs) > 500:
            raise _Refusal(ResultCode.ParamError, "more than 500 entries")
        now = self.clock()
        answers = []
        for pair in pairs:
            if not isinstance(pair, dict):
                raise _Refusal(ResultCode.ParamError, "each entry must be {msgId, mobile}")
            recipient = self._recipients.get((str(pair.get("msgId")), str(pair.get("mobile"))))
            if recipient is None or now - recipient.sent_at > STATUS_WINDOW:
                continue
            reported = recipient.report_at is not None and recipient.report_at <= now
            answers.append(recipient.report() if reported else recipient.pending())
        return answers

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        if self._closed:
            coroutine.close()
            return
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _push(self, recipient: _Recipient, delay: float) -> None:
        """Push one report; repeat it (at most twice more) until the receiver answers code 0."""
        await asyncio.sleep(delay)
        report = recipient.report()
        headers = {
            "Content-Type": "application/json;charset=utf-8",
            "appKey": self.config.report_app_key or self.config.app_key,
            "appSecret": secret_digest(self.config.report_app_secret or self.config.app_secret),
        }
        for attempt in range(PUSH_ATTEMPTS):
            if attempt:
                await asyncio.sleep(self.config.retry_delay)
            http_status, answer = await self._post_report(report, headers)
            await self._record_push(
                {"report": report, "http_status": http_status, "answer": answer}
            )
            if http_status == 200 and _is_code_zero(answer):
                return
        log.info("gave up pushing report for %s/%s", recipient.msg_id, recipient.mobile)

    async def _post_report(
        self, report: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int | None, Any]:
        """One push attempt: the HTTP status (None if no answer) and the parsed answer."""
        assert self.config.report_url is not None
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(
                self.config.report_url,
                data=json.dumps(report, ensure_ascii=False).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.config.push_timeout),
            ) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            log.info("report push to %s failed: %s", self.config.report_url, error)
            return None, None
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, None

    async def _record_push(self, attempt: dict[str, Any]) -> None:
        condition = self._condition()
        async with condition:
            self.pushes.append(attempt)
            condition.notify_all()


async def run_simulator(config: SimulatorConfig, host: str, port: int) -> None:
    """Serve the simulator until cancelled (the `smsbot simulator` command)."""
    simulator = GatewaySimulator(config)
    url = await simulator.start(host, port)
    log.info("SMS gateway simulator listening on %s (appKey %s)", url, config.app_key)
    try:
        await asyncio.Event().wait()
    finally:
        await simulator.stop()
