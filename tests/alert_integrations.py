"""Test helpers for alert integrations: made with `/sms alerts add`, posted to over HTTP.

An integration's URL is read from the private answer that `add` (or `rotate`) gives, as a
person would copy it; the tests post to the running bot at that URL's path.
"""

from __future__ import annotations

import json
import re
from typing import Any

from standins.local import LocalSystem
from tests.stored import rows

TOKEN_IN_URL = re.compile(r"/alerts/([A-Za-z0-9_\-]{43})`")


async def answer(system: LocalSystem, text: str, **kwargs: Any) -> dict[str, Any]:
    """Type `/sms <text>`; the one private answer that follows the empty ack."""
    status, ack = await system.slash(text, **kwargs)
    assert status == 200
    assert ack == "", ack
    responses = await system.wait_for(lambda: system.slack.responses, timeout=5)
    assert len(responses) == 1, responses
    response = responses[0]
    system.slack.responses.clear()
    assert response["response_type"] == "ephemeral"
    return response


def token_in(response: dict[str, Any]) -> str:
    found = TOKEN_IN_URL.search(response["text"])
    assert found, response["text"]
    return found[1]


async def add_integration(
    system: LocalSystem, name: str = "prod", to: str = "+2348031000010", **kwargs: Any
) -> str:
    """`/sms alerts add NAME <to>`; the token of the URL it answers with."""
    return token_in(await answer(system, f"alerts add {name} {to}", **kwargs))


async def post_alert(system: LocalSystem, token: str, body: Any) -> tuple[int, Any]:
    """POST a body (bytes as given, anything else as JSON) to /alerts/{token}."""
    assert system.session is not None
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with system.session.post(
        f"{system.url}/alerts/{token}", data=data, headers={"Content-Type": "application/json"}
    ) as response:
        return response.status, await response.json(content_type=None)


def stored_notices(system: LocalSystem) -> list[tuple[str, str, dict[str, Any]]]:
    """(group_key, status, notice) of every notice in the database, done or not."""
    found = rows(system, "SELECT group_key, status, notice FROM alert_notices ORDER BY id")
    return [(key, status, json.loads(notice)) for key, status, notice in found]
