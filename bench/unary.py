"""Unary throughput: the calls every app makes, at saturation through Envoy, on a private mesh.

- The REST mix of issue 18 (40% GET /v1/users/me, 30% samples:latest, 20% samples:aggregate over
  7 days by DAY, 10% samples list of 50) at 32 connections for 10 s, sent by wrk (Debian's
  package) with a Lua script; then each call alone for 5 s. One user with 10,000 heart-rate samples.
- The same four calls as gRPC through Envoy, sent by h2load (Debian's nghttp2-client), one h2load per
  call run at once with the connections split 13/10/6/3. h2load cannot read gRPC trailers, so each
  call is checked once for grpc-status OK before the load; only HTTP errors count during it.
- The ceiling, in the same run: one grpc.aio process (this module run as a program) answering
  AuthService.GetUser with a fixed User, behind the same Envoy: a route for GetUser with the header
  `x-bench-ceiling` goes to it, so GET /v1/users/me takes the same transcoding as the real one.
- CPU per process (auth, tracking, envoy, postgres with its backends, redis, the load generator)
  from /proc/<pid>/stat before and after each run, as % of one core.
The last stdout line is one JSON object; ratio = rest_rps / ceiling_rps.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import yaml
from healthmesh.auth.v1 import auth_service_pb2, user_pb2
from healthmesh.tracking.v1 import tracking_service_pb2

from bench.harness import new_user, percentile, tracing
from services.common.config import Settings
from services.runner.envoy_config import to_yaml
from services.runner.mesh import REPO, Mesh, MeshOptions, free_port, parse_replicas

CONNECTIONS = 32
MIX_SECONDS = 10
SINGLE_SECONDS = 5
WARMUP_SECONDS = 3
SAMPLES = 10_000
CEILING_HEADER = "x-bench-ceiling"
GET_USER = "/healthmesh.auth.v1.AuthService/GetUser"
TRACKING = "/healthmesh.tracking.v1.TrackingService/"
# One cycle of ten requests: 4 users/me, 3 latest, 2 aggregate, 1 list, interleaved.
CYCLE = ("me", "latest", "me", "aggregate", "latest", "me", "list", "latest", "me", "aggregate")
GRPC_CONNECTIONS = {"me": 13, "latest": 10, "aggregate": 6, "list": 3}
CLK_TCK = os.sysconf("SC_CLK_TCK")
METRICS_PORT_OFFSET = Settings().metrics_port_offset  # the services' own setting, from the same environment


# The ceiling server.

async def serve_ceiling(port: int) -> None:
    reply = user_pb2.User(name="users/00000000-0000-7000-8000-000000000000", email="ceiling@example.org",
                          display_name="Ceiling").SerializeToString()

    async def get_user(request: bytes, context) -> bytes:
        return reply

    handler = grpc.method_handlers_generic_handler("healthmesh.auth.v1.AuthService", {
        "GetUser": grpc.unary_unary_rpc_method_handler(get_user)})  # bytes in, bytes out: nothing parsed
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(1)

# Processes per service (issue 18: the benchmark uses 2 of the services the mix reaches); "" for one.
REPLICAS = parse_replicas(os.environ.get("HEALTHMESH_BENCH_REPLICAS", "auth=2,tracking=2"))

# The mesh, with the ceiling's route in its Envoy.

class BenchMesh(Mesh):
    def __init__(self, options: MeshOptions, ceiling_port: int) -> None:
        super().__init__(options)
        self.ceiling_port = ceiling_port

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        # Envoy's config as Mesh wrote it (replicas and all), plus the ceiling's cluster and route.
        if name == "envoy":
            path = Path(argv[argv.index("-c") + 1])
            config = yaml.safe_load(path.read_text())
            add_ceiling(config, self.ceiling_port)
            path.write_text(to_yaml(config))
        super()._spawn(name, argv, env)


def add_ceiling(config: dict, port: int) -> None:
    resources = config["static_resources"]
    if any(c["name"] == "ceiling" for c in resources["clusters"]):
        return  # Envoy restarted on the config already written
    auth = next(c for c in resources["clusters"] if c["name"] == "auth")
    ceiling = {**json.loads(json.dumps(auth)), "name": "ceiling"}
    ceiling.pop("health_checks")
    ceiling["load_assignment"] = {"cluster_name": "ceiling", "endpoints": [{"lb_endpoints": [{"endpoint": {
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]}
    resources["clusters"].append(ceiling)
    hcm = resources["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["route_config"]["virtual_hosts"][0]["routes"].insert(0, {
        "match": {"path": GET_USER, "headers": [{"name": CEILING_HEADER, "present_match": True}]},
        "route": {"cluster": "ceiling", "timeout": "60s"}})


@contextlib.contextmanager
def bench_mesh() -> Iterator[tuple[BenchMesh, subprocess.Popen]]:
    with tempfile.TemporaryDirectory(prefix="healthmesh-bench-") as state:
        port = free_port()
        ceiling = subprocess.Popen([sys.executable, "-m", "bench.unary", str(port)], cwd=REPO,
                                   stdin=subprocess.DEVNULL)
        mesh = BenchMesh(MeshOptions(state_dir=Path(state), free_ports=True, replicas=REPLICAS,
                                     tracing=tracing()), port)
        try:
            mesh.start()
            yield mesh, ceiling
        finally:
            mesh.stop()
            ceiling.send_signal(signal.SIGTERM)
            ceiling.wait(10)


# CPU from /proc.

def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _tree(root: int) -> list[int]:
    """The process and its descendants, as they are now."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def _machine_ticks() -> tuple[int, int]:
    """(busy, all) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class CpuMeter:
    """CPU per named process tree between start() and stop(), in % of one core; a process born in
    between (a new PostgreSQL backend) counts from zero. `other` is what the rest of the machine used
    meanwhile (other people's tests on a shared machine show up there)."""

    def __init__(self, roots: dict[str, int]) -> None:
        self._roots = roots

    def _read(self) -> dict[str, dict[int, int]]:
        return {name: {pid: _ticks(pid) for pid in _tree(root)} for name, root in self._roots.items()}

    def start(self) -> None:
        self._before, self._started, self._machine = self._read(), time.monotonic(), _machine_ticks()

    def stop(self, extra: dict[str, int] | None = None) -> dict[str, float]:
        after, elapsed = self._read(), time.monotonic() - self._started
        self.elapsed = elapsed
        split = {name: round(100 * sum(t - self._before[name].get(pid, 0) for pid, t in pids.items())
                             / CLK_TCK / elapsed, 1) for name, pids in after.items()}
        for name, ticks in (extra or {}).items():
            split[name] = round(100 * ticks / CLK_TCK / elapsed, 1)
        busy, total = (a - b for a, b in zip(_machine_ticks(), self._machine))
        machine = 100 * os.cpu_count() * busy / max(1, total)
        split["other"] = round(max(0.0, machine - sum(split.values())), 1)
        return split


def per_request(figures: dict, meter: CpuMeter) -> None:
    """CPU microseconds per answered request for each process: unlike rps, barely moved by what
    else the machine is running (it is shared)."""
    n = max(1, figures["requests"])
    figures["cpu_us_per_request"] = {name: round(pct / 100 * meter.elapsed * 1e6 / n)
                                     for name, pct in figures["cpu_percent"].items() if name != "other"}


def _self_children_ticks() -> int:
    usage = os.times()
    return round((usage.children_user + usage.children_system) * CLK_TCK)


# wrk.

LUA = """
local paths = %(paths)s
local headers = %(headers)s
local requests = {}
function init(args)
  for i, p in ipairs(paths) do requests[i] = wrk.format("GET", p, headers) end
end
local n = 0
function request()
  n = n + 1
  return requests[(n - 1) %% #requests + 1]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, "write": %%d, '
    .. '"status": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d, "mean_us": %%.1f, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
"""


def _lua_table(items) -> str:
    if isinstance(items, dict):
        return "{" + ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in items.items()) + "}"
    return "{" + ", ".join(json.dumps(i) for i in items) + "}"


def wrk(base_url: str, paths: list[str], headers: dict[str, str], seconds: int, work: Path,
        connections: int = CONNECTIONS) -> dict:
    script = work / f"wrk-{time.monotonic_ns()}.lua"
    script.write_text(LUA % {"paths": _lua_table(paths), "headers": _lua_table(headers)})
    threads = min(2, connections)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
                          base_url], capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRK "))
    raw = json.loads(line[4:])
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
    return {"rps": round(raw["requests"] / (raw["duration_us"] / 1e6)), "p50_ms": round(raw["p50_us"] / 1000, 2),
            "p99_ms": round(raw["p99_us"] / 1000, 2), "mean_ms": round(raw["mean_us"] / 1000, 2),
            "max_ms": round(raw["max_us"] / 1000, 2), "requests": raw["requests"], "errors": errors,
            "error_rate": round(errors / max(1, raw["requests"]), 5)}


# h2load for gRPC.

def _frame(message) -> bytes:
    body = message.SerializeToString()
    return struct.pack(">?I", False, len(body)) + body


def h2load(base_url: str, calls: dict[str, tuple[str, bytes]], token: str, seconds: int, work: Path) -> dict:
    """One h2load per call, all at once; latencies from their per-request logs."""
    procs = {}
    for name, (path, body) in calls.items():
        data, logfile = work / f"{name}.bin", work / f"{name}.h2log"
        data.write_bytes(body)
        procs[name] = (subprocess.Popen(
            ["h2load", "-c", str(GRPC_CONNECTIONS[name]), "-m", "1", "-t", "1", "-D", str(seconds),
             "--warm-up-time", "1", "-d", str(data), f"--log-file={logfile}",
             "-H", "content-type: application/grpc", "-H", "te: trailers", "-H", f"authorization: Bearer {token}",
             base_url + path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True), logfile)
    latencies: list[float] = []
    per_call, total, rps, errors = {}, 0, 0.0, 0
    for name, (proc, logfile) in procs.items():
        output, _ = proc.communicate()
        found = re.search(r"finished in [\d.]+s, ([\d.]+) req/s", output)
        if found is None:
            raise RuntimeError(f"h2load for {name} said:\n{output}")
        rows = [line.split() for line in logfile.read_text().splitlines() if line.strip()]
        ms = [int(r[2]) / 1000 for r in rows]  # start (us since epoch), HTTP status, duration (us)
        errors += sum(1 for r in rows if r[1] != "200")
        latencies += ms
        total += len(rows)
        rps += float(found.group(1))
        per_call[name] = {"rps": round(float(found.group(1))), "p50_ms": round(percentile(ms, 50), 2),
                          "p99_ms": round(percentile(ms, 99), 2)}
    return {"rps": round(rps), "p50_ms": round(percentile(latencies, 50), 2),
            "p99_ms": round(percentile(latencies, 99), 2), "requests": total, "errors": errors,
            "error_rate": round(errors / max(1, total), 5), "per_call": per_call}


def rpc_errors(mesh: Mesh) -> int:
    """Calls Auth and Tracking ended with a status other than OK so far, all their processes
    together (each metrics port serves the sum), from rpc_server_errors_total; not CANCELLED,
    which h2load's own end makes of the calls it leaves in flight."""
    total = 0
    for service in ("auth", "tracking"):
        host, port = mesh.endpoints()["services"][service].rsplit(":", 1)
        text = httpx.get(f"http://{host}:{int(port) + METRICS_PORT_OFFSET}/metrics", timeout=10).text
        total += sum(round(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
                     if line.startswith("rpc_server_errors_total{") and 'code="CANCELLED"' not in line)
    return total


def grpc_calls(user: str, start: dt.datetime, end: dt.datetime) -> dict[str, tuple[str, bytes]]:
    agg = tracking_service_pb2.AggregateSamplesRequest(parent="users/me", type="heart_rate",
                                                       interval=tracking_service_pb2.DAY)
    agg.start_time.FromDatetime(start)
    agg.end_time.FromDatetime(end)
    return {
        "me": (GET_USER, _frame(auth_service_pb2.GetUserRequest(name="users/me"))),
        "latest": (TRACKING + "GetLatestSamples",
                   _frame(tracking_service_pb2.GetLatestSamplesRequest(parent="users/me", types=["heart_rate"]))),
        "aggregate": (TRACKING + "AggregateSamples", _frame(agg)),
        "list": (TRACKING + "ListSamples", _frame(tracking_service_pb2.ListSamplesRequest(
            parent="users/me", type="heart_rate", page_size=50))),
    }


def check_grpc(address: str, calls: dict[str, tuple[str, bytes]], token: str) -> None:
    """Each call once, through Envoy, must answer OK (h2load sees only HTTP status)."""
    with grpc.insecure_channel(address) as channel:
        for path, body in calls.values():
            call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
            call(body[5:], metadata=(("authorization", f"Bearer {token}"),), timeout=10)


# The run.

def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


async def seed(base_url: str, headers: dict, now: dt.datetime) -> None:
    first = now - dt.timedelta(minutes=SAMPLES)
    samples = [{"type": "heart_rate", "startTime": _iso(first + dt.timedelta(minutes=i)),
                "endTime": _iso(first + dt.timedelta(minutes=i + 1)), "utcOffsetMinutes": 0,
                "value": 55 + (i * 7919) % 60, "unit": "/min", "source": "Bench Watch"} for i in range(SAMPLES)]
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as http:
        (await http.post("/v1/users/me/samples:batchCreate", json={"samples": samples})).raise_for_status()


def check_rest(base_url: str, paths: dict[str, str], headers: dict) -> None:
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        for name, path in paths.items():
            reply = http.get(path)
            reply.raise_for_status()
            if name == "list" and len(reply.json().get("samples", [])) != 50:
                raise RuntimeError(f"the list answered {len(reply.json().get('samples', []))} samples, not 50")


async def run() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    with bench_mesh() as (mesh, ceiling), tempfile.TemporaryDirectory(prefix="healthmesh-unary-") as scratch:
        work = Path(scratch)
        base = mesh.endpoints()["http"]
        session = new_user(base)
        token = session["accessToken"]
        headers = {"authorization": f"Bearer {token}"}
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        await seed(base, headers, now)
        today = dt.datetime.combine(now.date(), dt.time(), dt.UTC)
        start, end = today - dt.timedelta(days=6), today + dt.timedelta(days=1)
        paths = {
            "me": "/v1/users/me",
            "latest": "/v1/users/me/samples:latest?types=heart_rate",
            "aggregate": f"/v1/users/me/samples:aggregate?type=heart_rate&interval=DAY&startTime={_iso(start)}"
                         f"&endTime={_iso(end)}",
            "list": "/v1/users/me/samples?type=heart_rate&pageSize=50",
        }
        check_rest(base, paths, headers)
        check_rest(base, {"ceiling": paths["me"]}, {CEILING_HEADER: "1"})
        print(f"seeded {SAMPLES:,} heart-rate samples; mesh at {base}", flush=True)
        pg = int((mesh.state / "pgdata" / "postmaster.pid").read_text().split()[0]) \
            if (mesh.state / "pgdata" / "postmaster.pid").exists() else None
        roots = {n: mesh.children[n].pid for n in ("auth", "tracking", "envoy", "redis", *mesh.replica_ports)
                 if n in mesh.children}
        if pg is not None:
            roots["postgres"] = pg
        mix = [paths[name] for name in CYCLE]

        wrk(base, mix, headers, WARMUP_SECONDS, work)
        meter = CpuMeter(roots)
        before = _self_children_ticks()
        meter.start()
        rest = wrk(base, mix, headers, MIX_SECONDS, work)
        rest["cpu_percent"] = meter.stop({"wrk": _self_children_ticks() - before})
        per_request(rest, meter)
        print(f"REST mix at {CONNECTIONS} connections, {MIX_SECONDS} s: {json.dumps(rest)}", flush=True)

        singles = {}
        for name, path in paths.items():
            meter.start()
            before = _self_children_ticks()
            singles[name] = wrk(base, [path], headers, SINGLE_SECONDS, work)
            singles[name]["cpu_percent"] = meter.stop({"wrk": _self_children_ticks() - before})
            per_request(singles[name], meter)
            print(f"  {name:<9} alone: {json.dumps(singles[name])}", flush=True)

        meter = CpuMeter({**roots, "ceiling": ceiling.pid})
        wrk(base, [paths["me"]], {CEILING_HEADER: "1"}, WARMUP_SECONDS, work)
        meter.start()
        before = _self_children_ticks()
        top = wrk(base, [paths["me"]], {CEILING_HEADER: "1"}, MIX_SECONDS, work)
        top["cpu_percent"] = meter.stop({"wrk": _self_children_ticks() - before})
        per_request(top, meter)
        print(f"ceiling (fixed GetUser from one grpc.aio process, same Envoy, REST): {json.dumps(top)}", flush=True)

        grpc_figures = None
        if shutil.which("h2load"):
            calls = grpc_calls(session["user"]["name"], start, end)
            check_grpc(mesh.endpoints()["grpc"], calls, token)
            meter = CpuMeter(roots)
            meter.start()
            before = _self_children_ticks()
            failed = rpc_errors(mesh)
            grpc_figures = h2load(base, calls, token, MIX_SECONDS, work)
            failed = rpc_errors(mesh) - failed  # h2load sees HTTP 200 for a call ending in a gRPC error
            grpc_figures["errors"] += failed
            grpc_figures["error_rate"] = round(grpc_figures["errors"] / max(1, grpc_figures["requests"]), 5)
            grpc_figures["cpu_percent"] = meter.stop({"h2load": _self_children_ticks() - before})
            per_request(grpc_figures, meter)
            print(f"gRPC through Envoy, the four calls at once on {GRPC_CONNECTIONS} connections: "
                  f"{json.dumps(grpc_figures)}", flush=True)
        else:
            print("gRPC figure skipped: h2load (Debian's nghttp2-client) is not installed", flush=True)

        print(json.dumps({
            "rest_rps": rest["rps"], "rest_p50_ms": rest["p50_ms"], "rest_p99_ms": rest["p99_ms"],
            "rest_error_rate": rest["error_rate"], "grpc_rps": grpc_figures["rps"] if grpc_figures else None,
            "grpc_p99_ms": grpc_figures["p99_ms"] if grpc_figures else None,
            "grpc_error_rate": grpc_figures["error_rate"] if grpc_figures else None,
            "ceiling_rps": top["rps"], "ceiling_p99_ms": top["p99_ms"], "ratio": round(rest["rps"] / top["rps"], 3),
            "cpu_percent": rest["cpu_percent"], "cpu_us_per_request": rest["cpu_us_per_request"],
            **{f"{name}_rps": s["rps"] for name, s in singles.items()},
            **{f"{name}_p99_ms": s["p99_ms"] for name, s in singles.items()},
        }))


if __name__ == "__main__":
    asyncio.run(serve_ceiling(int(sys.argv[1])))
