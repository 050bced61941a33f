"""The SMS gateway: its HTTP client, its result codes, and a local simulator of it."""

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
from .simulator import GatewaySimulator, SimulatorConfig, run_simulator

__all__ = [
    "ACCOUNT_LEVEL",
    "Balance",
    "GatewayClient",
    "GatewayError",
    "GatewayProtocolError",
    "GatewayRejected",
    "GatewaySimulator",
    "GatewayTimeout",
    "GatewayUnreachable",
    "ResultCode",
    "SendBatch",
    "SimulatorConfig",
    "StatusEntry",
    "describe",
    "run_simulator",
    "secret_digest",
]
