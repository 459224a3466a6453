"""Every public RPC of every public service, fed requests generated from its descriptor
(tests/fuzz/strategies.py) over real gRPC, as user A while user B has data. The property:

- every answer is OK or a client's error, never INTERNAL, UNKNOWN or anything else;
- nothing is logged with a traceback or at ERROR (a client's mistake is one INFO/WARNING line);
- no OK answer holds B's data: a string only B's data has, or one of B's ids that A did not send;
- each service is still SERVING after each RPC's examples, and B's data is all still there.

HYPOTHESIS_PROFILE picks how many examples (tests/fuzz/conftest.py).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import re

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
from tests.fuzz.harness import Mesh, Tripwire, public_rpcs, templates

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
    for template in templates(a):
        pools.templates.setdefault(template.DESCRIPTOR.full_name, []).append(template)
    tripwire.take()  # the setup's own lines are not the fuzz's
    state = {"mesh": mesh, "a": a, "b": b, "pools": pools, "tripwire": tripwire, "sent": set()}
    yield state
    mesh.close()
    logging_root.removeHandler(tripwire)


def _names_for(rpc, a) -> list[str]:
    """A's names of the kind the RPC takes, read from its HTTP rule (`{name=users/*/samples/*}`):
    `users/me/...` and `users/<A's id>/...`, with the ids of A's resources of that kind."""
    found = re.search(r"\{[\w.]+=([^}]+)\}", rpc.http_path)
    pattern = found.group(1) if found else "users/*"
    parts = pattern.split("/")
    names = []
    for user in ("me", a.id):
        if len(parts) <= 2:
            names.append(f"users/{user}")
            continue
        prefix = f"users/{a.id}/{parts[2]}/"
        for own in (n for n in a.names if n.startswith(prefix)):
            names.append(f"users/{user}/{own.removeprefix(f'users/{a.id}/')}")
    return names or ["users/me"]


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


def _leaks(b, answers: list[bytes], sent: set[str]) -> list[str]:
    """B's strings in A's answers; an id of B's counts once A never sent it (A's audit log holds
    the names A asked for, B's among them)."""
    found = []
    for answer in answers:
        found += [s for s in b.secrets if s.encode() in answer]
        found += [i for i in b.ids if i.encode() in answer and i not in sent]
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
    pools = dataclasses.replace(world["pools"], mild_names=_names_for(rpc, world["a"]))

    answered = collections.Counter()  # printed (pytest -s): how many examples got past the checks

    @given(data=st.data())
    def example(data):
        a, b, tripwire = world["a"], world["b"], world["tripwire"]
        requests = [data.draw(strategies.messages(request_type, pools), label="request")
                    for _ in range(data.draw(count, label="messages"))]
        payloads = [strategies.wire(r) for r in requests]
        code, answers, details = _call(mesh, rpc, payloads, a.md)
        note(f"{rpc.path} -> {code.name}: {details[:300]}")
        answered[code.name] += 1
        logged = tripwire.take()
        if rpc.name in ENDS_THE_CALLER and not mesh.alive(a):
            world["a"] = mesh.new_user("a")
            mesh.seed(world["a"])
        assert code in CLIENT_ERRORS, f"{rpc.path} answered {code.name}: {details[:500]}"
        assert logged == [], logged
        sent = world["sent"]
        sent.update(i for i in b.ids if any(i.encode() in p for p in payloads))
        assert _leaks(b, answers, sent) == []

    example()
    print(f"{rpc.path}: {dict(answered.most_common())}")
    if rpc.name.startswith("Delete"):
        mesh.seed(world["a"])  # A has one of each kind again for the RPCs after it
    for owner in mesh.served:
        assert mesh.status(owner) == health_pb2.HealthCheckResponse.SERVING, f"{owner} stopped SERVING"
    _assert_b_intact(mesh, world["b"])


def _assert_b_intact(mesh: Mesh, b) -> None:
    """Nothing A sent changed B: B still signs in with the same credentials and has every sample."""
    me = mesh.auth.GetUser(auth_service_pb2.GetUserRequest(name="users/me"), metadata=b.md)
    assert me.name == f"users/{b.id}"
    samples = mesh.tracking.ListSamples(pb.ListSamplesRequest(parent="users/me", page_size=100), metadata=b.md)
    assert len([s for s in samples.samples if s.type == "heart_rate"]) == 3
