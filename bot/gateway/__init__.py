"""The SMS gateway: its HTTP client and its result codes.

The simulator that stands in for it lives in `standins/`, so importing the client never
loads a server."""

from bot.gateway.answers import Balance, SendBatch, StatusEntry
from bot.gateway.client import GatewayClient, secret_digest
from bot.gateway.codes import ACCOUNT_LEVEL, NOT_SENT, ResultCode, describe
from bot.gateway.errors import (
    GatewayError,
    GatewayProtocolError,
    GatewayRejected,
    GatewayTimeout,
    GatewayUncertain,
    GatewayUnreachable,
)

__all__ = [
    "ACCOUNT_LEVEL",
    "NOT_SENT",
    "Balance",
    "GatewayClient",
    "GatewayError",
    "GatewayProtocolError",
    "GatewayRejected",
    "GatewayTimeout",
    "GatewayUncertain",
    "GatewayUnreachable",
    "ResultCode",
    "SendBatch",
    "StatusEntry",
    "describe",
    "secret_digest",
]
