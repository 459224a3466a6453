"""The `healthmesh` command against the running mesh: login, then import with a progress bar."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, new_user

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HEALTHMESH = Path(sys.executable).parent / "healthmesh"


def run(mesh, tmp_path, *args: str, token: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "HEALTHMESH_URL": mesh.http}
    env.pop("HEALTHMESH_TOKEN", None)
    if token:
        env["HEALTHMESH_TOKEN"] = token
    return subprocess.run([str(HEALTHMESH), *args], capture_output=True, text=True, env=env, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_login_then_import_both_formats(mesh, http, tmp_path):
    session = new_user(http)
    logged = run(mesh, tmp_path, "login", "--email", session["user"]["email"], "--password", PASSWORD)
    assert logged.returncode == 0, logged.stderr
    for fixture, metric in [("hae/v2_week_metric.json", "heart_rate"),
                            ("apple_health/export_3days.zip", "HKQuantityTypeIdentifierHeartRate")]:
        out = run(mesh, tmp_path, "import", str(FIXTURES / fixture))
        assert out.returncode == 0, out.stderr
        assert "SUCCEEDED" in out.stdout and metric in out.stdout
        assert "MB/s" in out.stderr  # the progress bar


def test_problems_are_said_plainly(mesh, http, tmp_path):
    session = new_user(http)
    missing = run(mesh, tmp_path, "import", str(tmp_path / "nope.json"), token=session["accessToken"])
    assert missing.returncode == 1 and "no such file" in missing.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": {"metrics": [')
    refused = run(mesh, tmp_path, "import", str(bad), token=session["accessToken"])
    assert refused.returncode == 1 and "import failed: 400" in refused.stderr
    anonymous = run(mesh, tmp_path, "import", str(bad))
    assert anonymous.returncode == 1 and "not logged in" in anonymous.stderr


def test_a_background_import_is_followed_to_its_end(mesh, http, tmp_path):
    session = new_user(http)
    big = tmp_path / "year.json"
    subprocess.run([sys.executable, str(FIXTURES.parent / "tools" / "make_hae_payload.py"), "--days", "120", "--hr-every", "60",
                    "--start", "2025-06-01", "--out", str(big)], check=True, stderr=subprocess.DEVNULL)
    assert big.stat().st_size > 16 * 1024 * 1024  # above the background threshold
    out = run(mesh, tmp_path, "import", str(big), token=session["accessToken"])
    assert out.returncode == 0, out.stderr
    assert "SUCCEEDED" in out.stdout and "processed" in out.stderr


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
    assert gone.returncode == 1 and "not logged in" in gone.stderr
    stale = http.get("/v1/users/me", headers={"authorization": f"Bearer {session['accessToken']}"})
    assert stale.status_code == 200  # another session of the same user is not ended by this logout
