"""`healthmesh devices` and `healthmesh simulate` against the running mesh, through Envoy."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import new_user
from tests.e2e.test_cli import run, run_json

pytestmark = pytest.mark.e2e


def test_add_simulate_list_health_and_remove_a_device(mesh, http, tmp_path):
    session = new_user(http)
    token = session["accessToken"]
    added = run(mesh, tmp_path, "devices", "add", "--name", "Bench Strap", "--capability", "heart_rate", token=token)
    assert added.returncode == 0, added.stderr
    name = added.stdout.strip()
    device_id = name.rsplit("/", 1)[-1]
    assert name.startswith("users/") and "/devices/" in name

    streamed = run(mesh, tmp_path, "simulate", device_id, "--rate", "5000", "--seconds", "1", "--batch", "500",
                   token=token)
    assert streamed.returncode == 0, streamed.stderr
    assert "acked     5,000" in streamed.stderr  # the live count's last line
    assert "10 batches acked: 5000 accepted" in streamed.stdout  # acks come once Tracking committed
    listed = run(mesh, tmp_path, "devices", "list", token=token)
    assert listed.returncode == 0 and device_id in listed.stdout and "Bench Strap" in listed.stdout
    health = run(mesh, tmp_path, "devices", "health", device_id, token=token)
    assert health.returncode == 0 and "name" in health.stdout
    removed = run(mesh, tmp_path, "devices", "remove", device_id, token=token)
    assert removed.returncode == 0, removed.stderr
    gone = run(mesh, tmp_path, "devices", "health", device_id, token=token)
    assert gone.returncode == 4 and "404 NOT_FOUND" in gone.stderr


def test_devices_and_simulate_speak_json(mesh, http, tmp_path):
    token = new_user(http)["accessToken"]
    device = run_json(mesh, tmp_path, "devices", "add", "--name", "Strap", "--type", "BAND", token=token)
    assert device["displayName"] == "Strap" and device["name"].startswith("users/")
    device_id = device["name"].rsplit("/", 1)[-1]
    streamed = run_json(mesh, tmp_path, "simulate", device_id, "--rate", "2000", "--seconds", "1", "--batch", "500",
                        token=token)
    assert streamed == {"sent": 2000, "batches": 4, "accepted": 2000, "duplicate": 0, "updated": 0, "rejected": 0,
                        "reconnects": 0}
    assert [d["name"] for d in run_json(mesh, tmp_path, "devices", "list", token=token)] == [device["name"]]
    listed = run(mesh, tmp_path, "devices", "list", token=token).stdout.splitlines()
    assert listed[0].split() == ["id", "name", "type", "state", "battery", "last", "seen"]
    assert listed[1].split()[:3] == [device_id, "Strap", "BAND"]
    assert run_json(mesh, tmp_path, "devices", "health", device_id, token=token)["name"]
    removed = run_json(mesh, tmp_path, "devices", "remove", device_id, token=token)
    assert removed == {"name": f"users/me/devices/{device_id}", "deleted": True}  # the name as addressed
    assert run_json(mesh, tmp_path, "devices", "list", token=token) == []
    unknown = run(mesh, tmp_path, "simulate", device_id, "--seconds", "1", token="")
    assert unknown.returncode == 3 and "not logged in" in unknown.stderr
