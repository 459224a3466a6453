"""The runner itself: a restart finds the earlier data, and stopping it stops every child."""

from __future__ import annotations

import json
import uuid

import httpx
import psutil
import pytest

from tests.e2e.conftest import PASSWORD, MeshProcess

pytestmark = pytest.mark.e2e


def test_a_restart_keeps_the_data_and_stop_leaves_no_process(tmp_path):
    state = tmp_path / "state"
    email = f"restart-{uuid.uuid4().hex[:8]}@example.org"
    first = MeshProcess(state)
    try:
        with httpx.Client(base_url=first.http, timeout=30) as http:
            assert http.post("/v1/auth:register", json={
                "email": email, "password": PASSWORD, "displayName": "R"}).status_code == 200
        children = psutil.Process(first.proc.pid).children(recursive=True)
        assert len(children) >= 7  # five services, Envoy, Redis (PostgreSQL runs as its own daemon)
    finally:
        first.stop()
    assert first.proc.returncode == 0
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    second = MeshProcess(state)
    try:
        with httpx.Client(base_url=second.http, timeout=30) as http:
            login = http.post("/v1/auth:login", json={"email": email, "password": PASSWORD})
            assert login.status_code == 200, login.text
        assert json.loads((state / "secrets.json").read_text())  # the same development secrets were reused
    finally:
        second.stop()
