"""What every `healthmesh` command shares: exit codes, errors as the server gave them, tables,
JSON, sizes and times.

Exit codes, for scripts (the README's "Command line" lists them too):

    0  success
    1  the server answered with an error (its code, message and field violations are printed),
       or an import ended FAILED
    2  usage: an unknown command or option, a missing or malformed argument (argparse's own code)
    3  not logged in, or the credentials were refused (HTTP 401, UNAUTHENTICATED) or do not
       allow the call (HTTP 403, PERMISSION_DENIED)
    4  not found: the resource named does not exist (HTTP 404, NOT_FOUND), or the file to import
    5  the server could not be reached (refused, no such host, timed out)
  130  interrupted (Ctrl-C); `alerts tail` and `simulate`, which run until Ctrl-C, end with 0

Output: human text on stdout, tables with aligned columns; with --json, stdout holds JSON only
(the API's own resources, as its REST answers hold them; lists as one array over all pages;
`alerts tail` one alert per line). Progress and notes go to stderr. An error goes to stderr, as
a sentence, or with --json as {"error": <the google.rpc.Status the server sent>}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterable, Sequence
from typing import TextIO

import httpx

OK, API_ERROR, USAGE, UNAUTHENTICATED, NOT_FOUND, UNREACHABLE, INTERRUPTED = 0, 1, 2, 3, 4, 5, 130

# google.rpc.Code, by number: the names the server's Status JSON stands for.
GRPC_CODES = ("OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
              "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
              "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED")


class CliError(Exception):
    """Ends a command: its message (and detail lines) go to stderr, its exit code to the shell."""

    def __init__(self, message: str, exit_code: int = API_ERROR, details: Sequence[str] = (),
                 status: dict | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.details = list(details)
        self.status = status  # the server's google.rpc.Status JSON, when it sent one


def exit_code_for(http_status: int) -> int:
    if http_status in (401, 403):
        return UNAUTHENTICATED
    if http_status == 404:
        return NOT_FOUND
    return API_ERROR


def not_logged_in() -> CliError:
    return CliError("not logged in: run `healthmesh login` or set HEALTHMESH_TOKEN", UNAUTHENTICATED)


def _status(reply: httpx.Response) -> dict:
    try:
        body = reply.json()
    except ValueError:
        body = None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]  # a server stream's answer holds its status as the array's one element
    if not isinstance(body, dict):
        return {"message": reply.text[:300] or reply.reason_phrase}
    return body.get("error", body) if isinstance(body.get("error"), dict) else body


def describe(reply: httpx.Response) -> tuple[str, list[str], dict]:
    """An error reply as `404 NOT_FOUND: message [REASON]`, a line per field violation, and the
    Status itself."""
    status = _status(reply)
    code = status.get("code")
    name = GRPC_CODES[code] if isinstance(code, int) and 0 <= code < len(GRPC_CODES) else ""
    details = [d for d in status.get("details", []) if isinstance(d, dict)]
    reasons = [d["reason"] for d in details if d.get("@type", "").endswith("ErrorInfo") and d.get("reason")]
    head = f"{reply.status_code} {name}".rstrip() + f": {status.get('message') or reply.reason_phrase}"
    if reasons and reasons[0] != name:
        head += f" [{reasons[0]}]"
    lines = [f"{v.get('field') or '(request)'}: {v.get('description', '')}"
             + (f" [{v['reason']}]" if v.get("reason") not in (None, "", name) else "")
             for d in details if d.get("@type", "").endswith("BadRequest") for v in d.get("fieldViolations", [])]
    return head, lines, status


def api_error(reply: httpx.Response, doing: str) -> CliError:
    head, lines, status = describe(reply)
    return CliError(f"{doing} failed: {head}", exit_code_for(reply.status_code), lines, status)


def checked(reply: httpx.Response, doing: str) -> dict:
    """The JSON of a 200 reply, or the CliError that says what the server refused."""
    if reply.status_code != 200:
        raise api_error(reply, doing)
    return reply.json()


def report(error: CliError, as_json: bool, out: TextIO | None = None) -> int:
    """Writes an error for people or, with --json, for programs; returns its exit code."""
    out = out or sys.stderr  # looked up now, not at import: a test's or a caller's redirected stderr
    if as_json:
        body = error.status if error.status is not None else {"message": str(error)}
        print(json.dumps({"error": {**body, "exitCode": error.exit_code}}), file=out)
    else:
        print(f"healthmesh: {error}", file=out)
        for line in error.details:
            print(f"  {line}", file=out)
    return error.exit_code


def emit(value: object, out: TextIO | None = None) -> None:
    """One JSON document on stdout."""
    print(json.dumps(value, indent=2, ensure_ascii=False), file=out or sys.stdout)


def emit_array(items: Iterable[object], out: TextIO | None = None) -> int:
    """A JSON array written as its items come (pages of a long list are not held); returns the count."""
    out = out or sys.stdout
    items = iter(items)
    first = next(items, None)  # the first page read (or its error raised) before anything is written
    if first is None:
        out.write("[]\n")
        return 0
    out.write("[\n  " + json.dumps(first, ensure_ascii=False))
    n = 1
    for item in items:
        out.write(",\n  " + json.dumps(item, ensure_ascii=False))
        n += 1
    out.write("\n]\n")
    out.flush()
    return n


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], right: Iterable[int] = ()) -> str:
    """Rows as aligned columns under their headers; the columns numbered in `right` align right
    (numbers). Two spaces between columns, none at the ends of lines."""
    text = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in text]) for i, h in enumerate(headers)]
    right = set(right)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(headers)] + [line(r) for r in text])


def size(n: int | str) -> str:
    """Bytes for people, in decimal units: under 1 MB in KB, else MB (1 KB = 1000 bytes)."""
    n = int(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f} KB"
    return f"{n / 1e6:.1f} MB"


def local_time(timestamp: str | None, tz: dt.tzinfo | None = None, seconds: bool = True) -> str:
    """A contract timestamp (RFC 3339, UTC) in this computer's time zone (or `tz`)."""
    try:
        when = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(tz)  # type: ignore[union-attr]
    except (AttributeError, TypeError, ValueError):
        return timestamp or "-"
    return when.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def number(value: object) -> str:
    """A value as people read it: no trailing zeros, at most 2 decimals."""
    if not isinstance(value, (int, float)):
        return "-" if value is None else str(value)
    return f"{round(value, 2):,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{int(value):,}"


def short_id(name: str) -> str:
    """The last segment of a resource name: the id a command takes back."""
    return name.rsplit("/", 1)[-1]


def non_negative(text: str) -> int:
    """An argparse type: a count of 0 or more (0 meaning all, where a limit takes it)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (all) or more, got {value}")
    return value
