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

from services.common.config import SERVICE_NAMES
from services.runner.mesh import Mesh, MeshOptions


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
    args = parser.parse_args(argv)
    return MeshOptions(
        state_dir=Path(args.state_dir).resolve(), http_port=args.http_port, admin_port=args.admin_port,
        base_port=args.base_port, redis_port=args.redis_port, free_ports=args.free_ports,
        database_url=env.get("DATABASE_URL", ""), redis_url=env.get("REDIS_URL", ""),
        replicas=parse_replicas(parser, args.replicas),
    )


def parse_replicas(parser: argparse.ArgumentParser, text: str) -> dict[str, int]:
    replicas = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        service, _, count = part.partition("=")
        if service not in SERVICE_NAMES or not count.isdigit() or not 1 <= int(count) <= 8:
            parser.error(f"--replicas: {part!r} is not service=N with a service of {', '.join(SERVICE_NAMES)} "
                         "and N from 1 to 8")
        replicas[service] = int(count)
    return replicas


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
