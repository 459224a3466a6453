"""The call interceptor's access log and per-method handlers, driven without a server: a successful
read logs at DEBUG (or one in N at INFO), failures and writes at INFO."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import grpc
import pytest
from healthmesh.auth.v1 import auth_service_pb2, user_pb2

from services.common import logs
from services.common.errors import NotFound
from services.common.interceptor import LOOPBACK, CallInterceptor, client_address
from services.common.principal import Principal
from services.common.server import ServiceSpec

GET_USER = "/healthmesh.auth.v1.AuthService/GetUser"  # GET /v1/users/me
UPDATE_USER = "/healthmesh.auth.v1.AuthService/UpdateUser"  # PATCH
ADA = Principal("user", "u-ada", "users/u-ada", session="s-1")


class FakeAuthenticator:
    revocations = None

    async def principal(self, metadata):
        return ADA


class FakeAudit:
    def __init__(self) -> None:
        self.records = []

    def record(self, record) -> None:
        self.records.append(record)


class FakeContext:
    def invocation_metadata(self):
        return (("authorization", "Bearer t"), ("x-request-id", "req-1"), ("x-forwarded-for", "203.0.113.9"))

    def peer(self) -> str:
        return "ipv4:127.0.0.1:5555"

    async def abort(self, code, details, trailing_metadata=()):
        raise grpc.aio.AbortError()


class Servicer:
    def __init__(self) -> None:
        self.missing = False

    async def get(self, request, context):
        if self.missing:
            raise NotFound("users/u-ada does not exist")
        return user_pb2.User(name="users/u-ada")

    async def update(self, request, context):
        return request.user


@pytest.fixture
def servicer():
    return Servicer()


def handlers(servicer: Servicer) -> dict[str, grpc.RpcMethodHandler]:
    return {
        GET_USER: grpc.unary_unary_rpc_method_handler(servicer.get, auth_service_pb2.GetUserRequest.FromString,
                                                      user_pb2.User.SerializeToString),
        UPDATE_USER: grpc.unary_unary_rpc_method_handler(servicer.update,
                                                         auth_service_pb2.UpdateUserRequest.FromString,
                                                         user_pb2.User.SerializeToString),
    }


def interceptor(audit: FakeAudit | None = None) -> CallInterceptor:
    return CallInterceptor(ServiceSpec("auth"), FakeAuthenticator(), audit or FakeAudit())


async def call(icp: CallInterceptor, table: dict, method: str, request) -> object:
    async def continuation(details):
        return table[details.method]

    handler = await icp.intercept_service(continuation, SimpleNamespace(method=method))
    return await handler.unary_unary(request, FakeContext())


def access_lines(caplog) -> list[tuple[int, dict]]:
    return [(r.levelno, r.fields) for r in caplog.records if r.name == "healthmesh.access"]


async def test_a_successful_read_logs_at_debug_and_is_still_audited(servicer, caplog):
    audit = FakeAudit()
    icp = interceptor(audit)
    with caplog.at_level(logging.INFO, logger="healthmesh.access"):
        await call(icp, handlers(servicer), GET_USER, auth_service_pb2.GetUserRequest(name="users/me"))
    assert access_lines(caplog) == []
    [record] = audit.records
    assert (record.action, record.outcome, record.resource, record.client_address) == (
        GET_USER, "OK", "users/u-ada", "203.0.113.9")
    with caplog.at_level(logging.DEBUG, logger="healthmesh.access"):
        await call(icp, handlers(servicer), GET_USER, auth_service_pb2.GetUserRequest(name="users/me"))
    [(level, fields)] = access_lines(caplog)
    assert level == logging.DEBUG
    assert {k: fields[k] for k in ("method", "code", "request_id", "actor", "client")} == {
        "method": GET_USER, "code": "OK", "request_id": "req-1", "actor": "users/u-ada", "client": "203.0.113.9"}


async def test_a_failed_read_and_a_write_log_at_info(servicer, caplog):
    icp = interceptor()
    table = handlers(servicer)
    with caplog.at_level(logging.INFO, logger="healthmesh.access"):
        update = auth_service_pb2.UpdateUserRequest(user=user_pb2.User(name="users/me", display_name="Ada"))
        await call(icp, table, UPDATE_USER, update)
        servicer.missing = True
        with pytest.raises(grpc.aio.AbortError):
            await call(icp, table, GET_USER, auth_service_pb2.GetUserRequest(name="users/me"))
    assert [(level, f["method"], f["code"]) for level, f in access_lines(caplog)] == [
        (logging.INFO, UPDATE_USER, "OK"), (logging.INFO, GET_USER, "NOT_FOUND")]


async def test_one_successful_read_in_n_is_sampled_at_info(servicer, caplog, monkeypatch):
    monkeypatch.setattr(logs, "_read_sample_every", 3)
    icp = interceptor()
    with caplog.at_level(logging.INFO, logger="healthmesh.access"):
        for _ in range(7):
            await call(icp, handlers(servicer), GET_USER, auth_service_pb2.GetUserRequest(name="users/me"))
    assert [level for level, _ in access_lines(caplog)] == [logging.INFO] * 3  # calls 1, 4 and 7


def test_the_sampler():
    assert [logs.access_sampler(0)() for _ in range(3)] == [False] * 3
    assert [logs.access_sampler(1)() for _ in range(3)] == [True] * 3
    every_two = logs.access_sampler(2)
    assert [every_two() for _ in range(4)] == [True, False, True, False]


async def test_a_method_is_wrapped_once_while_its_handler_is_the_same(servicer):
    icp = interceptor()
    table = handlers(servicer)

    async def continuation(details):
        return table[details.method]

    details = SimpleNamespace(method=GET_USER)
    first = await icp.intercept_service(continuation, details)
    assert await icp.intercept_service(continuation, details) is first
    table[GET_USER] = handlers(servicer)[GET_USER]  # another handler for the method: wrapped anew
    other = await icp.intercept_service(continuation, details)
    assert other is not first
    reply = await other.unary_unary(auth_service_pb2.GetUserRequest(name="users/me"), FakeContext())
    assert reply.name == "users/u-ada"


def test_the_client_address_is_the_same_with_the_peer_memo():
    memo: dict = {}
    forwarded = {"x-forwarded-for": "203.0.113.9"}
    for _ in range(2):  # the second round answers from the memo
        assert client_address(forwarded, "ipv4:127.0.0.1:5555", LOOPBACK, memo) == "203.0.113.9"
        assert client_address(forwarded, "ipv6:[::1]:5555", LOOPBACK, memo) == "203.0.113.9"
        assert client_address(forwarded, "ipv4:198.51.100.7:6000", LOOPBACK, memo) == "198.51.100.7"  # not Envoy
        assert client_address({}, "ipv4:127.0.0.1:5555", LOOPBACK, memo) == "127.0.0.1"
    assert len(memo) == 3
