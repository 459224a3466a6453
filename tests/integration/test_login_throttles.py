"""Login throttles over real gRPC against the real Auth and PostgreSQL: concurrent guesses, the
email cap as a client error, and the client address a service believes."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from healthmesh.auth.v1 import auth_service_pb2, auth_service_pb2_grpc

from services.common.interceptor import client_address, trusted_networks
from tests.integration.test_auth_service import register_and_login


async def test_twelve_wrong_logins_at_once_get_five_401s_and_seven_429s(auth_harness):
    stub = auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel)
    user, _ = await register_and_login(stub)

    async def guess(i: int) -> grpc.StatusCode:
        try:
            await stub.Login(auth_service_pb2.LoginRequest(email=user.email, password=f"wrong password {i}"))
        except grpc.aio.AioRpcError as err:
            return err.code()
        return grpc.StatusCode.OK

    codes = await asyncio.gather(*(guess(i) for i in range(12)))
    assert codes.count(grpc.StatusCode.UNAUTHENTICATED) == 5
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) == 7


async def test_a_one_megabyte_email_is_invalid_argument_naming_the_field(auth_harness, caplog):
    stub = auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Login(auth_service_pb2.LoginRequest(email="a" * 1_000_000 + "@example.org", password="whatever1234"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = status_pb2.Status.FromString(dict(err.value.trailing_metadata())["grpc-status-details-bin"])
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details)
    assert [v.field for v in bad.field_violations] == ["email"]
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize("metadata, peer, seen", [
    ({"x-forwarded-for": "203.0.113.7"}, "ipv4:127.0.0.1:5555", "203.0.113.7"),  # from Envoy
    ({"x-forwarded-for": "203.0.113.7"}, "ipv6:[::1]:5555", "203.0.113.7"),
    ({"x-forwarded-for": "203.0.113.7"}, "ipv6:[::ffff:127.0.0.1]:5555", "203.0.113.7"),
    ({"x-forwarded-for": "203.0.113.7"}, "ipv4:198.51.100.4:5555", "198.51.100.4"),  # not a proxy: not believed
    ({"x-forwarded-for": "203.0.113.7, 10.1.2.3"}, "ipv4:127.0.0.1:5555", "10.1.2.3"),
    ({}, "ipv4:127.0.0.1:5555", "127.0.0.1"),
    ({}, "ipv6:[2001:db8::1]:443", "2001:db8::1"),
])
def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(metadata, peer, seen):
    assert client_address(metadata, peer) == seen


def test_trusted_proxies_are_configurable_networks():
    proxies = trusted_networks("10.0.0.0/8, fd00::/8")
    assert client_address({"x-forwarded-for": "203.0.113.7"}, "ipv4:10.4.5.6:1", proxies) == "203.0.113.7"
    assert client_address({"x-forwarded-for": "203.0.113.7"}, "ipv4:127.0.0.1:1", proxies) == "127.0.0.1"
