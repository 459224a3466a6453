"""services/common/telemetry/rpc.py on a real in-process aio server: a SERVER span per healthmesh
call, continuing the caller's traceparent, with the status code the call ended with."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest

from services.common import telemetry

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


async def ok(request, context):
    assert telemetry.trace_id() == TRACE  # the span is current in the call
    return b"ok"


async def not_ours(request, context):
    assert telemetry.trace_id() == ""  # health and reflection have no span
    return b"ok"


async def bad(request, context):
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "71.3 is out of range")


async def boom(request, context):
    raise RuntimeError("71.3")


async def stream(request, context):
    for part in (b"a", b"b"):
        yield part


def handlers(service: str):
    return grpc.method_handlers_generic_handler(service, {
        "Ok": grpc.unary_unary_rpc_method_handler(ok if service.startswith("healthmesh.") else not_ours), "Bad": grpc.unary_unary_rpc_method_handler(bad),
        "Boom": grpc.unary_unary_rpc_method_handler(boom), "Stream": grpc.unary_stream_rpc_method_handler(stream)})


@pytest.fixture
def traced(tmp_path):
    assert telemetry.setup("tracking", str(tmp_path), environ={})
    yield tmp_path
    telemetry.shutdown()


def test_each_call_of_ours_has_a_server_span_with_its_code(traced):
    async def run() -> None:
        server = grpc.aio.server(interceptors=telemetry.server_interceptors())
        server.add_generic_rpc_handlers((handlers("healthmesh.test.v1.T"), handlers("grpc.health.v1.Health")))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        metadata = (("traceparent", f"00-{TRACE}-{PARENT}-01"),)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = lambda name: channel.unary_unary(f"/healthmesh.test.v1.T/{name}")  # noqa: E731
            assert await call("Ok")(b"", metadata=metadata) == b"ok"
            for name, code in (("Bad", grpc.StatusCode.INVALID_ARGUMENT), ("Boom", grpc.StatusCode.UNKNOWN)):
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await call(name)(b"", metadata=metadata)
                assert raised.value.code() == code
            assert [r async for r in channel.unary_stream("/healthmesh.test.v1.T/Stream")(b"", metadata=metadata)] \
                == [b"a", b"b"]
            assert await channel.unary_unary("/grpc.health.v1.Health/Ok")(b"", metadata=metadata) == b"ok"
        await server.stop(None)

    asyncio.run(run())
    telemetry.shutdown()
    spans = {s["name"]: s for s in (json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
                                    for path in traced.glob("*.jsonl") for line in path.read_text().splitlines())}
    assert set(spans) == {f"/healthmesh.test.v1.T/{n}" for n in ("Ok", "Bad", "Boom", "Stream")}  # no health span
    codes = {}
    for name, s in spans.items():
        attrs = {a["key"]: next(iter(a["value"].values())) for a in s["attributes"]}
        assert (s["traceId"], s["parentSpanId"], s["kind"]) == (TRACE, PARENT, 2)
        assert attrs["rpc.system"] == "grpc" and attrs["rpc.service"] == "healthmesh.test.v1.T"
        assert attrs["rpc.method"] == name.rsplit("/", 1)[1]
        codes[attrs["rpc.method"]] = (attrs["rpc.grpc.status_code"], s["status"])
    assert codes == {"Ok": ("0", {}), "Bad": ("3", {}), "Boom": ("2", {"code": 2}), "Stream": ("0", {})}
    assert "71.3" not in json.dumps(spans)
