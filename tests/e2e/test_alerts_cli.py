"""`healthmesh alerts tail` against the running mesh, through Envoy: a low SpO2 written over REST
shows up as the alert's line, `--since-last` shows existing alerts first, and a revoked login ends
the tail with a non-zero exit. Waits are bounded polls; no duration is asserted."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import threading
import time

import pytest

from tests.e2e.conftest import PASSWORD, auth, new_user
from tests.e2e.test_cli import HEALTHMESH, run
from tests.e2e.test_rest_insight_alerts import sample, wait_for_alerts, write

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 30


class Tail:
    """`healthmesh alerts tail ...` as a subprocess, its output lines collected as they come."""

    def __init__(self, mesh, config_dir, *args: str) -> None:
        env = {**os.environ, "XDG_CONFIG_HOME": str(config_dir), "HEALTHMESH_URL": mesh.http}
        env.pop("HEALTHMESH_TOKEN", None)
        self.proc = subprocess.Popen([str(HEALTHMESH), "alerts", "tail", "--heartbeat", "5", *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     text=True)
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stderr, self.errors), daemon=True)]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(pipe, into: list[str]) -> None:
        for line in pipe:
            into.append(line.rstrip("\n"))

    def wait_for_line(self, *parts: str, stderr: bool = False) -> list[str]:
        lines = self.errors if stderr else self.lines
        deadline = time.monotonic() + WAIT_SECONDS
        while not any(all(p in line for p in parts) for line in lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return [line for line in lines if all(p in line for p in parts)]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        code = self.proc.wait(WAIT_SECONDS)
        for reader in self._readers:
            reader.join(WAIT_SECONDS)
        return code


def logged_in(mesh, http, config_dir) -> dict:
    session = new_user(http)
    logged = run(mesh, config_dir, "login", "--email", session["user"]["email"], "--password", PASSWORD)
    assert logged.returncode == 0, logged.stderr
    return session


def test_a_low_spo2_written_while_tailing_shows_up_as_the_alerts_line(mesh, http, tmp_path):
    session = logged_in(mesh, http, tmp_path)
    tail = Tail(mesh, tmp_path)
    try:
        # Once it says so, its position is fixed: an alert raised from now on must be shown.
        assert tail.wait_for_line("waiting for alerts", stderr=True), (tail.lines, tail.errors)
        headers = auth(session)
        now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        write(http, headers, sample("spo2", now - dt.timedelta(minutes=5), 80, "%"))
        raised = wait_for_alerts(http, headers, 1)
        assert len(raised) == 1, raised
        shown = tail.wait_for_line(raised[0]["name"])
        assert len(shown) == 1, (tail.lines, tail.errors)
        assert "CRITICAL" in shown[0] and "Blood oxygen saturation 80 %, below 90 %." in shown[0]
    finally:
        tail.stop()


def test_since_last_shows_the_existing_alert_and_a_revoked_login_ends_the_tail(mesh, http, tmp_path):
    session = logged_in(mesh, http, tmp_path)
    headers = auth(session)
    write(http, headers, sample("spo2", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=8), 82, "%"))
    raised = wait_for_alerts(http, headers, 1)
    assert len(raised) == 1, raised
    tail = Tail(mesh, tmp_path, "--since-last", "1")
    try:
        assert len(tail.wait_for_line(raised[0]["name"], "82 %")) == 1, (tail.lines, tail.errors)
        revoked = http.post("/v1/users/me:revokeSessions", headers=headers, json={})
        assert revoked.status_code == 200, revoked.text
        code = tail.proc.wait(WAIT_SECONDS)
    finally:
        tail.stop()
    assert code == 3, (tail.lines, tail.errors)  # exit 3: the credentials were refused
    assert any("login expired" in line for line in tail.errors), tail.errors
    assert tail.lines == [line for line in tail.lines if raised[0]["name"] in line]  # shown once, nothing else


def test_with_json_the_tail_is_one_alert_a_line(mesh, http, tmp_path):
    session = logged_in(mesh, http, tmp_path)
    headers = auth(session)
    write(http, headers, sample("spo2", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=8), 81, "%"))
    raised = wait_for_alerts(http, headers, 1)
    assert len(raised) == 1, raised
    tail = Tail(mesh, tmp_path, "--since-last", "1", "--json")
    try:
        assert tail.wait_for_line(raised[0]["name"]), (tail.lines, tail.errors)
    finally:
        tail.stop()
    shown = json.loads(tail.lines[0])
    assert shown["name"] == raised[0]["name"] and shown["severity"] == "CRITICAL"
    assert all(line.startswith("{") for line in tail.lines)  # stdout holds JSON lines only
