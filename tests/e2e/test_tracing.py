"""Envoy's tracing in the session mesh (the runner traces by default, without a collector): a REST
call with a client's traceparent gives Envoy's spans under that trace id in <state>/traces/envoy.jsonl
(written by the runner's OTLP receiver), its server span under the client's span and its upstream
span under that, and `healthmesh trace` prints the tree. A call without one starts a trace.
Services' own spans, where they write them, hang under Envoy's upstream span."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, auth, new_user

pytestmark = pytest.mark.e2e

HEALTHMESH = Path(sys.executable).parent / "healthmesh"
FLUSH_WAIT_SECONDS = 30  # Envoy sends its spans every 5 s; a deadline to wait by, not a timing check


def spans_of(mesh, trace_id: str, at_least: int) -> list[dict]:
    """The trace's spans in every trace file, once Envoy's `at_least` spans are there."""
    deadline = time.monotonic() + FLUSH_WAIT_SECONDS
    while True:
        spans = []
        for path in (mesh.state_dir / "traces").glob("*.jsonl"):
            for line in path.read_text().splitlines():
                if trace_id in line:
                    for rs in json.loads(line)["resourceSpans"]:
                        service = rs["resource"]["attributes"]
                        for ss in rs["scopeSpans"]:
                            # (a line may name the trace only in a link: the outbox relay's, of another trace)
                            spans += [{**s, "service": next(a["value"]["stringValue"] for a in service
                                                            if a["key"] == "service.name")}
                                      for s in ss["spans"] if s["traceId"] == trace_id]
        if sum(s["service"] == "envoy" for s in spans) >= at_least or time.monotonic() > deadline:
            return spans
        time.sleep(0.5)


def test_envoy_continues_a_clients_trace_and_healthmesh_trace_prints_it(mesh, http):
    session = new_user(http)
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    reply = http.post("/v1/users/me/samples", headers={**auth(session), "traceparent": f"00-{trace_id}-{client_span}-01"},
                      json={"type": "heart_rate", "startTime": "2026-03-01T08:00:00Z", "value": 61.437, "unit": "count/min"})
    assert reply.status_code == 200, reply.text

    spans = spans_of(mesh, trace_id, at_least=2)
    envoy = {s["name"]: s for s in spans if s["service"] == "envoy"}
    ingress, egress = envoy["ingress"], envoy["router tracking egress"]
    assert ingress["parentSpanId"] == client_span and ingress["kind"] == 2  # SERVER, the client's child
    assert egress["parentSpanId"] == ingress["spanId"] and egress["kind"] == 3  # CLIENT, to tracking
    assert all(len(s["traceId"]) == 32 and len(s["spanId"]) == 16 for s in spans)  # hex, as OTLP/JSON says
    # The traceparent tracking got names Envoy's upstream span: its server span (when it writes one) is under it.
    service_roots = [s for s in spans if s["service"] != "envoy" and s["parentSpanId"] not in
                     {o["spanId"] for o in spans if o["service"] != "envoy"}]
    assert all(s["parentSpanId"] == egress["spanId"] for s in service_roots), service_roots
    text = json.dumps(spans)
    assert session["accessToken"] not in text and "61.437" not in json.dumps([s.get("attributes") for s in spans
                                                                          if s["service"] == "envoy"])

    shown = subprocess.run([str(HEALTHMESH), "trace", trace_id, "--state-dir", str(mesh.state_dir)],
                           capture_output=True, text=True, timeout=60, cwd=REPO)
    assert shown.returncode == 0, shown.stderr
    rows = shown.stdout.splitlines()
    assert rows[0].startswith(f"trace {trace_id}: ")
    assert rows[2].endswith(f"envoy  ingress   (parent {client_span} not recorded)")
    assert rows[3].endswith("  envoy  router tracking egress")


def test_a_call_without_traceparent_starts_a_trace_and_an_unknown_one_is_exit_4(mesh, http):
    marker = secrets.token_hex(8)  # in the span's http.url (Envoy, the edge, makes its own x-request-id)
    reply = http.get(f"/v1/users/me/samples/{marker}")
    assert reply.status_code == 401
    deadline = time.monotonic() + FLUSH_WAIT_SECONDS
    started = None
    while started is None and time.monotonic() < deadline:
        for line in (mesh.state_dir / "traces" / "envoy.jsonl").read_text().splitlines():
            if marker in line:
                span = json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
                started = span if span["name"] == "ingress" else started
        time.sleep(0.5)
    assert started is not None and started["parentSpanId"] == ""  # a root: Envoy began the trace

    missing = subprocess.run([str(HEALTHMESH), "trace", secrets.token_hex(16), "--state-dir", str(mesh.state_dir)],
                             capture_output=True, text=True, timeout=60, cwd=REPO)
    assert missing.returncode == 4 and "no span of trace" in missing.stderr and "Traceback" not in missing.stderr
