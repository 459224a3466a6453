"""One mesh per test session: the runner (`python -m services.runner`) as a real process, with
embedded PostgreSQL and Redis, the five services and Envoy, on free ports in a temporary dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
GRPCURL = Path(sys.executable).parent / "grpcurl"
PASSWORD = "correct horse battery"


class MeshProcess:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.log = state_dir / "runner.log"
        state_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env["HEALTHMESH_REGISTRATIONS_PER_ADDRESS"] = "100000"  # every test user registers from 127.0.0.1
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "services.runner", "--free-ports", "--state-dir", str(state_dir)],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 240
        while "healthmesh ready" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the mesh did not start:\n{self.log.read_text(errors='replace')[-5000:]}")
            time.sleep(0.2)
        self.endpoints = json.loads((state_dir / "mesh.json").read_text())
        self.http = self.endpoints["http"]
        self.grpc = self.endpoints["grpc"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def mesh(tmp_path_factory) -> MeshProcess:
    m = MeshProcess(tmp_path_factory.mktemp("mesh") / "state")
    yield m
    m.stop()


@pytest.fixture
def http(mesh: MeshProcess):
    with httpx.Client(base_url=mesh.http, timeout=30) as client:
        yield client


def grpcurl(mesh: MeshProcess, *args: str, data: dict | None = None, headers: dict | None = None,
            options: tuple[str, ...] = ()):
    argv = [str(GRPCURL), "-plaintext", "-max-time", "20", *options]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    if data is not None:
        argv += ["-d", json.dumps(data)]
    argv += [mesh.grpc, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO)


def new_user(http: httpx.Client) -> dict:
    """Registers and logs in a fresh user; returns the login response plus the password."""
    email = f"e2e-{uuid.uuid4().hex[:12]}@example.org"
    reply = http.post("/v1/auth:register", json={"email": email, "password": PASSWORD, "displayName": "E2E"})
    assert reply.status_code == 200, reply.text
    login = http.post("/v1/auth:login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return login.json()


def auth(session: dict) -> dict:
    return {"authorization": f"Bearer {session['accessToken']}"}

