"""`healthmesh alerts tail`: a user's alerts as they are raised, from Insight's WatchAlerts stream.

    healthmesh alerts tail                            (alerts raised from now on, until Ctrl-C)
    healthmesh alerts tail --since-last 5             (the 5 newest first, then the new ones)
    healthmesh alerts tail --json                     (one alert per line, as JSON: JSON lines)

Over REST through Envoy like the other commands: GET /v1/users/me/alerts:watch answers a JSON array,
one element per message. Whatever ends the stream (a network cut, a server shutting down, Envoy
closing it, a silence longer than two heartbeats), the tail calls again with after_alert = the last
alert it showed, so nothing is missed and nothing shown twice. It stops on Ctrl-C, and on an answer
that calling again cannot change: the login expired (401, exit 3), another user (403, exit 3), a bad
request (400, exit 1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import TextIO

import httpx

from client import api
from client.output import API_ERROR, NOT_FOUND, UNAUTHENTICATED, CliError, local_time

WATCH = "/v1/users/me/alerts:watch"
LIST = "/v1/users/me/alerts"
# The position of a user without alerts. A bare "" would mean "the newest alert when the stream
# starts": an alert raised between the ListAlerts and the stream, or during a break before any
# heartbeat, would be skipped. Alert ids are UUIDv7 in creation order and after_alert need not exist,
# so the nil id stands before the first alert.
BEFORE_FIRST = "users/me/alerts/00000000-0000-0000-0000-000000000000"
FIRST_BACKOFF, MAX_BACKOFF = 0.5, 15.0
GRPC_UNAUTHENTICATED, GRPC_PERMISSION_DENIED, GRPC_INVALID_ARGUMENT, GRPC_NOT_FOUND = 16, 7, 3, 5


class Refused(Exception):
    """An answer that calling again cannot change: the tail ends with it, and exits with exit_code."""

    def __init__(self, message: str, exit_code: int = API_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Broken(Exception):
    """The stream ended or could not open, in a way that resuming may mend."""


class ArrayReader:
    """The messages of a transcoded server stream as its text arrives: `[{...},{...}` and maybe `]`,
    split anywhere. Each message may be wrapped as {"result": ...}."""

    def __init__(self) -> None:
        self._decoder = json.JSONDecoder()
        self._rest = ""

    def feed(self, text: str) -> list[dict]:
        out = []
        self._rest += text
        while True:
            self._rest = self._rest.lstrip("[, \r\n\t")
            if not self._rest or self._rest.startswith("]"):
                return out
            try:
                message, end = self._decoder.raw_decode(self._rest)
            except ValueError:
                return out  # the message's end has not come yet
            self._rest = self._rest[end:]
            if isinstance(message, dict):
                out.append(message.get("result", message))


def render(alert: dict, tz: dt.tzinfo | None = None) -> str:
    return (f"{local_time(alert.get('triggerTime', ''), tz)}  {alert.get('severity', '?'):<8}  "
            f"{alert.get('message', '')}  {alert.get('name', '')}")


def _problem(status: int, message: str) -> Exception:
    """An HTTP or gRPC status as Refused (final) or Broken (resume)."""
    if status in (401, GRPC_UNAUTHENTICATED):
        return Refused(f"the login expired or was revoked ({message}): run `healthmesh login` again", UNAUTHENTICATED)
    if status in (403, GRPC_PERMISSION_DENIED):
        return Refused(f"permission denied: {message}", UNAUTHENTICATED)
    if status in (404, GRPC_NOT_FOUND):
        return Refused(f"watching alerts failed: {message}", NOT_FOUND)
    if status in (400, GRPC_INVALID_ARGUMENT):
        return Refused(f"watching alerts failed: {message}")
    return Broken(f"{status}: {message}")  # 429, 5xx (Insight restarting, Envoy without an upstream)


def _reply_problem(reply: httpx.Response) -> Exception:
    reply.read()
    try:
        message = reply.json().get("message", reply.text)
    except ValueError:
        message = reply.text[:300]
    return _problem(reply.status_code, message or reply.reason_phrase)


def newest(http: httpx.Client, n: int) -> list[dict]:
    """The n newest alerts (at least 1 is asked for, to know where the stream starts), newest first."""
    reply = http.get(LIST, params={"pageSize": max(1, min(n, 1000))})
    if reply.status_code != 200:
        problem = _reply_problem(reply)
        raise problem if isinstance(problem, Refused) else Refused(f"listing alerts failed: {problem}", API_ERROR)
    return reply.json().get("alerts", [])


def watch(http: httpx.Client, after: str, heartbeat: int) -> Iterator[dict]:
    """One WatchAlerts call's messages ({"alert": ...} or {"heartbeat": ...}) until the stream ends.
    A read waits two heartbeats at most: longer silence means a connection cut without a word."""
    timeout = httpx.Timeout(30, read=2 * heartbeat + 10)
    params = {"afterAlert": after, "heartbeatIntervalSeconds": heartbeat}
    with http.stream("GET", WATCH, params=params, timeout=timeout) as reply:
        if reply.status_code != 200:
            raise _reply_problem(reply)
        reader = ArrayReader()
        for chunk in reply.iter_text():
            for message in reader.feed(chunk):
                if "alert" in message or "heartbeat" in message:
                    yield message
                elif "code" in message or "error" in message:  # a status in the array
                    status = message.get("error", message)
                    code = status.get("code")
                    raise _problem(code if isinstance(code, int) else 2, str(status.get("message", status)))
                # anything else is an event newer than this client: skipped, the position stays


def tail(http: httpx.Client, out: TextIO, *, since_last: int = 0, heartbeat: int = 30,
         sleep: Callable[[float], None] = time.sleep, notes: TextIO = sys.stderr,
         tz: dt.tzinfo | None = None, as_json: bool = False) -> None:
    """Shows the since_last newest alerts, then every new one (as text, or one JSON object a
    line), resuming after each break; returns only by an exception (Refused, or KeyboardInterrupt
    from the user)."""
    def line(alert: dict) -> str:
        return json.dumps(alert, ensure_ascii=False) if as_json else render(alert, tz)

    existing = newest(http, since_last)
    for alert in reversed(existing[:since_last]):
        print(line(alert), file=out, flush=True)
    after = existing[0]["name"] if existing else BEFORE_FIRST
    # From here on the position is fixed: every alert raised later will be shown.
    print("healthmesh: waiting for alerts (Ctrl-C to stop)", file=notes, flush=True)
    backoff = FIRST_BACKOFF
    while True:
        try:
            for message in watch(http, after, heartbeat):
                backoff = FIRST_BACKOFF  # the stream works: the next break starts over
                if "alert" in message:
                    print(line(message["alert"]), file=out, flush=True)
                    after = message["alert"]["name"]
                elif message["heartbeat"].get("lastAlert"):
                    after = message["heartbeat"]["lastAlert"]
            reason = "the server ended the stream"
        except Broken as exc:
            reason = str(exc)
        except httpx.TransportError as exc:  # refused, reset, cut, silent too long
            reason = f"{type(exc).__name__} {exc}".strip()
        print(f"healthmesh: alerts: {reason}; resuming in {backoff:g} s", file=notes, flush=True)
        sleep(backoff)
        backoff = min(2 * backoff, MAX_BACKOFF)


def alerts_tail(args) -> None:
    with api.connect(args) as http:
        try:
            tail(http, sys.stdout, since_last=args.since_last, heartbeat=args.heartbeat, as_json=args.json)
        except Refused as exc:
            raise CliError(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            pass


def _within(low: int, high: int):
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low} to {high}, got {value}")
        return value
    return parse


def add_commands(commands) -> None:
    p_alerts = commands.add_parser("alerts", help="your alerts")
    actions = p_alerts.add_subparsers(dest="action", required=True)
    p_tail = actions.add_parser("tail", help="show alerts as they are raised, until Ctrl-C")
    p_tail.add_argument("--since-last", type=_within(0, 1000), default=0, metavar="N",
                        help="first show the N newest existing alerts (default 0)")
    p_tail.add_argument("--heartbeat", type=_within(5, 240), default=30, metavar="S",
                        help="seconds of silence before the server sends a heartbeat (5 to 240; default 30)")
    p_tail.set_defaults(run=alerts_tail)
