"""What the unknown-fields check (services/runner/unknown_fields.py) costs per REST call.

One private mesh, and beside its Envoy a second one with the same config less the check's two
filters (the early buffer and the Lua scan), in front of the same services. The same calls go to
both back to back, in alternating order, ROUNDS times: samples:batchCreate with 1, 100 and 1,000
samples (the same body each time: duplicates after the first, Tracking's cheapest path, so the
check's share is at its largest), and GET /v1/users/me (no body: what the filter costs a call it
does not read). One keep-alive connection, one call at a time. Figures per call: the median
latency, and the Envoy's CPU time (every thread's sum_exec_runtime from /proc/<pid>/task/*/schedstat,
in ns) divided by the calls; `extra_*` is the checking Envoy's minus the plain one's.
The last stdout line is one JSON object.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from bench.harness import new_user, private_mesh
from services.runner import unknown_fields
from services.runner.envoy_config import to_yaml
from services.runner.mesh import free_port

ROUNDS = 5
CALLS = {1: 300, 100: 150, 1000: 40, 0: 300}  # samples in the body (0: GET /v1/users/me) -> calls a block
CHECK_FILTERS = {"healthmesh.unknown_fields.buffer", unknown_fields.LUA_FILTER}


def _cpu_ns(pid: int) -> int:
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended in between
    return total


def _plain_envoy(config_path: Path, state: Path) -> tuple[subprocess.Popen, str]:
    """The mesh's Envoy config without the check, on its own ports."""
    config = yaml.safe_load(config_path.read_text())
    port, admin = free_port(), free_port()
    config["admin"]["address"]["socket_address"]["port_value"] = admin
    listener = config["static_resources"]["listeners"][0]
    listener["address"]["socket_address"]["port_value"] = port
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["http_filters"] = [f for f in hcm["http_filters"] if f["name"] not in CHECK_FILTERS]
    path = state / "envoy-plain.yaml"
    path.write_text(to_yaml(config))
    binary = Path(sys.executable).parent / "envoy"
    log = open(state / "logs" / "envoy-plain.log", "ab")
    proc = subprocess.Popen([str(binary), "-c", str(path), "--base-id", str(port), "--log-level", "warn"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{admin}/ready", timeout=1).status_code == 200:
                return proc, f"http://127.0.0.1:{port}"
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the plain Envoy did not start")


def _body(samples: int) -> bytes:
    return json.dumps({"samples": [
        {"type": "heart_rate", "startTime": f"2026-03-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
         "utcOffsetMinutes": 60, "value": 60 + i % 40, "unit": "count/min", "source": "Bench Watch"}
        for i in range(samples)]}).encode()


def _block(http: httpx.Client, pid: int, samples: int, body: bytes, calls: int) -> tuple[list[float], float]:
    latencies = []
    cpu = _cpu_ns(pid)
    for _ in range(calls):
        start = time.perf_counter()
        reply = (http.get("/v1/users/me") if samples == 0 else
                 http.post("/v1/users/me/samples:batchCreate", content=body))
        latencies.append((time.perf_counter() - start) * 1000)
        if reply.status_code != 200:
            raise RuntimeError(f"{reply.status_code}: {reply.text[:300]}")
    return latencies, (_cpu_ns(pid) - cpu) / calls / 1000


async def run() -> None:
    with private_mesh() as mesh:
        plain, plain_url = _plain_envoy(mesh.state / "envoy.yaml", mesh.state)
        try:
            checked_url = f"http://127.0.0.1:{mesh.http_port}"
            token = new_user(checked_url)["accessToken"]
            headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
            envoys = {"checked": (checked_url, mesh.children["envoy"].pid), "plain": (plain_url, plain.pid)}
            clients = {name: httpx.Client(base_url=url, headers=headers, timeout=60) for name, (url, _) in envoys.items()}
            results: dict = {}
            for samples, calls in CALLS.items():
                body = _body(samples)
                for name in envoys:  # warm-up: the first write, connections, Lua's first run
                    _block(clients[name], envoys[name][1], samples, body, 5)
                figures = {name: {"ms": [], "cpu_us": []} for name in envoys}
                for r in range(ROUNDS):
                    for name in (("checked", "plain") if r % 2 == 0 else ("plain", "checked")):
                        latencies, cpu_us = _block(clients[name], envoys[name][1], samples, body, calls)
                        figures[name]["ms"].append(statistics.median(latencies))
                        figures[name]["cpu_us"].append(cpu_us)
                key = "get_users_me" if samples == 0 else f"batch_{samples}"
                entry = {"body_bytes": len(body) if samples else 0}
                for name, f in figures.items():
                    entry[f"{name}_p50_ms"] = round(statistics.median(f["ms"]), 3)
                    entry[f"{name}_envoy_cpu_us"] = round(statistics.median(f["cpu_us"]), 1)
                entry["extra_p50_ms"] = round(entry["checked_p50_ms"] - entry["plain_p50_ms"], 3)
                entry["extra_envoy_cpu_us"] = round(entry["checked_envoy_cpu_us"] - entry["plain_envoy_cpu_us"], 1)
                entry["latency_ratio"] = round(entry["checked_p50_ms"] / entry["plain_p50_ms"], 3)
                entry["rounds_cpu_us"] = {n: [round(x, 1) for x in f["cpu_us"]] for n, f in figures.items()}
                results[key] = entry
                print(key, json.dumps(entry), flush=True)
            for client in clients.values():
                client.close()
        finally:
            plain.terminate()
            plain.wait(30)
    print(json.dumps(results))
