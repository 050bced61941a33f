"""What a failed Slack call means: which errors have a fallback, and whether Slack acted.

Shared by the tracked messages, the marked posts and the escalator, so that they read
Slack's answers the same way.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

__all__ = ["CHANNEL_REFUSES", "MESSAGE_GONE", "TOKEN_DEAD", "error_code", "may_have_acted"]

# The channel will not take our message: the sender's DM with the app takes it instead.
CHANNEL_REFUSES = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
# The tracked message is gone: post a new one where it was.
MESSAGE_GONE = {"message_not_found", "cant_update_message", "edit_window_closed"}
# Our token no longer works: no retry can help until an admin fixes it.
TOKEN_DEAD = {
    "token_revoked",
    "invalid_auth",
    "account_inactive",
    "not_authed",
    "missing_scope",
    "team_access_not_granted",
}


def error_code(error: Exception) -> str:
    """Slack's error string (or the exception's name), the key for metrics and fallbacks."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or "unknown")
    return type(error).__name__


def may_have_acted(error: Exception) -> bool:
    """Whether Slack may have done what a failed call asked.

    An answer from Slack itself (`ok: false`, or a 429) says it did nothing; a 5xx answer,
    a dropped connection or a timeout says nothing either way.
    """
    if not isinstance(error, SlackApiError):
        return True
    response = error.response
    status = getattr(response, "status_code", None) or getattr(response, "status", 500)
    return int(status) >= 500
