"""The real Alertmanager harness works, and the payloads recorded from it are still what it sends.

tests/data/alertmanager/*.json are the four notifications of one group's life (firing, a
repeat, an alert added, resolved), recorded from Debian's binary with `python -m
tests.alertmanager`; the payload parser's tests read them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import alertmanager
from tests.alertmanager import DATA, DISK_DB1, Alertmanager, Recorder, recorded_story


def shape(value: Any) -> Any:
    """The keys and value types of a JSON document, without its values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def recorded(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text())


async def test_alertmanager_delivers_a_firing_then_a_resolved_notification_for_one_group(
    tmp_path: Path,
):
    async with Recorder() as recorder, Alertmanager(recorder.url, tmp_path) as manager:
        await manager.fire(DISK_DB1, annotations={"summary": "Disk almost full on db1"})
        firing = await recorder.wait_for()
        await manager.resolve(DISK_DB1)
        resolved = await recorder.wait_for(lambda body: body["status"] == "resolved")
    assert firing["status"] == "firing"
    assert firing["version"] == "4"
    assert [a["labels"] for a in firing["alerts"]] == [DISK_DB1]
    assert firing["commonAnnotations"] == {"summary": "Disk almost full on db1"}
    assert resolved["groupKey"] == firing["groupKey"]
    assert [a["status"] for a in resolved["alerts"]] == ["resolved"]


async def test_the_recorded_payloads_are_what_this_alertmanager_sends(tmp_path: Path):
    async with recorded_story(tmp_path) as bodies:
        pass
    for name, body in bodies.items():
        assert shape(body) == shape(recorded(name)), f"{name}.json: re-record it"
    firing, repeat, added, resolved = (bodies[n] for n in ("firing", "repeat", "added", "resolved"))
    assert len({b["groupKey"] for b in bodies.values()}) == 1
    assert repeat == firing
    assert [a["status"] for a in added["alerts"]] == ["firing", "firing"]
    assert resolved["status"] == "resolved"
    assert [a["status"] for a in resolved["alerts"]] == ["resolved", "resolved"]


def test_without_the_binary_the_tests_say_why_and_ci_fails_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setattr(alertmanager, "BINARY", tmp_path / "prometheus-alertmanager")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install prometheus-alertmanager"):
        alertmanager.need_alertmanager()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the tests"):
        alertmanager.need_alertmanager()
