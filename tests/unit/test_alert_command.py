"""`healthmesh alerts tail` against a scripted server (httpx.MockTransport): the transcoded stream is
read however it is split, every break resumes after the last alert shown (or the heartbeat's
position), so no alert is lost or shown twice, and the answers resuming cannot mend end the tail."""

from __future__ import annotations

import datetime as dt
import io
import json

import httpx
import pytest

from client.alert_commands import BEFORE_FIRST, ArrayReader, Refused, render, tail

USER = "users/0190c1d2-0000-7000-8000-000000000001"


def alert(n: int, value: float = 80) -> dict:
    return {"name": f"{USER}/alerts/0190c1d2-0000-7000-8000-00000000000{n}", "severity": "CRITICAL",
            "triggerTime": f"2026-03-01T07:0{n}:00Z", "message": f"Blood oxygen saturation {value} %, below 90 %.",
            "alertRule": f"{USER}/alertRules/builtin-spo2-low"}


def heartbeat(last: str) -> dict:
    return {"heartbeat": {"sendTime": "2026-03-01T08:00:00Z", "lastAlert": last}}


class Body(httpx.SyncByteStream):
    """A stream body in the given pieces, then either its end or a broken connection."""

    def __init__(self, pieces: list[bytes], broken: bool) -> None:
        self.pieces, self.broken = pieces, broken

    def __iter__(self):
        yield from self.pieces
        if self.broken:
            raise httpx.ReadError("connection reset by peer")


def stream(*messages: dict, wrap: bool = True, broken: bool = False, tail_text: str = "]") -> httpx.Response:
    text = "[" + ",\n".join(json.dumps({"result": m} if wrap else m) for m in messages)
    text += "" if broken else tail_text
    data = text.encode()
    pieces = [data[i:i + 7] for i in range(0, len(data), 7)]  # cut mid-token, as a network does
    return httpx.Response(200, stream=Body(pieces, broken), headers={"content-type": "application/json"})


class Server:
    """Answers ListAlerts with `existing` and each WatchAlerts call with the next scripted reply."""

    def __init__(self, existing: list[dict], replies: list[httpx.Response]) -> None:
        self.existing, self.replies = existing, list(replies)
        self.afters: list[str] = []
        self.list_sizes: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer t"
        if request.url.path == "/v1/users/me/alerts":
            self.list_sizes.append(request.url.params["pageSize"])
            return httpx.Response(200, json={"alerts": self.existing[:int(request.url.params["pageSize"])]})
        assert request.url.path == "/v1/users/me/alerts:watch"
        self.afters.append(request.url.params["afterAlert"])
        assert request.url.params["heartbeatIntervalSeconds"] == "10"
        return self.replies.pop(0)


def run(server: Server, since_last: int = 0) -> tuple[list[str], list[float], str, Exception]:
    out, notes, sleeps = io.StringIO(), io.StringIO(), []
    with httpx.Client(base_url="http://mesh", transport=httpx.MockTransport(server),
                      headers={"authorization": "Bearer t"}) as http:
        with pytest.raises(Refused) as ended:
            tail(http, out, since_last=since_last, heartbeat=10, sleep=sleeps.append, notes=notes, tz=dt.UTC)
    return out.getvalue().splitlines(), sleeps, notes.getvalue(), ended.value


def test_reader_gets_every_message_however_the_text_is_split():
    text = json.dumps([{"result": heartbeat("")}, {"result": {"alert": alert(1)}}, {"alert": alert(2)}])
    reader, got = ArrayReader(), []
    for ch in text:
        got += reader.feed(ch)
    assert got == [heartbeat(""), {"alert": alert(1)}, {"alert": alert(2)}]
    assert ArrayReader().feed('[{"result": {"heartbeat": {"lastAlert": ""}}},{"result": {"al') \
        == [{"heartbeat": {"lastAlert": ""}}]


def test_render_shows_trigger_time_in_local_time_severity_message_and_name():
    line = render(alert(3), tz=dt.timezone(dt.timedelta(hours=2)))
    assert line == f"2026-03-01 09:03:00  CRITICAL  Blood oxygen saturation 80 %, below 90 %.  {alert(3)['name']}"


def test_every_break_resumes_after_the_last_alert_shown_so_none_is_lost_or_repeated():
    a1, a2, a3, a4, a5 = (alert(n) for n in range(1, 6))
    server = Server([a2, a1], [
        stream({"alert": a3}, broken=True),  # a network cut after one alert
        stream({"laterEvent": {}}, heartbeat(a3["name"])),  # an unknown event, then Envoy ends the stream
        httpx.Response(503, json={"code": 14, "message": "upstream connect error"}),  # Insight restarting
        stream({"alert": a4}, {"alert": a5}, wrap=False, broken=True),
        httpx.Response(401, json={"code": 16, "message": "access token expired"}),
    ])
    lines, sleeps, notes, ended = run(server, since_last=1)
    assert [line.rsplit("  ", 1)[1] for line in lines] == [a2["name"], a3["name"], a4["name"], a5["name"]]
    assert server.list_sizes == ["1"]
    assert server.afters == [a2["name"], a3["name"], a3["name"], a3["name"], a5["name"]]
    assert sleeps == [0.5, 0.5, 1.0, 0.5]  # doubling while nothing comes, back to the first once something does
    assert "ReadError" in notes and "503: upstream connect error" in notes
    assert "login expired" in str(ended) and "healthmesh login" in str(ended)


def test_since_last_shows_the_newest_oldest_first_then_tails_after_the_newest():
    a1, a2, a3 = alert(1), alert(2), alert(3)
    server = Server([a3, a2, a1], [httpx.Response(403, json={"code": 7, "message": "not yours"})])
    lines, sleeps, _, ended = run(server, since_last=2)
    assert [line.rsplit("  ", 1)[1] for line in lines] == [a2["name"], a3["name"]]
    assert server.afters == [a3["name"]] and sleeps == []
    assert "permission denied: not yours" in str(ended)


def test_without_alerts_it_starts_before_the_first_and_moves_to_the_heartbeats_position():
    a1 = alert(1)
    server = Server([], [
        stream(heartbeat(a1["name"]), broken=True),  # the server's position; no alert shown on this stream
        stream({"code": 16, "message": "session revoked"}, wrap=False),  # a status inside the array
    ])
    lines, sleeps, _, ended = run(server)
    assert lines == [] and server.afters == [BEFORE_FIRST, a1["name"]] and sleeps == [0.5]
    assert "login expired" in str(ended) and "session revoked" in str(ended)


def test_a_bad_request_is_not_retried():
    server = Server([alert(1)], [httpx.Response(400, json={"code": 3, "message": "after_alert must be ..."})])
    lines, sleeps, _, ended = run(server)
    assert lines == [] and sleeps == [] and "watching alerts failed: after_alert must be" in str(ended)
