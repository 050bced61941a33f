"""A pushed delivery report's body, read (gateway-api.md §5).

Read twice: by the webhook, to refuse a body it cannot read before answering, and by the
applier (`bot/applier.py`), from the body the webhook stored.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sms.delivery import Report

_FIELD_MAX = 200
_STATUS_MAX = 1000
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadReport(ValueError):
    """The body is not a report we can read; the message says which part."""


def _text(body: dict[str, Any], name: str, required: bool) -> str:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise BadReport(f"missing field {name}")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadReport(f"field {name} must be a string")
    text = str(value).strip()
    if len(text) > _FIELD_MAX:
        raise BadReport(f"field {name} is too long")
    if not text.isascii() and _SURROGATE.search(text):  # ASCII has no surrogates
        raise BadReport(f"field {name} is not valid Unicode text")
    return text


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also says yes to '²' and other digits int() refuses."""
    return text.isascii() and text.isdigit()


def parse_report(raw: bytes) -> Report:
    """A Report from the pushed body, or BadReport naming what is wrong."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadReport("body is not JSON") from None
    if not isinstance(body, dict):
        raise BadReport("body must be a JSON object")
    status = body.get("status")
    if isinstance(status, str) and _digits(status.strip()) and len(status.strip()) <= 3:
        status = int(status)
    if isinstance(status, bool) or not isinstance(status, int) or not 0 <= status < _STATUS_MAX:
        raise BadReport("field status must be a small whole number")
    mobile = _text(body, "mobile", True).lstrip("+")
    msg_id = _text(body, "msgId", True)
    if not _digits(mobile) or not _digits(msg_id):
        raise BadReport("fields mobile and msgId must be digits")
    return Report(
        msg_id=msg_id,
        mobile=mobile,
        status=status,
        error_code=_text(body, "errorCode", False),
        desc=_text(body, "desc", False),
        timestamp=_text(body, "timestamp", False),
    )
