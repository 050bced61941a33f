"""Reading webhook bodies into an AlertNotice: Alertmanager v4, Grafana, the generic JSON.

The bodies follow the payloads Alertmanager's `webhook_config` and Grafana's webhook contact
point document; every notice must survive the JSON round trip `alert_notices` stores it in.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts.notice import AlertNotice, Link
from bot.alerts.payloads import MAX_LABELS, BadPayload, parse_payload

GROUP_KEY = '{}/{severity="critical"}:{alertname="DiskFull"}'

ALERTMANAGER: dict[str, Any] = {
    "receiver": "smsbot",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "DiskFull",
                "instance": "db-1:9100",
                "job": "node",
                "severity": "critical",
            },
            "annotations": {
                "summary": "Disk almost full on db-1",
                "description": "/var is 97% full",
                "runbook_url": "https://runbooks.example.com/disk-full",
            },
            "startsAt": "2025-11-25T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=disk",
            "fingerprint": "1a30ba71cca2921f",
        }
    ],
    "groupLabels": {"alertname": "DiskFull"},
    "commonLabels": {
        "alertname": "DiskFull",
        "instance": "db-1:9100",
        "job": "node",
        "severity": "critical",
    },
    "commonAnnotations": {
        "summary": "Disk almost full on db-1",
        "description": "/var is 97% full",
        "runbook_url": "https://runbooks.example.com/disk-full",
    },
    "externalURL": "http://alertmanager.example.com:9093",
    "version": "4",
    "groupKey": GROUP_KEY,
    "truncatedAlerts": 0,
}


def grafana_body() -> dict[str, Any]:
    """Grafana's webhook contact point: the Alertmanager shape, version 1, extra fields."""
    alert = {
        "status": "firing",
        "labels": {"alertname": "High memory", "team": "blue", "__alert_rule_uid__": "x1"},
        "annotations": {"description": "Memory above 90%"},
        "startsAt": "2025-11-25T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "https://grafana.example.com/alerting/grafana/x1/view",
        "fingerprint": "c6eadffa33fcdf37",
        "silenceURL": "https://grafana.example.com/alerting/silence/new?matcher=x",
        "dashboardURL": "https://grafana.example.com/d/abc",
        "panelURL": "https://grafana.example.com/d/abc?viewPanel=2",
        "values": {"B": 93.5, "C": 1},
        "valueString": "[ var='B' value=93.5 ]",
    }
    second = {**alert, "labels": {"alertname": "High CPU", "team": "blue"}, "fingerprint": "b2"}
    return {
        "receiver": "smsbot",
        "status": "firing",
        "orgId": 1,
        "alerts": [alert, second],
        "groupLabels": {},
        "commonLabels": {"team": "blue"},
        "commonAnnotations": {},
        "externalURL": "https://grafana.example.com/",
        "version": "1",
        "groupKey": '{}/{__grafana_receiver__="smsbot"}:{}',
        "truncatedAlerts": 0,
        "title": "[FIRING:2]  (blue)",
        "state": "alerting",
        "message": "**Firing**\n\nValue: B=93.5",
    }


def parse(body: Any) -> AlertNotice:
    notice = parse_payload(json.dumps(body, ensure_ascii=False).encode())
    assert AlertNotice.from_json(notice.to_json()) == notice
    return notice


def refused(body: Any) -> str:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(BadPayload) as error:
        parse_payload(raw)
    return str(error.value)


# Alertmanager


def test_alertmanager_v4_gives_summary_description_labels_links_and_fingerprint() -> None:
    notice = parse(ALERTMANAGER)
    assert notice == AlertNotice(
        source="alertmanager",
        group_key=GROUP_KEY,
        status="firing",
        title="Disk almost full on db-1",
        text="/var is 97% full",
        firing=1,
        resolved=0,
        labels={"severity": "critical", "instance": "db-1:9100", "job": "node"},
        links=(
            Link("Source", "http://prometheus.example.com:9090/graph?g0.expr=disk"),
            Link("Runbook", "https://runbooks.example.com/disk-full"),
            Link("Alertmanager", "http://alertmanager.example.com:9093"),
        ),
        fingerprints=("1a30ba71cca2921f",),
    )


def test_a_group_without_a_common_summary_is_titled_by_its_alertname_and_count() -> None:
    body = copy.deepcopy(ALERTMANAGER)
    second = copy.deepcopy(body["alerts"][0])
    second["labels"]["instance"] = "db-2:9100"
    second["annotations"]["summary"] = "Disk almost full on db-2"
    second["fingerprint"] = "2b"
    body["alerts"].append(second)
    body["commonAnnotations"] = {"runbook_url": "https://runbooks.example.com/disk-full"}
    del body["commonLabels"]["instance"]
    notice = parse(body)
    assert notice.title == "DiskFull (2 alerts)"
    assert notice.text == ""
    assert notice.firing == 2
    assert notice.fingerprints == ("1a30ba71cca2921f", "2b")
    assert notice.labels == {"severity": "critical", "job": "node"}


def test_truncated_alerts_count_in_the_title() -> None:
    body = {**ALERTMANAGER, "commonAnnotations": {}, "truncatedAlerts": 4}
    assert parse(body).title == "DiskFull (5 alerts)"


def test_a_resolved_notification_counts_what_resolved_and_fires_nothing() -> None:
    body = copy.deepcopy(ALERTMANAGER)
    body["status"] = "resolved"
    body["alerts"][0]["status"] = "resolved"
    body["alerts"][0]["endsAt"] = "2025-11-25T10:30:00Z"
    notice = parse(body)
    assert (notice.status, notice.firing, notice.resolved) == ("resolved", 0, 1)
    assert notice.fingerprints == ()
    assert notice.title == "Disk almost full on db-1"


def test_a_partly_resolved_group_is_firing_with_both_counts() -> None:
    body = copy.deepcopy(ALERTMANAGER)
    gone = copy.deepcopy(body["alerts"][0])
    gone.update(status="resolved", fingerprint="0ld")
    body["alerts"].append(gone)
    notice = parse(body)
    assert (notice.status, notice.firing, notice.resolved) == ("firing", 1, 1)
    assert notice.fingerprints == ("1a30ba71cca2921f",)


def test_alerts_without_fingerprints_get_a_stable_one_from_their_labels() -> None:
    body = copy.deepcopy(ALERTMANAGER)
    del body["alerts"][0]["fingerprint"]
    first, again = parse(body), parse(copy.deepcopy(body))
    assert len(first.fingerprints[0]) == 16
    assert first.fingerprints == again.fingerprints
    body["alerts"][0]["labels"]["instance"] = "db-9:9100"
    assert parse(body).fingerprints != first.fingerprints


# Grafana


def test_grafana_fields_make_it_grafana_with_dashboard_panel_and_silence_links() -> None:
    notice = parse(grafana_body())
    assert notice.source == "grafana"
    assert notice.status == "firing"
    assert notice.firing == 2
    assert notice.fingerprints == ("c6eadffa33fcdf37", "b2")
    assert [link.label for link in notice.links] == [
        "Source",
        "Dashboard",
        "Panel",
        "Silence",
        "Grafana",
    ]
    assert notice.labels == {"team": "blue"}


def test_grafana_title_is_used_without_its_status_prefix_when_nothing_else_names_it() -> None:
    assert parse(grafana_body()).title == "(blue)"


def test_one_grafana_alert_is_titled_by_its_alertname_and_described() -> None:
    body = grafana_body()
    body["alerts"] = body["alerts"][:1]
    body["commonLabels"] = body["alerts"][0]["labels"]
    notice = parse(body)
    assert notice.title == "High memory"
    assert notice.text == "Memory above 90%"
    assert "__alert_rule_uid__" not in notice.labels


def test_grafana_without_orgid_is_still_recognised_by_its_per_alert_fields() -> None:
    body = grafana_body()
    for name in ("orgId", "title", "state", "message"):
        del body[name]
    assert parse(body).source == "grafana"


# The generic JSON


def test_generic_json_gives_key_status_title_text_and_url() -> None:
    notice = parse(
        {
            "key": "backup-nightly",
            "status": "firing",
            "title": "Nightly backup failed",
            "text": "exit code 2\nsee the log",
            "url": "https://ci.example.com/jobs/81",
        }
    )
    assert notice == AlertNotice(
        source="generic",
        group_key="backup-nightly",
        status="firing",
        title="Nightly backup failed",
        text="exit code 2\nsee the log",
        firing=1,
        links=(Link("Link", "https://ci.example.com/jobs/81"),),
    )


def test_generic_resolved_without_a_title_is_titled_by_its_key() -> None:
    notice = parse({"key": "backup-nightly", "status": "resolved"})
    assert (notice.title, notice.status, notice.resolved, notice.firing) == (
        "backup-nightly",
        "resolved",
        1,
        0,
    )


# Bodies that cannot be read are refused in words


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "body is not JSON"),
        (b"{not json", "body is not JSON"),
        (b"\xff\xfe\xfa", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "body is not JSON"),
        ([1, 2], "must be a JSON object"),
        ({"hello": "world"}, "no field alerts"),
        ({"key": "k", "status": "burning"}, 'status must be "firing" or "resolved", not "burning"'),
        ({"key": "k"}, "status must be"),
        ({"key": " ", "status": "firing"}, "field key is empty"),
        ({"key": "k", "status": "firing", "title": {"a": 1}}, "field title must be a string"),
        ({"key": "k", "status": "firing", "url": "javascript:alert(1)"}, "http:// or https://"),
        ({**ALERTMANAGER, "alerts": {}}, "field alerts must be a list"),
        ({**ALERTMANAGER, "alerts": []}, "field alerts is empty"),
        ({**ALERTMANAGER, "alerts": ["x"]}, "alerts[0] must be an object"),
        ({**ALERTMANAGER, "alerts": [{"status": "ok"}]}, "alerts[0].status must be"),
        (
            {**ALERTMANAGER, "alerts": [{"status": "firing", "labels": ["a"]}]},
            "alerts[0].labels must be an object",
        ),
        ({**ALERTMANAGER, "version": "3"}, "version 3 is not supported"),
        ({**ALERTMANAGER, "version": "1"}, "version 1 is not supported"),
        ({**ALERTMANAGER, "groupKey": ""}, "groupKey is missing"),
        ({**ALERTMANAGER, "status": None}, "not missing"),
        ({**ALERTMANAGER, "commonLabels": "x"}, "field commonLabels must be an object"),
    ],
)
def test_a_body_that_cannot_be_read_is_refused_with_a_reason(body: Any, reason: str) -> None:
    assert reason in refused(body)


# Text from anywhere


@pytest.mark.parametrize(
    "summary",
    ["数据库主库宕机", "Η βάση δεδομένων έπεσε", "قاعدة البيانات متوقفة", "DB down 🔥🚨", "Ошибка"],
)
def test_non_latin_text_is_kept_as_sent(summary: str) -> None:
    body = copy.deepcopy(ALERTMANAGER)
    body["commonAnnotations"]["summary"] = summary
    body["commonAnnotations"]["description"] = summary + "\n" + summary
    body["commonLabels"]["service"] = summary
    notice = parse(body)
    assert notice.title == summary
    assert notice.text == summary + "\n" + summary
    assert notice.labels["service"] == summary


def test_broken_unicode_and_control_characters_are_repaired_not_refused() -> None:
    raw = b'{"key": "k", "status": "firing", "title": "bad \\ud800 half\\u0000\\r\\nline"}'
    notice = parse_payload(raw)
    assert notice.title == "bad \ufffd half line"
    assert AlertNotice.from_json(notice.to_json()) == notice
    notice.to_json().encode("utf-8")


def test_a_huge_label_set_is_cut_to_the_labels_that_matter_in_order() -> None:
    body = copy.deepcopy(ALERTMANAGER)
    body["commonLabels"].update({f"label_{n:04}": "v" * 5000 for n in range(2000)})
    body["commonLabels"].update(namespace="payments", team="core", prometheus="k8s/main")
    notice = parse(body)
    assert len(notice.labels) == MAX_LABELS
    assert list(notice.labels)[:5] == ["severity", "instance", "job", "namespace", "team"]
    assert "prometheus" not in notice.labels and "alertname" not in notice.labels
    assert all(len(value) <= 100 for value in notice.labels.values())


def test_a_huge_title_and_description_are_cut_with_an_ellipsis() -> None:
    notice = parse({"key": "k", "status": "firing", "title": "t" * 10_000, "text": "x" * 90_000})
    assert len(notice.title) == 300 and notice.title.endswith("…")
    assert len(notice.text) == 2000 and notice.text.endswith("…")


def test_a_very_long_group_key_is_kept_as_its_hash_so_it_stays_one_group() -> None:
    key = "k" * 5000
    first = parse({"key": key, "status": "firing"})
    assert first.group_key.startswith("sha256:") and len(first.group_key) == 71
    assert parse({"key": key, "status": "resolved"}).group_key == first.group_key


def test_links_that_are_not_http_are_left_out() -> None:
    body = copy.deepcopy(ALERTMANAGER)
    body["alerts"][0]["generatorURL"] = "javascript:alert(1)"
    body["externalURL"] = "http://x.example/<!channel>"
    assert [link.label for link in parse(body).links] == ["Runbook"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=30,
)
shaped = st.fixed_dictionaries(
    {"status": st.sampled_from(["firing", "resolved", "x"])},
    optional={
        "key": json_values,
        "alerts": st.lists(
            st.fixed_dictionaries({"status": st.sampled_from(["firing", "resolved"])}),
            max_size=3,
        )
        | json_values,
        "groupKey": json_values,
        "title": json_values,
        "commonLabels": json_values,
        "orgId": json_values,
        "version": st.sampled_from(["1", "4"]) | json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, shaped))
def test_any_json_is_a_notice_that_round_trips_or_a_reason(body: Any) -> None:
    try:
        notice = parse_payload(json.dumps(body).encode())
    except BadPayload as error:
        assert str(error)
        return
    assert AlertNotice.from_json(notice.to_json()) == notice
    assert notice.title.strip()
