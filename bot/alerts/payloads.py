"""A webhook body read into an `AlertNotice`, or a reason in words the sender's log can show.

Three shapes are read. Alertmanager's webhook (version 4: a group with `groupKey`, `status`,
`commonLabels`, `commonAnnotations`, `externalURL` and its `alerts`). Grafana's webhook
contact point sends the same shape with `version` "1" and extra fields (`title`, `state`,
`message`, `orgId`; per alert `silenceURL`, `dashboardURL`, `panelURL`, `values`), which
mark it as Grafana's. Anything else may send the generic JSON `{"key", "status", "title",
"text", "url"}`.

The notice is what a page shows and an SMS says, so it is cut to size here: a storm of
labels or a megabyte of description never reaches the worker, and text that is not valid
Unicode (a lone surrogate escaped in JSON) is repaired rather than refused or stored broken.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from bot.alerts.notice import AlertNotice, Link, Status

__all__ = ["MAX_LABELS", "BadPayload", "parse_payload"]

MAX_TITLE = 300
MAX_TEXT = 2000
MAX_LABELS = 8
MAX_LABEL_KEY = 40
MAX_LABEL_VALUE = 100
MAX_URL = 2000
MAX_GROUP_KEY = 500  # a longer one is kept as its hash: still one group, a small index
# Labels worth a line on the page, in the order a person on call reads them; others follow
# alphabetically. alertname is in the title; the rest of NOISE says nothing to a person.
LABEL_ORDER = (
    "severity",
    "priority",
    "instance",
    "job",
    "service",
    "namespace",
    "pod",
    "container",
    "cluster",
    "env",
    "environment",
    "region",
    "zone",
    "team",
)
NOISE = frozenset({"alertname", "alertstate", "prometheus", "prometheus_replica", "monitor"})
GRAFANA_FIELDS = frozenset({"orgId", "title", "state", "message"})
GRAFANA_ALERT_FIELDS = frozenset(
    {"silenceURL", "dashboardURL", "panelURL", "values", "valueString"}
)
STATUSES: tuple[Status, ...] = ("firing", "resolved")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_GRAFANA_PREFIX = re.compile(r"^\s*\[(?:FIRING|RESOLVED)(?::\d+)?\]\s*")


class BadPayload(ValueError):
    """The body is not an alert we can read; str() says what is wrong, for the sender."""


def parse_payload(raw: bytes) -> AlertNotice:
    """The notice a body carries, or BadPayload naming the first thing that is wrong."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadPayload("body is not UTF-8 text") from None
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise BadPayload("body is not JSON") from None
    if not isinstance(body, dict):
        raise BadPayload("body must be a JSON object")
    if "alerts" in body:
        return _alertmanager(body)
    if "key" in body:
        return _generic(body)
    raise BadPayload(
        "body is neither Alertmanager's or Grafana's webhook JSON (no field alerts) "
        'nor the generic JSON (no field key): send {"key": ..., "status": "firing", '
        '"title": ...}'
    )


def clean(value: str, limit: int, *, one_line: bool = True) -> str:
    """Text safe to store and show: valid Unicode, no control characters, at most `limit`.

    Titles, labels and keys are one line (runs of spaces and line breaks become one space);
    a description keeps its lines.
    """
    text = _SURROGATE.sub("\ufffd", value)
    if one_line:
        text = " ".join(text.split())
    text = _CONTROL.sub("", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _string(body: dict[str, Any], name: str, where: str = "") -> str:
    """An optional string field: missing or null is empty; numbers are read as text."""
    value = body.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadPayload(f"field {where}{name} must be a string")
    return str(value)


def _status(body: dict[str, Any], where: str = "") -> Status:
    value = body.get("status")
    for status in STATUSES:
        if value == status:
            return status
    shown = json.dumps(value, ensure_ascii=False)[:40] if value is not None else "missing"
    raise BadPayload(f'field {where}status must be "firing" or "resolved", not {shown}')


def _strings(body: dict[str, Any], name: str, where: str = "") -> dict[str, str]:
    """A labels or annotations object as strings; values that are not scalars are left out."""
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadPayload(f"field {where}{name} must be an object")
    return {
        str(key): str(item)
        for key, item in value.items()
        if isinstance(item, (str, int, float)) and not isinstance(item, bool)
    }


def _url(value: str) -> str | None:
    text = clean(value, MAX_URL + 1)
    if len(text) > MAX_URL or not re.match(r"https?://[^\s<>|]+$", text):
        return None
    return text


def _group_key(value: str) -> str:
    key = _SURROGATE.sub("\ufffd", value)
    if len(key) > MAX_GROUP_KEY:
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _alerts(body: dict[str, Any]) -> list[dict[str, Any]]:
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        raise BadPayload("field alerts must be a list")
    if not alerts:
        raise BadPayload("field alerts is empty: there is no alert in it")
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            raise BadPayload(f"alerts[{index}] must be an object")
        _status(alert, f"alerts[{index}].")
        _strings(alert, "labels", f"alerts[{index}].")
        _strings(alert, "annotations", f"alerts[{index}].")
    return alerts


def _alertmanager(body: dict[str, Any]) -> AlertNotice:
    """Alertmanager's webhook (version 4), or Grafana's when its extra fields are there."""
    alerts = _alerts(body)
    grafana = bool(GRAFANA_FIELDS & body.keys()) or any(
        GRAFANA_ALERT_FIELDS & alert.keys() for alert in alerts
    )
    version = _string(body, "version")
    if version and version not in (("1", "4") if grafana else ("4",)):
        raise BadPayload(f"webhook version {version} is not supported: Alertmanager sends 4")
    group_key = _string(body, "groupKey")
    if not group_key.strip():
        raise BadPayload("field groupKey is missing: it names the group of alerts")
    status = _status(body)
    firing = [a for a in alerts if a["status"] == "firing"]
    resolved = [a for a in alerts if a["status"] == "resolved"]
    shown = firing if status == "firing" else resolved or alerts
    common_labels = {**_strings(body, "groupLabels"), **_strings(body, "commonLabels")}
    common = _strings(body, "commonAnnotations")
    first_labels = _strings(shown[0], "labels")
    first_notes = _strings(shown[0], "annotations")
    count = len(shown) + (_truncated(body) if status == "firing" else 0)
    title = _title(common, common_labels, first_labels, first_notes, count, body, grafana)
    text = common.get("description") or (first_notes.get("description", "") if count == 1 else "")
    return AlertNotice(
        source="grafana" if grafana else "alertmanager",
        group_key=_group_key(group_key),
        status=status,
        title=clean(title, MAX_TITLE) or "Alert",
        text=clean(text, MAX_TEXT, one_line=False),
        firing=len(firing),
        resolved=len(resolved),
        labels=labels_that_matter(common_labels or (first_labels if count == 1 else {})),
        links=_links(body, shown[0], common, first_notes, grafana),
        fingerprints=tuple(dict.fromkeys(_fingerprint(alert) for alert in firing)),
    )


def _truncated(body: dict[str, Any]) -> int:
    value = body.get("truncatedAlerts")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _title(
    common: dict[str, str],
    common_labels: dict[str, str],
    first_labels: dict[str, str],
    first_notes: dict[str, str],
    count: int,
    body: dict[str, Any],
    grafana: bool,
) -> str:
    """The summary, else the alertname (with the count), else Grafana's title, else the first."""
    more = f" ({count} alerts)" if count > 1 else ""
    if common.get("summary", "").strip():
        return common["summary"]
    if common_labels.get("alertname", "").strip():
        return common_labels["alertname"] + more
    if grafana:
        title = _GRAFANA_PREFIX.sub("", _string(body, "title"))
        if title.strip():
            return title
    first = first_notes.get("summary") or first_labels.get("alertname") or ""
    if first.strip():
        return first + (f" and {count - 1} more" if count > 1 else "")
    return (_string(body, "receiver") or "Alert") + more


def labels_that_matter(labels: dict[str, str]) -> dict[str, str]:
    """The labels a person reads first, in `LABEL_ORDER`, then the rest; at most MAX_LABELS."""
    kept = {
        clean(key, MAX_LABEL_KEY): clean(value, MAX_LABEL_VALUE)
        for key, value in labels.items()
        if key not in NOISE and not key.startswith("__") and value.strip()
    }
    ordered = [key for key in LABEL_ORDER if key in kept]
    ordered += sorted(key for key in kept if key not in LABEL_ORDER)
    return {key: kept[key] for key in ordered[:MAX_LABELS] if key}


def _links(
    body: dict[str, Any],
    alert: dict[str, Any],
    common: dict[str, str],
    notes: dict[str, str],
    grafana: bool,
) -> tuple[Link, ...]:
    """Where to look: the rule, its runbook, Grafana's dashboard and silence, the sender."""
    candidates = [
        ("Source", _string(alert, "generatorURL", "alerts[].")),
        ("Runbook", common.get("runbook_url") or notes.get("runbook_url", "")),
        ("Dashboard", _string(alert, "dashboardURL", "alerts[].")),
        ("Panel", _string(alert, "panelURL", "alerts[].")),
        ("Silence", _string(alert, "silenceURL", "alerts[].")),
        ("Grafana" if grafana else "Alertmanager", _string(body, "externalURL")),
    ]
    links: dict[str, Link] = {}
    for label, value in candidates:
        url = _url(value)
        if url and url not in links:
            links[url] = Link(label, url)
    return tuple(links.values())


def _fingerprint(alert: dict[str, Any]) -> str:
    """Alertmanager's fingerprint, or one made from the labels when a sender leaves it out."""
    given = _string(alert, "fingerprint", "alerts[].").strip()
    if given:
        return clean(given, 64)
    labels = json.dumps(_strings(alert, "labels"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(labels.encode("utf-8", "replace")).hexdigest()[:16]


def _generic(body: dict[str, Any]) -> AlertNotice:
    """`{"key", "status", "title", "text", "url"}`: one alert, its key naming the group."""
    key = _string(body, "key")
    if not key.strip():
        raise BadPayload("field key is empty: it names the alert, so a repeat is not a new page")
    status = _status(body)
    title = clean(_string(body, "title"), MAX_TITLE) or clean(key, MAX_TITLE) or "Alert"
    url = _url(_string(body, "url"))
    if body.get("url") and url is None:
        raise BadPayload("field url must be an http:// or https:// URL")
    return AlertNotice(
        source="generic",
        group_key=_group_key(key),
        status=status,
        title=title,
        text=clean(_string(body, "text"), MAX_TEXT, one_line=False),
        firing=1 if status == "firing" else 0,
        resolved=1 if status == "resolved" else 0,
        links=(Link("Link", url),) if url else (),
    )
