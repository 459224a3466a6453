"""What the Python SDK adds to a call: the same unary RPCs through Envoy with a plain generated stub
and with healthmesh_client (credentials, deadline, retry bookkeeping, ApiError mapping), sync
and asyncio, interleaved in rounds so the machine's noise falls on both alike. The last stdout
line is one JSON object."""

from __future__ import annotations

import json
import time

import grpc
from healthmesh.auth.v1 import auth_service_pb2, auth_service_pb2_grpc

from bench.harness import new_user, private_mesh, summary
from client.healthmesh_client import AsyncClient, Client

ROUNDS, CALLS = 10, 200  # per round and form


def _timed(call, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def _atimed(call, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def run() -> None:
    with private_mesh() as mesh:
        endpoints = mesh.endpoints()
        token = new_user(endpoints["http"])["accessToken"]
        md = (("authorization", f"Bearer {token}"),)
        request = auth_service_pb2.GetUserRequest(name="users/me")
        figures: dict[str, list[float]] = {"stub": [], "sdk": [], "aio_stub": [], "aio_sdk": []}
        with grpc.insecure_channel(endpoints["grpc"]) as channel, Client(endpoints["grpc"], token=token) as sdk:
            stub = auth_service_pb2_grpc.AuthServiceStub(channel)
            async with grpc.aio.insecure_channel(endpoints["grpc"]) as achannel, \
                    AsyncClient(endpoints["grpc"], token=token) as asdk:
                astub = auth_service_pb2_grpc.AuthServiceStub(achannel)
                for _ in range(ROUNDS):
                    figures["stub"] += _timed(lambda: stub.GetUser(request, timeout=30, metadata=md), CALLS)
                    figures["sdk"] += _timed(lambda: sdk.auth.get_user(request), CALLS)
                    figures["aio_stub"] += await _atimed(lambda: astub.GetUser(request, timeout=30, metadata=md), CALLS)
                    figures["aio_sdk"] += await _atimed(lambda: asdk.auth.get_user(request), CALLS)
        result = {name: summary(values) for name, values in figures.items()}
        for form in ("", "aio_"):
            result[f"{form}overhead_p50_ms"] = round(result[f"{form}sdk"]["p50_ms"] - result[f"{form}stub"]["p50_ms"], 3)
        for name, s in result.items():
            print(f"{name:>22}: {s}")
        print(json.dumps(result))
