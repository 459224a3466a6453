"""`make run` when something is in the way: a taken port, a state dir another mesh uses, a
DATABASE_URL that cannot be reached. Each is found before anything starts; the runner names it and
what moves it, and exits at once with 1."""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys

from tests.e2e.conftest import REPO


def run_runner(state, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return subprocess.run([sys.executable, "-m", "services.runner", "--state-dir", str(state), *args],
                          cwd=REPO, env={**environment, **env}, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def free_base() -> int:
    """A run of five free ports whose metrics ports (+1000) are free too."""
    for base in range(41000, 48000, 7):
        ports = [base + i for i in range(5)] + [base + 1000 + i for i in range(5)]
        try:
            for p in ports:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
    raise RuntimeError("no free ports")


def test_a_taken_port_is_named_with_what_moves_it(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run_runner(tmp_path / "state", "--http-port", str(port), "--base-port", str(free_base()))
    assert out.returncode == 1
    assert f"port {port} is taken" in out.stderr and "HEALTHMESH_HTTP_PORT" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_a_state_dir_in_use_by_another_mesh_is_refused(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    with open(state / "mesh.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write("pid 4242\n")
        lock.flush()
        out = run_runner(state, "--free-ports")
    assert out.returncode == 1
    assert "is in use by another mesh (pid 4242)" in out.stderr and "HEALTHMESH_STATE_DIR" in out.stderr, out.stderr


def test_an_unreachable_database_url_is_named_without_its_password(tmp_path):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        out = run_runner(tmp_path / "state", "--free-ports",
                         DATABASE_URL=f"postgresql://hm:s3cret@127.0.0.1:{port}/healthmesh")
    assert out.returncode == 1
    assert "DATABASE_URL" in out.stderr and "cannot be reached" in out.stderr, out.stderr
    assert "s3cret" not in out.stderr + out.stdout
