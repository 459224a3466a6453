"""`make run`: the whole mesh as local processes.

Starts an embedded PostgreSQL (unless DATABASE_URL is set) and Redis (unless REDIS_URL is set),
the five services (each applies its own migrations), and Envoy; waits until every service
reports SERVING through Envoy; prints the endpoints and `healthmesh ready`. Ctrl-C or SIGTERM
stops every child. Data lives in the state dir and survives a restart.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from services.runner.mesh import Mesh, MeshOptions, parse_replicas


def parse_args(argv: list[str]) -> MeshOptions:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m services.runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", default=env.get("HEALTHMESH_STATE_DIR", ".state"),
                        help="where data, logs and generated secrets live (default .state)")
    parser.add_argument("--http-port", type=int, default=int(env.get("HEALTHMESH_HTTP_PORT", 8080)),
                        help="Envoy's public listener (default 8080)")
    parser.add_argument("--admin-port", type=int, default=int(env.get("HEALTHMESH_ADMIN_PORT", 9901)),
                        help="Envoy's admin listener (default 9901)")
    parser.add_argument("--base-port", type=int, default=int(env.get("HEALTHMESH_BASE_PORT", 50051)),
                        help="first of five consecutive service ports (default 50051)")
    parser.add_argument("--redis-port", type=int, default=int(env.get("HEALTHMESH_REDIS_PORT", 6390)),
                        help="embedded Redis port (default 6390)")
    parser.add_argument("--free-ports", action="store_true",
                        help="pick free ports instead (tests and benchmarks use this)")
    parser.add_argument("--replicas", default=env.get("HEALTHMESH_REPLICAS", ""),
                        help="processes per service, e.g. device=2,tracking=2 (default one each); Envoy "
                             "balances over them")
    parser.add_argument("--tracing", action=argparse.BooleanOptionalAction,
                        default=env.get("HEALTHMESH_TRACING", "1") not in ("0", "false", "no", ""),
                        help="trace every request (default; HEALTHMESH_TRACING=0 or --no-tracing: off): "
                             "spans to OTEL_EXPORTER_OTLP_ENDPOINT, else to <state dir>/traces/")
    args = parser.parse_args(argv)
    return MeshOptions(
        state_dir=Path(args.state_dir).resolve(), http_port=args.http_port, admin_port=args.admin_port,
        base_port=args.base_port, redis_port=args.redis_port, free_ports=args.free_ports,
        database_url=env.get("DATABASE_URL", ""), redis_url=env.get("REDIS_URL", ""),
        replicas=_replicas(parser, args.replicas), tracing=args.tracing,
    )


def _replicas(parser: argparse.ArgumentParser, text: str) -> dict[str, int]:
    try:
        return parse_replicas(text)
    except ValueError as exc:
        parser.error(f"--replicas: {exc}")



def main(argv: list[str]) -> int:
    options = parse_args(argv)
    stop = {"requested": False}

    def on_signal(signum, frame) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    mesh = Mesh(options)
    try:
        started = time.monotonic()
        mesh.start(should_stop=lambda: stop["requested"])
        for line in mesh.describe():
            print(line, flush=True)
        print(f"healthmesh ready ({time.monotonic() - started:.1f}s)", flush=True)
        while not stop["requested"]:
            failed = mesh.failed_child()
            if failed:
                print(f"healthmesh: {failed} exited; see its log in {options.state_dir / 'logs'}", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    except Mesh.StartError as exc:
        print(f"healthmesh: {exc}", file=sys.stderr)
        return 1
    finally:
        mesh.stop()
        print("healthmesh stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
