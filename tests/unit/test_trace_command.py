"""`healthmesh trace` on synthetic trace files: the tree across services and files, indented by
parent in start order with durations; a malformed line is skipped with a note; an unknown trace id
is a clear error with exit code 4 (not found; 2 for a malformed id); the state dir comes from --state-dir, else HEALTHMESH_STATE_DIR."""

from __future__ import annotations

import json
from pathlib import Path

from client import cli

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER = "0af7651916cd43dd8448eb211c80319c"
T0 = 1_796_594_041_000_000_000


def line(service: str, span_id: str, parent: str, name: str, start_ms: float, ms: float, trace: str = TRACE) -> str:
    span = {"traceId": trace, "spanId": span_id, "parentSpanId": parent, "name": name, "kind": 2,
            "startTimeUnixNano": str(T0 + int(start_ms * 1e6)),
            "endTimeUnixNano": str(T0 + int((start_ms + ms) * 1e6)), "attributes": [], "status": {}}
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": [span]}]}]})


def write_traces(state: Path) -> None:
    traces = state / "traces"
    traces.mkdir(parents=True)
    (traces / "envoy.jsonl").write_text("\n".join([
        line("envoy", "b" * 16, "00f067aa0ba902b7", "ingress", 0, 12.5),  # under the client's span
        line("envoy", "c" * 16, "b" * 16, "router tracking egress", 0.2, 12.0),
        line("envoy", "9" * 16, "", "ingress", 0, 1, trace=OTHER),
    ]) + "\n")
    (traces / "tracking-123.jsonl").write_text("\n".join([
        line("tracking", "e" * 16, "d" * 16, "INSERT healthmesh", 3.0, 2.0),  # its parent is in the next line
        line("tracking", "d" * 16, "c" * 16, "TrackingService/CreateSample", 0.5, 11.0),
        line("tracking", "f" * 16, "d" * 16, "check", 1.0, 0.5),
        '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "' + TRACE + '", "spanId": ',  # cut short
    ]) + "\n")
    (traces / "auth-9.jsonl").write_text(line("auth", "a" * 16, "d" * 16, "AuthService/Authenticate", 1.2, 0.3) + "\n")
    (traces / "notes.txt").write_text(line("auth", "1" * 16, "d" * 16, "not a trace file", 0, 1) + "\n")


def test_prints_the_span_tree_across_services_in_start_order(tmp_path, capsys):
    write_traces(tmp_path)
    assert cli.main(["trace", TRACE, "--state-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    rows = out.splitlines()
    assert rows[0] == f"trace {TRACE}: 6 spans from auth, envoy, tracking, 12.50 ms"
    tree = [r[23:] for r in rows[2:]]  # after the start and duration columns
    assert tree == [
        "envoy  ingress   (parent 00f067aa0ba902b7 not recorded)",
        "  envoy  router tracking egress",
        "    tracking  TrackingService/CreateSample",
        "      tracking  check",
        "      auth  AuthService/Authenticate",
        "      tracking  INSERT healthmesh",
    ]
    assert rows[2].split()[:2] == ["0.00", "12.50"] and rows[4].split()[:2] == ["0.50", "11.00"]
    assert rows[6].split()[:2] == ["1.20", "0.30"]
    assert "not a trace file" not in out  # only *.jsonl
    assert "tracking-123.jsonl:4: not an OTLP/JSON span" in err and "Traceback" not in err


def test_an_unknown_trace_is_not_found_with_exit_code_4(tmp_path, capsys):
    write_traces(tmp_path)
    assert cli.main(["trace", "1" * 32, "--state-dir", str(tmp_path)]) == 4
    assert f"no span of trace {'1' * 32} in {tmp_path / 'traces'}/*.jsonl" in capsys.readouterr().err


def test_a_bad_id_or_a_missing_dir_is_an_error_not_a_traceback(tmp_path, capsys):
    assert cli.main(["trace", "not-a-trace", "--state-dir", str(tmp_path)]) == 2
    assert "is not a trace id (32 hexadecimal digits)" in capsys.readouterr().err
    assert cli.main(["trace", TRACE, "--state-dir", str(tmp_path / "nowhere")]) == 4
    assert "does not exist" in capsys.readouterr().err


def test_the_state_dir_comes_from_the_environment_without_the_option(tmp_path, capsys, monkeypatch):
    write_traces(tmp_path)
    monkeypatch.setenv("HEALTHMESH_STATE_DIR", str(tmp_path))
    assert cli.main(["trace", TRACE.upper()]) == 0  # ids are read in any case
    assert "TrackingService/CreateSample" in capsys.readouterr().out


def test_a_span_written_twice_shows_once(tmp_path, capsys):
    write_traces(tmp_path)
    extra = tmp_path / "traces" / "envoy-copy.jsonl"
    extra.write_text((tmp_path / "traces" / "envoy.jsonl").read_text())
    assert cli.main(["trace", TRACE, "--state-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count("router tracking egress") == 1


def test_json_lists_the_spans_in_start_order(tmp_path, capsys):
    write_traces(tmp_path)
    assert cli.main(["trace", TRACE, "--json", "--state-dir", str(tmp_path)]) == 0
    spans = json.loads(capsys.readouterr().out)
    starts = [int(s["startTimeUnixNano"]) for s in spans]
    assert starts == sorted(starts) and {s["traceId"] for s in spans} == {TRACE}
