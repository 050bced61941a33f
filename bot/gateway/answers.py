"""The gateway's answers as typed values, read defensively.

The gateway document is loose about types (numbers as strings and back, §7), so every field
is read through a function that accepts the documented forms and refuses the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.gateway.errors import GatewayError


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


def as_text(value: Any) -> str | None:
    """A string field that may arrive as a JSON number; floats are refused as digits may be lost."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def as_decimal(value: Any) -> Decimal | None:
    """A finite Decimal from a JSON number (parsed as Decimal) or a numeric string."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def as_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def status_entry(item: Any) -> StatusEntry | None:
    """A StatusEntry, or None when a required field is missing or unreadable."""
    if not isinstance(item, dict):
        return None
    msg_id = as_text(item.get("msgId"))
    mobile = as_text(item.get("mobile"))
    status = as_int(item.get("status"))
    if not msg_id or not mobile or status is None:
        return None
    return StatusEntry(
        msg_id=msg_id,
        mobile=mobile,
        status=status,
        error_code=as_text(item.get("errorCode")) or "",
        desc=as_text(item.get("desc")) or "",
        timestamp=as_text(item.get("timestamp")) or "",
    )
