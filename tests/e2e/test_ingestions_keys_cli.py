"""`healthmesh ingestions [show]` and `healthmesh keys` against the running mesh: the import
summary's skip reasons, the list newest first with a filter, one ingestion with every error, a key
whose secret is shown once and works until it is revoked, and --json for each."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import new_user
from tests.e2e.test_cli import FIXTURES, run, run_json

pytestmark = pytest.mark.e2e


def test_imports_say_why_kinds_were_skipped_and_ingestions_list_and_show_them(mesh, http, tmp_path):
    token = new_user(http)["accessToken"]
    hae = run(mesh, tmp_path, "import", str(FIXTURES / "hae/skipped_kinds.json"), token=token)
    assert hae.returncode == 0, hae.stderr
    skipped = next(line for line in hae.stdout.splitlines() if line.startswith("skipped: "))
    assert "stateOfMind: not a supported type" in skipped
    assert "weight_body_mass: in a unit its type does not take" in skipped
    assert ", 1.7 KB, received " in hae.stdout  # under 1 MB: KB
    apple = run(mesh, tmp_path, "import", str(FIXTURES / "apple_health/export_3days.zip"), token=token)
    assert apple.returncode == 0, apple.stderr
    assert "skipped: ActivitySummary: derived from records already imported" in apple.stdout.splitlines()
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": {"metrics": [')
    assert run(mesh, tmp_path, "import", str(bad), token=token).returncode == 1

    listed = run(mesh, tmp_path, "ingestions", token=token)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["id", "received", "format", "state", "size", "accepted", "duplicate", "updated",
                              "rejected", "skipped"]
    assert [r.split()[3:5] for r in rows] == [["HEALTH_AUTO_EXPORT", "FAILED"], ["APPLE_HEALTH_EXPORT", "SUCCEEDED"],
                                              ["HEALTH_AUTO_EXPORT", "SUCCEEDED"]]  # newest first
    assert {r.index(r.split()[3]) for r in rows} == {header.index("format")}
    as_json = run_json(mesh, tmp_path, "ingestions", token=token)
    assert [i["state"] for i in as_json] == ["FAILED", "SUCCEEDED", "SUCCEEDED"]
    failed = run_json(mesh, tmp_path, "ingestions", "--state", "failed", token=token)
    assert [i["name"] for i in failed] == [as_json[0]["name"]]
    assert len(run_json(mesh, tmp_path, "ingestions", "--limit", "1", token=token)) == 1

    hae_id = as_json[2]["name"].rsplit("/", 1)[-1]
    shown = run(mesh, tmp_path, "ingestions", "show", hae_id, token=token)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == f"{as_json[2]['name']}: SUCCEEDED"
    assert "stateOfMind: not a supported type" in shown.stdout and "insulin_delivery" in shown.stdout
    one = run_json(mesh, tmp_path, "ingestions", "show", as_json[0]["name"], token=token)  # a full name works too
    assert one["state"] == "FAILED" and one["errors"][0]["reason"]
    failed_text = run(mesh, tmp_path, "ingestions", "show", as_json[0]["name"], token=token).stdout
    assert "errors (1):" in failed_text and one["errors"][0]["reason"] in failed_text


def test_a_key_is_shown_once_works_and_is_revoked(mesh, http, tmp_path):
    token = new_user(http)["accessToken"]
    made = run(mesh, tmp_path, "keys", "create", "--name", "Health Auto Export", token=token)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert len(made.stdout.splitlines()) == 1 and secret  # stdout holds the secret alone: KEY=$(healthmesh keys create ...)
    assert "shown once" in made.stderr and "Health Auto Export" in made.stderr
    me = run(mesh, tmp_path, "whoami", token=secret)
    assert me.returncode == 0, me.stderr

    listed = run(mesh, tmp_path, "keys", "list", token=token)
    header, row = listed.stdout.splitlines()
    assert header.split() == ["id", "name", "prefix", "created", "last", "used", "device"]
    assert secret not in listed.stdout and row.split()[1:4] == ["Health", "Auto", "Export"]
    keys = run_json(mesh, tmp_path, "keys", "list", token=token)
    assert len(keys) == 1 and "secret" not in keys[0] and secret.startswith(keys[0]["secretPrefix"])
    assert row.split()[0] == keys[0]["name"].rsplit("/", 1)[-1] and keys[0]["secretPrefix"] + "..." in row

    device = run_json(mesh, tmp_path, "devices", "add", "--name", "Band", token=token)
    bound = run_json(mesh, tmp_path, "keys", "create", "--name", "band", "--device", device["name"].rsplit("/", 1)[-1],
                     token=token)
    assert bound["secret"] and bound["apiKey"]["device"] == device["name"]
    limited = run(mesh, tmp_path, "samples", token=bound["secret"])
    assert limited.returncode == 3 and "403 PERMISSION_DENIED" in limited.stderr  # a device key opens nothing else

    key_id = keys[0]["name"].rsplit("/", 1)[-1]
    revoked = run(mesh, tmp_path, "keys", "revoke", key_id, token=token)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout, revoked.stderr
    assert run(mesh, tmp_path, "whoami", token=secret).returncode == 3
    again = run(mesh, tmp_path, "keys", "revoke", key_id, token=token)
    assert again.returncode == 4 and "404 NOT_FOUND" in again.stderr
    assert run_json(mesh, tmp_path, "keys", "revoke", bound["apiKey"]["name"], token=token) == {
        "name": bound["apiKey"]["name"], "revoked": True}
    assert run_json(mesh, tmp_path, "keys", "list", token=token) == []
    assert run(mesh, tmp_path, "keys", "list", token=token).stdout == "no API keys\n"
