"""`healthmesh import`: an Apple Health export (export.zip or export.xml) or a Health Auto Export
JSON file, uploaded with a progress bar, followed to its end, then summed up.

    healthmesh import export.zip
    healthmesh import export.zip --json               (the finished Ingestion, as GET returns it)

The bar (bytes sent, rate) and then the share of the upload processed are drawn on stderr when
it is a terminal; otherwise one line says what was sent. The summary is one row per input kind
(accepted, duplicate, updated, rejected, skipped), a reason for each skipped kind, and the first
errors; `healthmesh ingestions show <id>` shows them all.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import httpx

from client import api
from client.output import API_ERROR, NOT_FOUND, CliError, checked, emit, local_time, number, short_id, size, table

CHUNK = 256 * 1024
BAR = 30
SHOWN_ERRORS = 10
POLL_SECONDS = 0.5

# What a skipped kind's reason (the ItemError.reason of its entry in errors) means, in a few words.
SKIP_REASONS = {
    "UNSUPPORTED_METRIC": "not a supported type",
    "UNSUPPORTED_TYPE": "not a supported type",
    "UNSUPPORTED_UNIT": "in a unit its type does not take",
    "UNSUPPORTED_VALUE": "a value with no mapping",
    "UNSUPPORTED_SLEEP_STAGE": "a sleep stage with no mapping",
    "UNSUPPORTED_ARRAY": "not a supported type",
    "DERIVED_SUMMARY": "derived from records already imported",
    "PART_OF_CORRELATION": "stored with its correlation (blood pressure)",
}
COUNTS = ("accepted", "duplicate", "updated", "rejected", "skipped")


def endpoint(path: Path) -> tuple[str, str]:
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(b"PK"):
        return "/v1/ingest/appleHealthExport", "application/zip"
    if path.suffix.lower() == ".xml":
        return "/v1/ingest/appleHealthExport", "application/xml"
    return "/v1/ingest/healthAutoExport", "application/json"


def progress(path: Path, out: TextIO, bar: bool) -> Iterator[bytes]:
    """The file in chunks; on a terminal a bar is redrawn as they go."""
    total = path.stat().st_size
    sent, started = 0, time.monotonic()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            sent += len(chunk)
            if bar:
                done = int(BAR * sent / max(total, 1))
                rate = sent / max(time.monotonic() - started, 1e-6) / 1e6
                out.write(f"\r[{'#' * done}{'.' * (BAR - done)}] {size(sent):>9} of {size(total)}  {rate:6.1f} MB/s")
                out.flush()
            yield chunk
    elapsed = max(time.monotonic() - started, 1e-6)
    out.write(("\n" if bar else "") + f"uploaded {size(sent)} in {elapsed:.1f} s ({sent / elapsed / 1e6:.1f} MB/s); "
              "processing...\n")
    out.flush()


def follow(http: httpx.Client, ingestion: dict, out: TextIO, bar: bool) -> dict:
    """Large imports run in the background: polls until the Ingestion is finished, showing how
    much of the upload is processed."""
    total = max(int(ingestion.get("payloadSizeBytes", 0)), 1)
    while ingestion["state"] in ("PENDING", "RUNNING"):
        time.sleep(POLL_SECONDS)
        ingestion = checked(http.get(f"/v1/{ingestion['name']}"), f"following {ingestion['name']}")
        if bar:
            done = int(ingestion.get("processedBytes", 0))
            out.write(f"\r{ingestion['state'].lower()}: {100 * done // total:3d}% of the upload processed")
            out.flush()
    if bar:
        out.write("\n")
    return ingestion


def skip_reasons(ingestion: dict) -> dict[str, str]:
    """Each skipped kind and why, from the Ingestion's errors: the entry of a skipped kind names
    it first in its message (as `'stateOfMind' has no mapping ...`), with the reason's code."""
    skipped = [m for m, c in ingestion.get("counts", {}).items() if c.get("skipped")]
    found: dict[str, list[str]] = {}
    for error in ingestion.get("errors", []):
        message = error.get("message", "")
        for metric in skipped:
            if message.startswith((repr(metric), f'"{metric}"')):
                why = SKIP_REASONS.get(error.get("reason", ""), message.split(": its items")[0])
                if why not in found.setdefault(metric, []):
                    found[metric].append(why)
    return {m: ", ".join(found.get(m, ["no reason given"])) for m in sorted(skipped)}


def _is_skip_entry(error: dict, kinds: dict[str, str]) -> bool:
    return error.get("message", "").endswith("its items are counted as skipped") and any(
        error.get("message", "").startswith((repr(m), f'"{m}"')) for m in kinds)


def summary(ingestion: dict, max_errors: int | None = SHOWN_ERRORS, tz=None) -> str:
    """An Ingestion for people: its state and size, a row per input kind, why each skipped kind
    was skipped, and the errors (the first max_errors; None: all listed)."""
    counts = ingestion.get("counts", {})
    lines = [f"{ingestion['name']}: {ingestion['state']}",
             f"{ingestion.get('format', '?')}, {size(ingestion.get('payloadSizeBytes', 0))}, "
             f"received {local_time(ingestion.get('createTime'), tz)}"
             + (f", finished {local_time(ingestion['completeTime'], tz)}" if ingestion.get("completeTime") else "")]
    if counts:
        rows = [[metric, *(number(c.get(k, 0)) for k in COUNTS)] for metric, c in sorted(counts.items())]
        lines += ["", table(["kind", *COUNTS], rows, right=range(1, 6))]
    kinds = skip_reasons(ingestion)
    if kinds:
        lines += ["", "skipped: " + "; ".join(f"{m}: {why}" for m, why in kinds.items())]
    errors = [e for e in ingestion.get("errors", []) if not _is_skip_entry(e, kinds)]
    more = int(ingestion.get("errorsTruncated", 0))
    if errors or more:
        shown = errors if max_errors is None else errors[:max_errors]
        lines += ["", f"errors ({len(errors) + more}):"]
        lines += [f"  {e.get('path', '')}: {e.get('reason', '')} {e.get('message', '')}".rstrip() for e in shown]
        rest = len(errors) - len(shown) + more
        if rest > 0:
            lines.append(f"  ... and {rest} more (healthmesh ingestions show {short_id(ingestion['name'])})")
    return "\n".join(lines)


def import_file(args) -> None:
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{path}: no such file", NOT_FOUND)
    route, content_type = endpoint(path)
    bar = sys.stderr.isatty()
    with api.connect(args, timeout=httpx.Timeout(30, read=None)) as http:
        reply = http.post(route, content=progress(path, sys.stderr, bar), headers={"content-type": content_type})
        ingestion = follow(http, checked(reply, "import"), sys.stderr, bar)
    if args.json:
        emit(ingestion)
    else:
        print(summary(ingestion))
    if ingestion["state"] != "SUCCEEDED":
        raise CliError(f"import {ingestion['state']}: {ingestion['name']}", API_ERROR)


def add_commands(commands) -> None:
    p = commands.add_parser("import", help="import an export.zip, export.xml or Health Auto Export JSON")
    p.add_argument("file")
    p.set_defaults(run=import_file)
