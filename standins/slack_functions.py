"""Workflow steps in the Slack stand-in: a workflow running the app's custom step, and the
step's end (`functions.completeSuccess` / `functions.completeError`).

Slack hands each execution a token of its own (`bot_access_token`, `xwfp-…`); Bolt makes the
step's calls with it, so the stand-in accepts it beside the bot's and records which one each
call came with (`Call.token`).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from standins.slack_requests import function_executed_payload, signed_headers
from standins.socket_mode import SocketModeStandIn

_ids = itertools.count(1)


@dataclass
class Execution:
    """One run of a step, as Slack keeps it: pending until the app completes or fails it."""

    id: str
    token: str
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None = None
    error: str | None = None
    ends: int = 0  # completeSuccess / completeError calls; Slack takes the first

    @property
    def ended(self) -> bool:
        return self.ends > 0


class FunctionsStandIn:
    """Mixed into SlackStandIn: the step executions it started, by id."""

    token: str
    app_token: str
    socket_mode: SocketModeStandIn

    def _executions(self) -> dict[str, Execution]:
        if not hasattr(self, "executions"):
            self.executions: dict[str, Execution] = {}
        return self.executions

    def tokens_for(self, method: str) -> set[str]:
        """The bearer tokens a Web API method accepts here."""
        if method == "apps.connections.open":
            return {self.app_token}
        return {self.token, *(run.token for run in self._executions().values())}

    def _end(self, params: dict[str, Any], **outcome: Any) -> dict[str, Any]:
        run = self._executions().get(str(params.get("function_execution_id", "")))
        if run is None:
            return {"ok": False, "error": "function_execution_not_found"}
        if not run.ended:
            run.outputs, run.error = outcome.get("outputs"), outcome.get("error")
        run.ends += 1
        return {"ok": True}

    def _functions_completeSuccess(self, params: dict[str, Any]) -> dict[str, Any]:
        outputs = params.get("outputs")  # JSON in a form-encoded call
        if isinstance(outputs, str):
            outputs = json.loads(outputs)
        return self._end(params, outputs=outputs)

    def _functions_completeError(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._end(params, error=str(params.get("error", "")))

    def start_step(
        self,
        callback_id: str,
        inputs: dict[str, Any],
        *,
        definition: dict[str, Any] | None = None,
        user_id: str | None = None,
    ) -> tuple[Execution, dict[str, Any]]:
        """A new execution of the step, and the signed event's payload that announces it."""
        n = next(_ids)
        run = Execution(id=f"Fx{n:08d}", token=f"xwfp-standin-{n}", inputs=inputs)
        self._executions()[run.id] = run
        payload = function_executed_payload(
            callback_id,
            inputs,
            execution_id=run.id,
            bot_access_token=run.token,
            definition=definition,
            user_id=user_id,
        )
        return run, payload

    async def run_step(
        self,
        session: aiohttp.ClientSession,
        url: str,
        secret: str,
        callback_id: str,
        inputs: dict[str, Any],
        **options: Any,
    ) -> tuple[int, Execution]:
        """A workflow reaches the step: the event POSTed to the bot (HTTP mode); its status."""
        run, payload = self.start_step(callback_id, inputs, **options)
        body = json.dumps(payload)
        headers = signed_headers(secret, body, "application/json")
        async with session.post(url, data=body, headers=headers) as answer:
            return answer.status, run

    async def socket_run_step(
        self, callback_id: str, inputs: dict[str, Any], **options: Any
    ) -> tuple[dict[str, Any], Execution]:
        """The same over Socket Mode (an `events_api` envelope); the bot's ack."""
        run, payload = self.start_step(callback_id, inputs, **options)
        return await self.socket_mode.send("events_api", payload), run
