"""Faults the Slack stand-in can be told to make, as the real Slack sometimes does.

`SlackStandIn.fail(method, times, ...)` queues `times` faults for the next calls of a Web
API method; each call takes the first queued fault that matches it:

- `error`, `status`: the answer is `{"ok": false, "error": error}` with that HTTP status:
  200 for Slack's ordinary errors (`channel_not_found`, `internal_error`…), 429 with
  `Retry-After: 1` for a rate limit, 5xx for a Slack that is having trouble;
- `act=True`: the stand-in first does what the call asks (posts, edits) and only then
  fails, as when Slack acted but its answer was lost on the way;
- `drop=True`: the connection is closed instead of answered (with `act`, after acting);
- `only_if`: a test on the call's parameters, e.g. `lambda p: "thread_ts" in p` for thread
  replies only; calls it does not match go through untouched.

`fail_next[method]` is the same queue; a plain string there is an `error` answered with
200 (`"ratelimited"` with 429).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

__all__ = ["Fault", "take"]


@dataclass(frozen=True)
class Fault:
    error: str = "internal_error"
    status: int = 200
    act: bool = False
    drop: bool = False
    only_if: Callable[[dict[str, Any]], bool] | None = None

    @classmethod
    def of(cls, spec: str | Fault) -> Fault:
        if isinstance(spec, Fault):
            return spec
        return cls(error=spec, status=429 if spec == "ratelimited" else 200)

    def answer(self, request: web.Request) -> web.Response:
        """The failed answer; for a dropped connection, the transport is closed first."""
        if self.drop and request.transport is not None:
            request.transport.close()
        headers = {"Retry-After": "1"} if self.status == 429 else None
        body = {"ok": False, "error": self.error}
        return web.json_response(body, status=self.status, headers=headers)


def take(queue: list[str | Fault], params: dict[str, Any]) -> Fault | None:
    """Remove and return the first queued fault that applies to a call with `params`."""
    for index, spec in enumerate(queue):
        fault = Fault.of(spec)
        if fault.only_if is None or fault.only_if(params):
            del queue[index]
            return fault
    return None
