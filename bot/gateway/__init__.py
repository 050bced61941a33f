"""The SMS gateway: its HTTP client and its result codes.

The simulator that stands in for it lives in `standins/`, so importing the client never
loads a server."""

from .client import (
    Balance,
    GatewayClient,
    GatewayError,
    GatewayProtocolError,
    GatewayRejected,
    GatewayTimeout,
    GatewayUnreachable,
    SendBatch,
    StatusEntry,
    secret_digest,
)
from .codes import ACCOUNT_LEVEL, ResultCode, describe

__all__ = [
    "ACCOUNT_LEVEL",
    "Balance",
    "GatewayClient",
    "GatewayError",
    "GatewayProtocolError",
    "GatewayRejected",
    "GatewayTimeout",
    "GatewayUnreachable",
    "ResultCode",
    "SendBatch",
    "StatusEntry",
    "describe",
    "secret_digest",
]
