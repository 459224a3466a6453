"""Traces through the whole mesh (services/common/telemetry): a client's W3C traceparent crosses
Envoy into the service, on into the peers it calls, the WriteSamples stream and PostgreSQL; a
background job and an outbox delivery link back to it; log lines and error responses carry the
trace id; and nothing a user sent or holds is in a span. The runner writes every process's spans
to <state>/traces/*.jsonl, a BatchSpanProcessor's way: the tests poll for them."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, auth, new_user

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hae"
WEIGHT = 71.3579  # a health value no span may hold
HEART_RATE = 61.98765
SOURCE = "Scale-of-Ada-Q7"


def traceparent() -> tuple[str, str]:
    """(trace id, header) of a client-chosen, sampled trace."""
    trace_id = secrets.token_hex(16)
    return trace_id, f"00-{trace_id}-{secrets.token_hex(8)}-01"


def _value(v: dict):
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    return int(v["intValue"]) if "intValue" in v else v


def read_spans(traces_dir: Path) -> list[dict]:
    """Every span written so far, each with its service's name and attributes as a dict."""
    spans = []
    for path in sorted(traces_dir.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if not line.endswith("}"):
                continue  # a line being written
            for resource in json.loads(line)["resourceSpans"]:
                service = next(a["value"]["stringValue"] for a in resource["resource"]["attributes"]
                               if a["key"] == "service.name")
                for scope in resource["scopeSpans"]:
                    for span in scope["spans"]:
                        span["service"] = service
                        span["attrs"] = {a["key"]: _value(a["value"]) for a in span.get("attributes", [])}
                        span.setdefault("links", [])
                        spans.append(span)
    return spans


def wait_for(traces_dir: Path, wanted: Callable[[list[dict]], bool], timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        spans = read_spans(traces_dir)
        if wanted(spans):
            return spans
        if time.monotonic() > deadline:
            names = sorted({(s["service"], s["name"]) for s in spans})[-60:]
            pytest.fail(f"the spans looked for did not come; there are: {names}")
        time.sleep(0.2)


def in_trace(spans: list[dict], trace_id: str) -> list[dict]:
    return [s for s in spans if s["traceId"] == trace_id]


def has(spans: list[dict], service: str, name: str = "", kind: int | None = None,
        attr: tuple[str, object] | None = None) -> bool:
    return any(s["service"] == service and (not name or s["name"] == name) and (kind is None or s["kind"] == kind)
               and (attr is None or s["attrs"].get(attr[0]) == attr[1]) for s in spans)


SERVER, CLIENT = 2, 3
POSTGRES = ("db.system", "postgresql")


@pytest.fixture(scope="module")
def traces_dir(mesh) -> Path:
    return mesh.state_dir / "traces"


def api_key(http, session) -> str:
    return http.post("/v1/users/me/apiKeys", json={"displayName": "Health Auto Export"}, headers=auth(session)
                     ).json()["secret"]


def hae_body() -> bytes:
    """A Health Auto Export payload of the fixtures, with one value nobody else writes."""
    payload = json.loads((FIXTURES / "v2_week_metric.json").read_text())
    payload["data"]["metrics"][0]["data"][0]["Avg"] = HEART_RATE
    return json.dumps(payload).encode()


def test_a_rest_call_through_envoy_continues_the_clients_trace_into_the_peer_and_postgres(http, traces_dir):
    session = new_user(http)
    samples = [{"type": "weight", "startTime": f"2026-03-{d:02d}T07:00:00Z", "utcOffsetMinutes": 0,
                "value": WEIGHT - d / 10, "unit": "kg", "source": SOURCE} for d in range(1, 20)]
    write_trace, header = traceparent()
    reply = http.post("/v1/users/me/samples:batchCreate", json={"samples": samples},
                      headers={**auth(session), "traceparent": header})
    assert reply.status_code == 200, reply.text

    trace_id, header = traceparent()
    # Insight's trends read Tracking's rollups: Envoy -> Insight -> Tracking -> PostgreSQL.
    reply = http.get("/v1/users/me/trends?type=weight&days=60", headers={**auth(session), "traceparent": header})
    assert reply.status_code == 200, reply.text

    def complete(spans: list[dict]) -> bool:
        ours = in_trace(spans, trace_id)
        return (has(ours, "insight", kind=SERVER) and has(ours, "insight", kind=CLIENT)
                and has(ours, "tracking", kind=SERVER) and has(ours, "tracking", attr=POSTGRES))

    spans = in_trace(wait_for(traces_dir, complete), trace_id)
    [served] = [s for s in spans if s["service"] == "insight" and s["kind"] == SERVER]
    assert served["name"].startswith("/healthmesh.insight.v1.")
    assert served["parentSpanId"], "the service's span continues a parent (the client's, or Envoy's)"
    # Tracking's span is a child of Insight's call to it.
    calls = {s["spanId"] for s in spans if s["service"] == "insight" and s["kind"] == CLIENT}
    assert any(s["parentSpanId"] in calls for s in spans if s["service"] == "tracking" and s["kind"] == SERVER)
    statements = [s["attrs"].get("db.statement", "") for s in spans if s["attrs"].get("db.system") == "postgresql"]
    assert statements and all(WEIGHT.__str__()[:5] not in text for text in statements)

    # The write's outbox event reached Insight in a delivery whose span links to the write's trace.
    def relayed(spans: list[dict]) -> bool:
        return any(s["name"] == "outbox.relay" and any(link["traceId"] == write_trace for link in s["links"])
                   for s in spans)

    wait_for(traces_dir, relayed)


def test_a_health_auto_export_upload_is_one_trace_from_ingest_to_the_copy(http, mesh, traces_dir):
    session = new_user(http)
    key = api_key(http, session)
    trace_id, header = traceparent()
    reply = http.post("/v1/ingest/healthAutoExport", content=hae_body(), headers={
        "authorization": f"Bearer {key}", "content-type": "application/json", "traceparent": header})
    assert reply.status_code == 200, reply.text
    assert reply.json()["state"] == "SUCCEEDED"

    def complete(spans: list[dict]) -> bool:
        ours = in_trace(spans, trace_id)
        return (has(ours, "ingest", kind=SERVER) and has(ours, "ingest", "ingest.archive")
                and has(ours, "ingest", "ingest.parse")
                and has(ours, "ingest", "/healthmesh.tracking.v1.TrackingInternalService/WriteSamples", CLIENT)
                and has(ours, "tracking", "/healthmesh.tracking.v1.TrackingInternalService/WriteSamples", SERVER)
                and has(ours, "tracking", "tracking.check") and has(ours, "tracking", "tracking.copy")
                and has(ours, "tracking", attr=POSTGRES))

    spans = in_trace(wait_for(traces_dir, complete), trace_id)
    by_id = {s["spanId"]: s for s in spans}
    [copy, *_] = [s for s in spans if s["name"] == "tracking.copy"]
    chain = []
    while copy is not None:  # the COPY's ancestors, up to the upload's own span in Ingest and Envoy's above it
        chain.append((copy["service"], copy["name"]))
        copy = by_id.get(copy["parentSpanId"])
    assert ("tracking", "/healthmesh.tracking.v1.TrackingInternalService/WriteSamples") in chain
    upload = [i for i, (service, name) in enumerate(chain)
              if service == "ingest" and name.startswith("/healthmesh.ingest.v1.")]
    assert upload, chain
    assert all(service == "envoy" for service, _ in chain[upload[0] + 1:]), chain  # only Envoy's spans above it

    # Both services' log lines written in the trace carry its id (and a span's).
    for service in ("ingest", "tracking"):
        lines = [json.loads(line) for line in (Path(mesh.endpoints["logs"]) / f"{service}.log").read_text(
            errors="replace").splitlines() if line.startswith("{") and trace_id in line]
        assert lines, f"no {service} log line carries the trace id"
        assert all(line["trace_id"] == trace_id and len(line["span_id"]) == 16 for line in lines)


def test_a_background_ingestion_links_to_the_upload_that_queued_it(http, traces_dir):
    session = new_user(http)
    key = api_key(http, session)
    trace_id, header = traceparent()
    reply = http.post("/v1/ingest/healthAutoExport", content=hae_body(), headers={
        "authorization": f"Bearer {key}", "content-type": "application/json", "traceparent": header,
        "prefer": "respond-async"})
    assert reply.status_code == 200 and reply.json()["state"] in ("PENDING", "RUNNING"), reply.text

    def job_with_its_writes(spans: list[dict]) -> bool:
        jobs = [s for s in spans if s["name"] == "ingest.job" and any(l["traceId"] == trace_id for l in s["links"])]
        return any(has(in_trace(spans, job["traceId"]), "tracking", "tracking.copy") for job in jobs)

    spans = wait_for(traces_dir, job_with_its_writes)
    [job] = [s for s in spans if s["name"] == "ingest.job" and any(l["traceId"] == trace_id for l in s["links"])]
    assert job["traceId"] != trace_id and not job["parentSpanId"]  # its own trace, linked, not a child


def test_an_error_response_names_its_trace_and_request(http):
    session = new_user(http)
    trace_id, header = traceparent()
    reply = http.get("/v1/users/me/samples:aggregate?type=no_such_type&interval=DAY",
                     headers={**auth(session), "traceparent": header})
    assert 400 <= reply.status_code < 500, reply.text
    [info] = [d for d in reply.json()["details"] if d["@type"].endswith("google.rpc.ErrorInfo")]
    assert info["metadata"]["trace_id"] == trace_id
    assert info["metadata"]["request_id"]


def test_no_span_holds_what_a_user_sent_or_holds(http, traces_dir):
    """After the flows above and one more of this user's own: no email, password, token, API key,
    health value or source name in any span of any service."""
    session = new_user(http)
    key = api_key(http, session)
    trace_id, header = traceparent()
    sample = {"type": "weight", "startTime": "2026-03-01T07:00:00Z", "utcOffsetMinutes": 0, "value": WEIGHT,
              "unit": "kg", "source": SOURCE}
    assert http.post("/v1/users/me/samples", json=sample, headers={**auth(session), "traceparent": header}
                     ).status_code == 200
    assert http.post("/v1/ingest/healthAutoExport", content=hae_body(), headers={
        "authorization": f"Bearer {key}", "content-type": "application/json"}).status_code == 200
    wait_for(traces_dir, lambda spans: has(in_trace(spans, trace_id), "tracking", attr=POSTGRES))
    text = "\n".join(p.read_text() for p in traces_dir.glob("*.jsonl"))
    secrets_held = {"email": session["user"]["email"], "password": PASSWORD, "access token": session["accessToken"],
                    "refresh token": session.get("refreshToken", "") or "-", "API key": key,
                    "weight": str(WEIGHT), "heart rate": str(HEART_RATE), "source": SOURCE}
    found = [what for what, value in secrets_held.items() if value and value in text]
    assert not found, f"spans hold the user's {found}"
    assert session["user"]["name"].removeprefix("users/") not in text, "spans name the user"


def test_each_line_of_a_services_file_is_one_span(http, traces_dir):
    new_user(http)
    wait_for(traces_dir, lambda spans: any(s["service"] == "auth" for s in spans))
    files = list(traces_dir.glob("*-*.jsonl"))  # <service>-<pid>.jsonl (Envoy's, on main, is envoy.jsonl)
    for path in files:
        for line in path.read_text().splitlines()[:50]:
            [resource] = json.loads(line)["resourceSpans"]
            [scope] = resource["scopeSpans"]
            [span] = scope["spans"]
            assert len(span["traceId"]) == 32 and len(span["spanId"]) == 16

