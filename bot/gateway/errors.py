"""How a gateway call can fail, and whether the gateway may have acted anyway.

A send is never retried, so each error class says whether "failed" really means "maybe sent".
"""

from __future__ import annotations


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


class GatewayUncertain(GatewayError):
    """A send answered with a code that is not a documented refusal (9999, an undocumented one).

    The gateway did answer, but such a code does not say the SMS was not sent, so it may have been.
    """

    default_outcome_unknown = True
    kind = "uncertain"


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
