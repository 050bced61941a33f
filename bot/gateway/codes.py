"""The gateway's result codes (§6), each with a sentence a person can act on.

The gateway's own `msg` is terse and sometimes Chinese, so users see our sentence first and the
gateway's words only when they add something (e.g. which number was bad).
"""

from __future__ import annotations

from enum import IntEnum


class ResultCode(IntEnum):
    """Result codes of §6; the member name is the provider's name for the code."""

    OK = 0
    ParamError = 1001
    AppKeyError = 1002
    PasswordError = 1003
    BindIpError = 1004
    AccountStop = 1005
    ContentError = 1006
    MobileError = 1007
    ExtNumberError = 1008
    AmountNotEnough = 1009
    TimeSuperRange = 1010
    SendTimeError = 1011
    NoReportError = 1012
    Other = 9999

    @property
    def sentence(self) -> str:
        """What the code means, phrased for the person who will read the error."""
        return _SENTENCES[self]


_SENTENCES: dict[ResultCode, str] = {
    ResultCode.OK: "Success",
    ResultCode.ParamError: "The gateway rejected a request parameter",
    ResultCode.AppKeyError: "The gateway does not know this app key",
    ResultCode.PasswordError: "The gateway rejected the app secret",
    ResultCode.BindIpError: "This server's IP address is not bound to the gateway account",
    ResultCode.AccountStop: "The gateway account is disabled",
    ResultCode.ContentError: "The gateway rejected the message content",
    ResultCode.MobileError: "The gateway rejected a mobile number",
    ResultCode.ExtNumberError: "The gateway rejected the extension number",
    ResultCode.AmountNotEnough: "Insufficient balance",
    ResultCode.TimeSuperRange: "The query time is out of the gateway's range",
    ResultCode.SendTimeError: "The gateway rejected the scheduled send time",
    ResultCode.NoReportError: "The gateway has no delivery report for this message",
    ResultCode.Other: "Unknown gateway error; contact the provider",
}

ACCOUNT_LEVEL: frozenset[int] = frozenset(
    {
        ResultCode.AppKeyError,
        ResultCode.PasswordError,
        ResultCode.BindIpError,
        ResultCode.AccountStop,
        ResultCode.AmountNotEnough,
    }
)
"""Codes about the account, not the request: every later request would fail the same way."""

NOT_SENT: frozenset[int] = frozenset(range(ResultCode.ParamError, ResultCode.SendTimeError + 1))
"""The documented refusals (1001-1011): on a send, only these mean nothing went out. A 9999
("unknown error") or a code the document does not list says nothing about the SMS itself."""

_MAX_MSG = 200
_UNINFORMATIVE = {"", "ok", "success", "fail", "failed", "error"}


def _clean(msg: str | None) -> str:
    """The gateway's message on one line and bounded, so it cannot flood a chat message."""
    text = " ".join((msg or "").split())
    return text if len(text) <= _MAX_MSG else text[: _MAX_MSG - 1] + "…"


def describe(code: int, msg: str | None = None) -> str:
    """One readable sentence for a gateway answer, always ending with the numeric code.

    Known codes read `Insufficient balance (gateway code 1009)`; the gateway's `msg` is appended
    only when it says more than the code's name (e.g. names the rejected number).
    """
    text = _clean(msg)
    try:
        known = ResultCode(code)
    except ValueError:
        detail = f'"{text}"' if text else "with no message"
        return f"Gateway error {detail} (gateway code {code})"
    sentence = f"{known.sentence} (gateway code {code})"
    lowered = text.lower()
    if lowered in _UNINFORMATIVE or lowered in (known.name.lower(), known.sentence.lower()):
        return sentence
    return f'{sentence}: the gateway said "{text}"'
