"""A local stand-in for the Oura API v2 that tests start on port 0: it serves the recorded
responses in tests/fixtures/oura (filtered by the asked window, heart rate paged by next_token),
checks the bearer token, renews it at /oauth/token, and answers with scripted faults first
(429 with Retry-After, 5xx, 401) when a test queues them. It records every request."""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "oura"
PAGE2 = "eyJwYWdlIjogMn0="  # heartrate_page1.json's next_token


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class Fault:
    path: str  # the request path it answers, e.g. /v2/usercollection/heartrate
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    authorization: str
    form: dict[str, str]


class FakeOura:
    def __init__(self, access_token: str = "access-1", refresh_token: str = "refresh-1") -> None:
        self.access_token, self.refresh_token = access_token, refresh_token
        self.refresh_works = True
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.heartrate = [load("heartrate_page1.json"), load("heartrate_page2.json")]
        self.daily_activity = load("daily_activity.json")["data"]
        self.sleep = load("sleep.json")["data"]
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                fake._answer(self, "GET")

            def do_POST(self) -> None:
                fake._answer(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeOura:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()

    def gets(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == "GET" and r.path == path]

    def _answer(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        length = int(handler.headers.get("content-length") or 0)
        form = dict(urllib.parse.parse_qsl(handler.rfile.read(length).decode())) if length else {}
        with self._lock:
            self.requests.append(Request(method, url.path, query, handler.headers.get("authorization", ""), form))
            fault = next((f for f in self.faults if f.path == url.path), None)
            if fault is not None:
                self.faults.remove(fault)
                return self._send(handler, fault.status, {"detail": "scripted"}, fault.headers)
            if method == "POST" and url.path == "/oauth/token":
                return self._token(handler, form)
            if handler.headers.get("authorization") != f"Bearer {self.access_token}":
                return self._send(handler, 401, {"detail": "invalid token"})
            body = self._collection(url.path, query)
        if body is None:
            return self._send(handler, 404, {"detail": "not found"})
        self._send(handler, 200, body)

    def _token(self, handler, form: dict[str, str]) -> None:
        if not self.refresh_works or form.get("grant_type") != "refresh_token" \
                or form.get("refresh_token") != self.refresh_token:
            return self._send(handler, 400, {"error": "invalid_grant"})
        number = int(self.access_token.rsplit("-", 1)[1]) + 1
        self.access_token, self.refresh_token = f"access-{number}", f"refresh-{number}"
        self._send(handler, 200, {"access_token": self.access_token, "refresh_token": self.refresh_token,
                                  "expires_in": 86400, "token_type": "bearer"})

    def _collection(self, path: str, query: dict[str, str]) -> dict | None:
        if path == "/v2/usercollection/heartrate":
            start = dt.datetime.fromisoformat(query["start_datetime"].replace("Z", "+00:00"))
            end = dt.datetime.fromisoformat(query["end_datetime"].replace("Z", "+00:00"))
            page = self.heartrate[1 if query.get("next_token") == PAGE2 else 0]
            rows = [r for r in page["data"] if start <= dt.datetime.fromisoformat(r["timestamp"]) <= end]
            return {"data": rows, "next_token": page["next_token"]}
        days = (dt.date.fromisoformat(query.get("start_date", "1900-01-01")),
                dt.date.fromisoformat(query.get("end_date", "2999-12-31")))
        if path == "/v2/usercollection/daily_activity":
            rows = self.daily_activity
        elif path == "/v2/usercollection/sleep":
            rows = self.sleep
        else:
            return None
        return {"data": [r for r in rows if days[0] <= dt.date.fromisoformat(r["day"]) <= days[1]],
                "next_token": None}

    @staticmethod
    def _send(handler, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
