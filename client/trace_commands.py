"""`healthmesh trace <trace id>`: one request's span tree across services, from the trace files.

    healthmesh trace 4bf92f3577b34da6a3ce929d0e0e4736
    healthmesh trace 4bf92f3577b34da6a3ce929d0e0e4736 --state-dir /tmp/mesh

Reads every `<state dir>/traces/*.jsonl` (the state dir is --state-dir, else HEALTHMESH_STATE_DIR,
else .state): each line an OTLP/JSON ExportTraceServiceRequest, as the services, the runner's
receiver of Envoy's spans and a collector's file exporter write them. Prints the trace's spans
indented under their parents, in start order, each with its start after the trace's first, its
duration, service and name. A line that names the trace but cannot be read (one cut short by a
killed process) is skipped with a note on stderr.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from client.output import NOT_FOUND, USAGE, CliError, emit

TRACE_ID = re.compile(r"[0-9a-f]{32}")
MAX_NOTES = 5  # skipped lines reported one by one; the rest as a count


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_id: str
    service: str
    name: str
    start_ns: int
    end_ns: int
    children: list[Span] = field(default_factory=list)

    @property
    def ms(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e6


def _service(resource: dict) -> str:
    for attribute in resource.get("attributes", []):
        if attribute.get("key") == "service.name":
            return str(attribute.get("value", {}).get("stringValue", "?"))
    return "?"


def spans_of_line(line: str) -> Iterator[Span]:
    """The spans of one line; ValueError, KeyError or TypeError when it is not OTLP/JSON."""
    body = json.loads(line)
    for resource_spans in body["resourceSpans"]:
        service = _service(resource_spans.get("resource", {}))
        for scope_spans in resource_spans.get("scopeSpans", []):
            for s in scope_spans.get("spans", []):
                yield Span(str(s["traceId"]).lower(), str(s["spanId"]).lower(),
                           str(s.get("parentSpanId") or "").lower(), service, str(s.get("name", "")),
                           int(s["startTimeUnixNano"]), int(s["endTimeUnixNano"]))


def read_trace(traces_dir: Path, trace_id: str) -> tuple[list[Span], list[str]]:
    """The spans of `trace_id` in the directory's files (each once), and a note per skipped line."""
    found: dict[str, Span] = {}
    notes: list[str] = []
    for path in sorted(traces_dir.glob("*.jsonl")):
        with path.open(errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip() or trace_id not in line.lower():
                    continue  # most lines are other traces': not parsed
                try:
                    spans = list(spans_of_line(line))
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    notes.append(f"{path.name}:{number}: not an OTLP/JSON span ({type(exc).__name__}), skipped")
                    continue
                for span in spans:
                    if span.trace_id == trace_id:
                        found.setdefault(span.span_id, span)
    return list(found.values()), notes


def tree(spans: list[Span]) -> list[Span]:
    """Links each span to its parent; returns the roots (no parent, or one not recorded), all in start order."""
    by_id = {s.span_id: s for s in spans}
    roots = []
    for span in sorted(spans, key=lambda s: (s.start_ns, s.span_id)):
        parent = by_id.get(span.parent_id)
        (parent.children if parent is not None and parent is not span else roots).append(span)
    return roots


def render(trace_id: str, spans: list[Span]) -> str:
    roots = tree(spans)
    first = min(s.start_ns for s in spans)
    total = (max(s.end_ns for s in spans) - first) / 1e6
    services = sorted({s.service for s in spans})
    lines = [f"trace {trace_id}: {len(spans)} spans from {', '.join(services)}, {total:.2f} ms",
             f"{'start ms':>10} {'ms':>10}  service / span"]
    seen: set[str] = set()

    def walk(span: Span, depth: int) -> None:
        if span.span_id in seen:  # a cycle in broken input: each span once
            return
        seen.add(span.span_id)
        outside = f"   (parent {span.parent_id} not recorded)" if depth == 0 and span.parent_id else ""
        lines.append(f"{(span.start_ns - first) / 1e6:>10.2f} {span.ms:>10.2f}  {'  ' * depth}{span.service}  "
                     f"{span.name}{outside}")
        for child in span.children:
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return "\n".join(lines) + "\n"


def state_dir(args) -> Path:
    return Path(args.state_dir or os.environ.get("HEALTHMESH_STATE_DIR") or ".state")


def trace(args) -> None:
    trace_id = args.trace_id.strip().lower()
    if not TRACE_ID.fullmatch(trace_id):
        raise CliError(f"{args.trace_id[:40]!r} is not a trace id (32 hexadecimal digits)", USAGE)
    traces_dir = state_dir(args) / "traces"
    if not traces_dir.is_dir():
        raise CliError(f"no trace files: {traces_dir} does not exist (see --state-dir, HEALTHMESH_STATE_DIR)",
                       NOT_FOUND)
    spans, notes = read_trace(traces_dir, trace_id)
    for note in notes[:MAX_NOTES]:
        print(f"healthmesh: {note}", file=sys.stderr)
    if len(notes) > MAX_NOTES:
        print(f"healthmesh: ... and {len(notes) - MAX_NOTES} more lines skipped", file=sys.stderr)
    if not spans:
        raise CliError(f"no span of trace {trace_id} in {traces_dir}/*.jsonl", NOT_FOUND)
    if getattr(args, "json", False):
        emit([{"traceId": s.trace_id, "spanId": s.span_id, "parentSpanId": s.parent_id, "service": s.service,
                     "name": s.name, "startTimeUnixNano": str(s.start_ns), "endTimeUnixNano": str(s.end_ns)}
                    for s in sorted(spans, key=lambda s: s.start_ns)])
        return
    print(render(trace_id, spans), end="")


def add_commands(commands) -> None:
    p = commands.add_parser("trace", help="one request's span tree across services, from the state dir's traces/")
    p.add_argument("trace_id", help="32 hexadecimal digits, as in a traceparent or an error's metadata")
    p.add_argument("--state-dir", help="the mesh's state dir (default $HEALTHMESH_STATE_DIR or .state)")
    p.set_defaults(run=trace)
