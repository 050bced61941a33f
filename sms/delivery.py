"""Recipient states and the rules that move them, as pure functions.

The gateway document contradicts itself on report `status` values (gateway-api.md §7.1),
so every decision reads `status` and `errorCode` together, and the raw values are kept
beside the state so a wrong guess can be re-read later.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class State(StrEnum):
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        return self in (State.DELIVERED, State.FAILED)


ReportSource = Literal["push", "poll"]

# Operator (SMPP) final states. Anything here decides the state whatever `status` says.
_DELIVERED_CODES = {"DELIVRD", "DELIVERED"}
_FAILED_CODES = {
    "UNDELIV": "undeliverable",
    "EXPIRED": "expired before it could be delivered",
    "REJECTD": "rejected by the operator",
    "DELETED": "deleted by the operator",
    "UNKNOWN": "operator reported an unknown outcome",
}
_IN_FLIGHT_CODES = {"ENROUTE", "ACCEPTD"}


@dataclass(frozen=True)
class Report:
    """One delivery report as the gateway gave it (push or status query), raw values kept."""

    msg_id: str
    mobile: str
    status: int
    error_code: str = ""
    desc: str = ""
    timestamp: str = ""


def classify(report: Report, source: ReportSource) -> State:
    """The state a report stands for.

    `errorCode` wins when it is a known operator state; otherwise `status` decides:
    0 delivered, 2 failed, 1 means "no report yet" in a status query and "failed" in a push.
    """
    code = report.error_code.strip().upper()
    if code in _DELIVERED_CODES:
        return State.DELIVERED
    if code in _FAILED_CODES:
        return State.FAILED
    if code in _IN_FLIGHT_CODES:
        return State.PENDING
    if report.status == 0:
        return State.DELIVERED
    if report.status == 1 and source == "poll":
        return State.PENDING
    return State.FAILED


def failure_reason(report: Report) -> str:
    """Words for a failed report, keeping the operator's code so support can look it up."""
    code = report.error_code.strip()
    words = _FAILED_CODES.get(code.upper())
    if words:
        text = f"{words} ({code})"
    elif code:
        text = f"operator error {code}"
    else:
        text = f"gateway status {report.status}"
    desc = report.desc.strip()
    return f"{text}: {desc}" if desc else text


Outcome = Literal["applied", "duplicate", "stale", "conflict", "orphan"]


def apply(current: State, incoming: State) -> tuple[State, Outcome]:
    """The recipient's next state and what the report did.

    A final state never changes: the same final again is a duplicate, the other final
    is a conflict (kept in the report log only). An in-flight report never moves a
    recipient backwards.
    """
    if current.final:
        return current, ("duplicate" if incoming == current else "conflict")
    if incoming.final:
        return incoming, "applied"
    if incoming == State.PENDING and current in (State.ACCEPTED, State.SCHEDULED):
        return incoming, "applied"
    return current, "stale" if incoming != current else "duplicate"
