"""What one notification from monitoring says, whatever sent it.

Alertmanager's webhook (version 4), Grafana's webhook contact point (the same shape with
extra fields) and the generic JSON all parse into an `AlertNotice`; the alert worker reads
only this. It is stored as JSON in `alert_notices.notice`, so it must round-trip exactly.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["AlertNotice", "Link", "Status"]

Status = Literal["firing", "resolved"]


@dataclass(frozen=True)
class Link:
    label: str  # e.g. "Source", "Runbook", "Dashboard", "Silence"
    url: str


@dataclass(frozen=True)
class AlertNotice:
    """One notification: a group's state now, with what a person needs to act on it."""

    source: Literal["alertmanager", "grafana", "generic"]
    group_key: str  # Alertmanager's groupKey, or the generic `key`
    status: Status  # the group's status: firing while any alert in it fires
    title: str  # the summary annotation, else the alertname, else the generic title
    text: str = ""  # the description annotation, or the generic text
    firing: int = 0  # alerts firing in this notification
    resolved: int = 0  # alerts resolved in this notification
    labels: dict[str, str] = field(default_factory=dict)  # the labels that matter, in order
    links: tuple[Link, ...] = ()
    fingerprints: tuple[str, ...] = ()  # the firing alerts' identities, to tell "added" apart

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AlertNotice:
        data: dict[str, Any] = json.loads(text)
        data["links"] = tuple(Link(**link) for link in data.get("links", ()))
        data["fingerprints"] = tuple(data.get("fingerprints", ()))
        return cls(**data)
