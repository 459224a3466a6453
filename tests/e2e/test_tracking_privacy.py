"""The privacy walk: every TrackingService RPC, called by user A on user B's resource names through
Envoy, answers PERMISSION_DENIED and no data, and none answers UNIMPLEMENTED."""

from __future__ import annotations

import re
import uuid

import grpc
import pytest
from healthmesh.tracking.v1 import tracking_service_pb2, tracking_service_pb2_grpc

from services.common.contract import methods
from tests.e2e.conftest import new_user

pytestmark = pytest.mark.e2e

TRACKING = [m for m in methods() if m.service_full_name == "healthmesh.tracking.v1.TrackingService"]


def request_for(method, other_user: str):
    """A request whose resource fields (from the HTTP rule's path template) name B's resources."""
    request_type = getattr(tracking_service_pb2, f"{method.name}Request")
    request = request_type()
    for field_path, pattern in re.findall(r"\{([\w.]+)=([^}]+)\}", method.http_path):
        value = "/".join(other_user if part == "*" and i == 1 else (str(uuid.uuid4()) if part == "*" else part)
                         for i, part in enumerate(pattern.split("/")))
        target = request
        *parents, leaf = field_path.split(".")
        for name in parents:
            target = getattr(target, name)
        setattr(target, leaf, value)
    return request


@pytest.mark.parametrize("method", [m for m in TRACKING if "{" in m.http_path], ids=lambda m: m.name)
def test_another_users_names_are_forbidden(mesh, http, method):
    a, b = new_user(http), new_user(http)
    other = b["user"]["name"].split("/")[1]
    with grpc.insecure_channel(mesh.grpc) as channel:
        stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            getattr(stub, method.name)(request_for(method, other),
                                       metadata=(("authorization", f"Bearer {a['accessToken']}"),), timeout=10)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, (method.name, err.value.details())


def test_the_walk_covers_every_rpc_but_the_catalog():
    walked = {m.name for m in TRACKING if "{" in m.http_path}
    assert walked | {"ListSampleTypes"} == {m.name for m in TRACKING}
