"""python -m bench <name>: self-contained benchmarks that print figures (the last stdout line is
one JSON object). Each starts its own mesh on free ports in a temporary dir and stops it."""

from __future__ import annotations

import asyncio
import importlib
import sys

BENCHMARKS = {"tracking": "bench.tracking", "ingest": "bench.ingest", "telemetry": "bench.telemetry",
              "insight": "bench.insight", "unary": "bench.unary", "sdk": "bench.sdk",
              "unknown_fields": "bench.unknown_fields", "spans": "bench.spans"}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in BENCHMARKS:
        print(f"usage: python -m bench {{{','.join(BENCHMARKS)}}}", file=sys.stderr)
        return 2
    module = importlib.import_module(BENCHMARKS[argv[0]])
    asyncio.run(module.run())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
