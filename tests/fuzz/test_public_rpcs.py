"""Every public RPC of every public service, fed requests generated from its descriptor
(tests/fuzz/strategies.py) over real gRPC, as user A while user B has data. The property:

- every answer is OK or a client's error, never INTERNAL, UNKNOWN or anything else;
- nothing is logged with a traceback or at ERROR (a client's mistake is one INFO/WARNING line);
- no OK answer holds B's data: a string only B's data has, or one of B's ids that A did not send;
- each service is still SERVING after each RPC's examples, and B's data is all still there.

HYPOTHESIS_PROFILE picks how many examples (tests/fuzz/conftest.py).
"""

from __future__ import annotations

import logging

import grpc
import pytest
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2
# The service modules register the request and response types that are looked up by method.
from healthmesh.auth.v1 import auth_service_pb2
from healthmesh.device.v1 import device_service_pb2  # noqa: F401
from healthmesh.ingest.v1 import ingest_service_pb2  # noqa: F401
from healthmesh.insight.v1 import insight_service_pb2  # noqa: F401
from healthmesh.tracking.v1 import tracking_service_pb2 as pb
from hypothesis import given, note
from hypothesis import strategies as st

from tests.fuzz import strategies
from tests.fuzz.harness import Mesh, Tripwire, public_rpcs

CLIENT_ERRORS = {
    grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
}
# What a call may end A's credentials with: A is replaced before the next example.
ENDS_THE_CALLER = {"DeleteUser", "RevokeSessions", "ChangePassword", "Logout"}
CALL_TIMEOUT = 30  # seconds; a call that takes longer is a hang, and fails the property
RPCS = public_rpcs()


@pytest.fixture(scope="module")
def world(migrated_dsn):
    tripwire = Tripwire()
    logging_root = logging.getLogger()
    logging_root.addHandler(tripwire)
    mesh = Mesh(migrated_dsn)
    b = mesh.new_user("b")
    mesh.seed(b)
    a = mesh.new_user("a")
    mesh.seed(a)
    pools = strategies.Pools()
    pools.names = sorted({"users/me", "users/", "users/me/", "users/*", "users/-", f"users/{a.id}", f"users/{b.id}",
                          *a.names, *b.names, *(n.replace(f"users/{b.id}", "users/me") for n in b.names),
                          *(n.replace(f"users/{a.id}", f"users/{b.id}") for n in a.names)})
    pools.page_tokens = [a.page_token, b.page_token]
    pools.request_ids = [*a.request_ids, *b.request_ids]
    pools.words = _words()
    pools.field_names = sorted({f.name for m in _resource_types() for f in m.fields}) + ["*", "", "a.b"]
    tripwire.take()  # the setup's own lines are not the fuzz's
    state = {"mesh": mesh, "a": a, "b": b, "pools": pools, "tripwire": tripwire}
    yield state
    mesh.close()
    logging_root.removeHandler(tripwire)


def _words() -> list[str]:
    from services.tracking.samples.catalog import CATALOG

    units = {u for t in CATALOG.values() for u in t.units}
    return sorted({*CATALOG, *units, "running", "walking", "cycling", "step_count", "heart_rate", "DAY", "HOUR",
                   "UTC", "Europe/Berlin", "America/New_York", "+14:00", "application/json", "text/csv",
                   "1990-04-01", "0001-01-01", "9999-12-31", "2026-03-01", "2026-02-30", "me@example.org"})


def _resource_types():
    pool = descriptor_pool.Default()
    for m in RPCS:
        yield pool.FindMethodByName(f"{m.service_full_name}.{m.name}").input_type


def _call(mesh: Mesh, rpc, payloads: list[bytes], md) -> tuple[grpc.StatusCode, list[bytes], str]:
    channel = mesh.channels[rpc.owner]
    try:
        if rpc.client_streaming and rpc.server_streaming:
            answers = list(channel.stream_stream(rpc.path)(iter(payloads), metadata=md, timeout=CALL_TIMEOUT))
        elif rpc.client_streaming:
            answers = [channel.stream_unary(rpc.path)(iter(payloads), metadata=md, timeout=CALL_TIMEOUT)]
        elif rpc.server_streaming:
            answers = list(channel.unary_stream(rpc.path)(payloads[0], metadata=md, timeout=CALL_TIMEOUT))
        else:
            answers = [channel.unary_unary(rpc.path)(payloads[0], metadata=md, timeout=CALL_TIMEOUT)]
        return grpc.StatusCode.OK, answers, ""
    except grpc.RpcError as err:
        return err.code(), [], err.details() or ""


def _leaks(b, answers: list[bytes], sent: bytes) -> list[str]:
    found = []
    for answer in answers:
        found += [s for s in b.secrets if s.encode() in answer]
        found += [i for i in b.ids if i.encode() in answer and i.encode() not in sent]
    return found


@pytest.mark.parametrize("rpc", RPCS, ids=lambda m: f"{m.service}.{m.name}")
def test_any_request_gets_an_answer_a_client_deserves(world, rpc):
    mesh: Mesh = world["mesh"]
    if rpc.owner not in mesh.served:
        pytest.skip(f"{rpc.service} has no servicer yet (no services/{rpc.owner}/app.py)")
    request_type = descriptor_pool.Default().FindMethodByName(f"{rpc.service_full_name}.{rpc.name}").input_type
    code, _, _ = _call(mesh, rpc, [b""], world["a"].md)
    if code == grpc.StatusCode.UNIMPLEMENTED:
        # Declared in the contract, not built yet: nothing to fuzz until it is.
        pytest.skip(f"{rpc.path} answers UNIMPLEMENTED")
    count = st.integers(1, 3) if rpc.client_streaming else st.just(1)

    @given(data=st.data())
    def example(data):
        a, b, tripwire = world["a"], world["b"], world["tripwire"]
        requests = [data.draw(strategies.messages(request_type, world["pools"]), label="request")
                    for _ in range(data.draw(count, label="messages"))]
        payloads = [strategies.wire(r) for r in requests]
        code, answers, details = _call(mesh, rpc, payloads, a.md)
        note(f"{rpc.path} -> {code.name}: {details[:300]}")
        logged = tripwire.take()
        if rpc.name in ENDS_THE_CALLER and not mesh.alive(a):
            world["a"] = mesh.new_user("a")
        assert code in CLIENT_ERRORS, f"{rpc.path} answered {code.name}: {details[:500]}"
        assert logged == [], logged
        assert _leaks(b, answers, b"".join(payloads)) == []

    example()
    for owner in mesh.served:
        assert mesh.status(owner) == health_pb2.HealthCheckResponse.SERVING, f"{owner} stopped SERVING"
    _assert_b_intact(mesh, world["b"])


def _assert_b_intact(mesh: Mesh, b) -> None:
    """Nothing A sent changed B: B still signs in with the same credentials and has every sample."""
    me = mesh.auth.GetUser(auth_service_pb2.GetUserRequest(name="users/me"), metadata=b.md)
    assert me.name == f"users/{b.id}"
    samples = mesh.tracking.ListSamples(pb.ListSamplesRequest(parent="users/me", page_size=100), metadata=b.md)
    assert len([s for s in samples.samples if s.type == "heart_rate"]) == 3
