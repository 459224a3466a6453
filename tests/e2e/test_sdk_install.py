"""`pip install ./client` in a fresh virtualenv gives a working SDK: the wheel carries the generated
healthmesh.* packages, and its dependencies come from the package registry. The installed SDK (not
the repository's copy: no PYTHONPATH, run from outside the repository) then talks to the mesh.
Skipped only when the registry cannot be reached."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, REPO

pytestmark = pytest.mark.e2e

DEPENDENCIES = ("grpcio", "grpcio-status", "protobuf", "googleapis-common-protos", "setuptools")

SCRIPT = textwrap.dedent("""
    import json, sys, uuid
    import healthmesh_client as hm
    import healthmesh.tracking.v1.sample_pb2 as sample_pb2

    url, password = sys.argv[1], sys.argv[2]
    email = f"sdk-{uuid.uuid4().hex[:12]}@example.org"
    with hm.Client(url) as anonymous:
        anonymous.auth.register(email=email, password=password, display_name="Installed")
    with hm.Client(url, email=email, password=password) as client:
        types = [t.type for t in client.tracking.iter_sample_types()]
        me = client.auth.get_user(name="users/me")
    print(json.dumps({"sdk": hm.__file__, "messages": sample_pb2.__file__, "types": len(types),
                      "user": me.display_name}))
""")


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env, cwd=cwd)


def test_pip_install_client_into_a_fresh_venv(mesh, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    reachable = run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest",
                     str(tmp_path / "probe"), *DEPENDENCIES], env, tmp_path)
    if reachable.returncode != 0:
        pytest.skip(f"the package registry is unreachable: {reachable.stderr.strip()[-300:]}")

    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    installed = run([str(python), "-m", "pip", "install", "--quiet", str(REPO / "client")], env, tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    script = tmp_path / "use_sdk.py"
    script.write_text(SCRIPT)
    used = run([str(python), str(script), mesh.grpc, PASSWORD], env, tmp_path)
    assert used.returncode == 0, used.stdout + used.stderr
    result = json.loads(used.stdout.strip().splitlines()[-1])
    site = str(tmp_path / "venv")
    assert result["sdk"].startswith(site) and result["messages"].startswith(site)  # not the repository's copies
    assert result["types"] > 10 and result["user"] == "Installed"
