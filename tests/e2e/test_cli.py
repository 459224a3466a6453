"""The `healthmesh` command against the running mesh: login, whoami, logout, import (with its
progress bar in a real terminal, a pty, on a 50 MB upload), --json, and the exit codes."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, new_user

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOOLS = Path(__file__).resolve().parents[1] / "tools"
HEALTHMESH = Path(sys.executable).parent / "healthmesh"


def cli_env(mesh, tmp_path, token: str = "", **extra: str) -> dict:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "HEALTHMESH_URL": mesh.http, **extra}
    env.pop("HEALTHMESH_TOKEN", None)
    if token:
        env["HEALTHMESH_TOKEN"] = token
    return env


def run(mesh, tmp_path, *args: str, token: str = "", **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(HEALTHMESH), *args], capture_output=True, text=True, env=cli_env(mesh, tmp_path, token, **env),
                          timeout=120, stdin=subprocess.DEVNULL)


def run_json(mesh, tmp_path, *args: str, token: str = "", **env: str):
    """The command with --json: it succeeds and its stdout is JSON only."""
    out = run(mesh, tmp_path, *args, "--json", token=token, **env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_login_then_import_both_formats(mesh, http, tmp_path):
    session = new_user(http)
    logged = run(mesh, tmp_path, "login", "--email", session["user"]["email"], "--password", PASSWORD)
    assert logged.returncode == 0, logged.stderr
    for fixture, metric in [("hae/v2_week_metric.json", "heart_rate"),
                            ("apple_health/export_3days.zip", "HKQuantityTypeIdentifierHeartRate")]:
        out = run(mesh, tmp_path, "import", str(FIXTURES / fixture))
        assert out.returncode == 0, out.stderr
        assert "SUCCEEDED" in out.stdout and metric in out.stdout
        assert "uploaded" in out.stderr and "KB" in out.stderr  # no bar outside a terminal: one line, in KB
    ingestion = run_json(mesh, tmp_path, "import", str(FIXTURES / "hae/skipped_kinds.json"))
    assert ingestion["state"] == "SUCCEEDED" and ingestion["counts"]["stateOfMind"]["skipped"] == 2


def test_problems_are_said_plainly(mesh, http, tmp_path):
    session = new_user(http)
    missing = run(mesh, tmp_path, "import", str(tmp_path / "nope.json"), token=session["accessToken"])
    assert missing.returncode == 4 and "no such file" in missing.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": {"metrics": [')
    refused = run(mesh, tmp_path, "import", str(bad), token=session["accessToken"])
    assert refused.returncode == 1 and "import failed: 400 INVALID_ARGUMENT" in refused.stderr, refused.stderr
    assert refused.stdout == ""
    anonymous = run(mesh, tmp_path, "import", str(bad))
    assert anonymous.returncode == 3 and "not logged in" in anonymous.stderr


def in_a_terminal(argv: list[str], env: dict, deadline_s: float = 600) -> tuple[int, str]:
    """Runs argv with stdin, stdout and stderr on a pty, as in a terminal; returns its exit
    status and everything it wrote (carriage returns kept)."""
    main, side = pty.openpty()
    proc = subprocess.Popen(argv, stdin=side, stdout=side, stderr=side, env=env, start_new_session=True)
    os.close(side)
    written = bytearray()
    deadline = time.monotonic() + deadline_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 1)
            if not ready:
                continue
            try:
                data = os.read(main, 65536)
            except OSError:  # EIO: the last holder of the terminal's other side has gone
                break
            if not data:
                break
            written += data
        return proc.wait(60), written.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main)


def test_in_a_terminal_the_progress_bar_moves_on_a_50_mb_upload_followed_to_its_end(mesh, http, tmp_path):
    session = new_user(http)
    big = tmp_path / "year.json"
    subprocess.run([sys.executable, str(TOOLS / "make_hae_payload.py"), "--days", "365", "--hr-every", "60",
                    "--start", "2025-01-01", "--out", str(big)], check=True, stderr=subprocess.DEVNULL)
    total = big.stat().st_size
    assert total >= 50_000_000  # and above the background threshold: the import is followed to its end
    code, screen = in_a_terminal([str(HEALTHMESH), "import", str(big)], cli_env(mesh, tmp_path, session["accessToken"]))
    assert code == 0, screen[-3000:]
    frames = re.findall(r"\r\[(#*)(\.*)\] +([\d.]+) (KB|MB) of ([\d.]+) MB +[\d.]+ MB/s", screen)
    assert len(frames) >= 100, screen[:2000]  # one frame per 256 KB chunk
    sent = [float(f[2]) * (1000 if f[3] == "MB" else 1) for f in frames]  # in KB
    bars = [len(f[0]) for f in frames]
    assert sent == sorted(sent) and len(set(sent)) == len(sent), sent  # it moves, forward only
    assert bars == sorted(bars) and bars[0] < 5 and bars[-1] == 30 and len(set(bars)) == 31, bars
    assert all(len(f[0]) + len(f[1]) == 30 for f in frames)
    assert frames[-1][2] == frames[-1][4] == f"{total / 1e6:.1f}"
    assert re.search(r"\r(pending|running|succeeded): +\d+% of the upload processed", screen), screen[-3000:]
    assert "SUCCEEDED" in screen and "heart_rate" in screen


def test_no_command_prints_help_and_a_login_from_stdin_is_kept_with_its_url_until_logout(mesh, http, tmp_path):
    helped = run(mesh, tmp_path)
    assert helped.returncode == 0 and "usage: healthmesh" in helped.stdout and "whoami" in helped.stdout
    session = new_user(http)
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    env.pop("HEALTHMESH_URL", None)
    env.pop("HEALTHMESH_TOKEN", None)
    logged = subprocess.run([str(HEALTHMESH), "login", "--email", session["user"]["email"], "--password-stdin",
                             "--url", mesh.http], input=PASSWORD + "\n", capture_output=True, text=True, env=env,
                            timeout=60)
    assert logged.returncode == 0, logged.stderr
    saved = (tmp_path / "healthmesh" / "credentials.json")
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    me = subprocess.run([str(HEALTHMESH), "whoami"], capture_output=True, text=True, env=env, timeout=60,
                        stdin=subprocess.DEVNULL)  # no URL given: the saved login's
    assert me.returncode == 0 and session["user"]["email"] in me.stdout, me.stderr
    cli_token = json.loads(saved.read_text())["accessToken"]
    out = subprocess.run([str(HEALTHMESH), "logout"], capture_output=True, text=True, env=env, timeout=60,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0 and not saved.exists(), out.stderr
    ended = http.get("/v1/users/me", headers={"authorization": f"Bearer {cli_token}"})
    assert ended.status_code == 401  # logout ended the CLI's session, its access token with it
    gone = subprocess.run([str(HEALTHMESH), "--url", mesh.http, "whoami"], capture_output=True, text=True, env=env,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert gone.returncode == 3 and "not logged in" in gone.stderr
    stale = http.get("/v1/users/me", headers={"authorization": f"Bearer {session['accessToken']}"})
    assert stale.status_code == 200  # another session of the same user is not ended by this logout


def test_login_whoami_and_logout_speak_json_without_tokens(mesh, http, tmp_path):
    session = new_user(http)
    email = session["user"]["email"]
    logged = run_json(mesh, tmp_path, "login", "--email", email, "--password", PASSWORD)
    assert logged == {"user": logged["user"], "url": mesh.http} and logged["user"]["email"] == email
    assert "accessToken" not in json.dumps(logged)
    me = run(mesh, tmp_path, "whoami")
    header, row = me.stdout.splitlines()
    assert header.split() == ["email", "name", "user", "server"] and row.split()[0] == email
    assert header.index("user") == row.index("users/")  # columns line up
    assert run_json(mesh, tmp_path, "whoami")["email"] == email
    assert run_json(mesh, tmp_path, "logout") == {"loggedOut": True, "url": mesh.http}
    again = run(mesh, tmp_path, "logout")
    assert again.returncode == 3 and "not logged in" in again.stderr
    wrong = run(mesh, tmp_path, "login", "--email", email, "--password", "not it")
    assert wrong.returncode == 3 and "login failed: 401 UNAUTHENTICATED" in wrong.stderr


def test_exit_codes_scripts_can_rely_on(mesh, http, tmp_path):
    token = new_user(http)["accessToken"]
    usage = run(mesh, tmp_path, "samples", "--start", "last tuesday", token=token)
    assert usage.returncode == 2 and "neither a date" in usage.stderr and usage.stdout == ""
    assert run(mesh, tmp_path, "no-such-command", token=token).returncode == 2
    assert run(mesh, tmp_path, "keys", token=token).returncode == 2  # a command without its action
    server = run(mesh, tmp_path, "aggregate", "--type", "step_count", "--start", "2026-03-02", "--end",
                 "2026-03-01T00:00:00Z", token=token)
    assert server.returncode == 1, server.stderr
    assert "aggregating samples failed: 400 INVALID_ARGUMENT" in server.stderr and "  endTime: " in server.stderr
    refused = run(mesh, tmp_path, "whoami", token="hm_not_a_key")
    assert refused.returncode == 3 and "401 UNAUTHENTICATED" in refused.stderr
    assert run(mesh, tmp_path, "whoami").returncode == 3  # nothing saved, no token
    missing = run(mesh, tmp_path, "ingestions", "show", "01900000-0000-7000-8000-000000000000", token=token)
    assert missing.returncode == 4 and "404 NOT_FOUND" in missing.stderr
    away = run(mesh, tmp_path, "--url", "http://127.0.0.1:9", "whoami", token=token)
    assert away.returncode == 5 and "cannot reach http://127.0.0.1:9" in away.stderr
    as_json = run(mesh, tmp_path, "ingestions", "show", "01900000-0000-7000-8000-000000000000", "--json", token=token)
    assert as_json.returncode == 4 and as_json.stdout == ""
    error = json.loads(as_json.stderr)["error"]
    assert error["code"] == 5 and error["exitCode"] == 4 and error["details"][0]["reason"]


def test_recommendations_in_text_and_json(mesh, http, tmp_path):
    token = new_user(http)["accessToken"]
    text = run(mesh, tmp_path, "recommendations", "--days", "30", token=token)
    assert text.returncode == 0 and text.stdout.startswith("No recommendations for "), text.stderr
    found = run_json(mesh, tmp_path, "recommendations", token=token)
    assert found["startDate"] < found["endDate"] and found.get("recommendations", []) == []
    bad = run(mesh, tmp_path, "recommendations", "--days", "9999", token=token)
    assert bad.returncode == 1 and "400 INVALID_ARGUMENT" in bad.stderr, bad.stderr


def test_a_saved_login_is_renewed_as_its_access_token_expires(mesh, http, tmp_path):
    session = new_user(http)
    assert run(mesh, tmp_path, "login", "--email", session["user"]["email"], "--password", PASSWORD).returncode == 0
    saved = tmp_path / "healthmesh" / "credentials.json"
    first = json.loads(saved.read_text())
    assert first["expiresAt"] > 0
    saved.write_text(json.dumps({**first, "expiresAt": 0}))  # as if its 15 minutes had passed
    me = run(mesh, tmp_path, "whoami")
    assert me.returncode == 0 and session["user"]["email"] in me.stdout, me.stderr
    renewed = json.loads(saved.read_text())
    assert renewed["refreshToken"] != first["refreshToken"] and renewed["expiresAt"] > 0
    assert renewed["url"] == mesh.http and oct(saved.stat().st_mode & 0o777) == "0o600"
    assert http.post("/v1/auth:refresh", json={"refreshToken": first["refreshToken"]}).status_code == 401  # spent
    saved.write_text(json.dumps({**renewed, "expiresAt": 0, "refreshToken": "not-a-refresh-token"}))
    over = run(mesh, tmp_path, "whoami")
    assert over.returncode == 3 and "run `healthmesh login` again" in over.stderr
