"""The SDK's own rules, with a stand-in channel: which errors are retried and how long it waits, the
token refresh, errors' details, pagination, URLs, and a method table that matches the contracts."""

from __future__ import annotations

import asyncio
import random

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from healthmesh.auth.v1 import auth_service_pb2, user_pb2
from healthmesh.tracking.v1 import sample_pb2, tracking_service_pb2

import healthmesh_client as hm
from healthmesh_client._transport import AsyncTransport, Credentials, RetryPolicy, Transport
from healthmesh_client.client import parse_url
from healthmesh_client.errors import from_rpc_error
from services.common.contract import methods
from services.runner import sdk_codegen


class Failed(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, message: str = "no", reason: str = "", retry: float | None = None,
                 violations: tuple[tuple[str, str], ...] = ()) -> None:
        self._code, self._message = code, message
        status = status_pb2.Status(code=code.value[0], message=message)
        details = [error_details_pb2.ErrorInfo(reason=reason, domain="test.healthmesh.dev", metadata={"k": "v"})]
        if retry is not None:
            details.append(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(
                seconds=int(retry), nanos=int(retry % 1 * 1e9))))
        if violations:
            details.append(error_details_pb2.BadRequest(field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=f, description="bad", reason=r) for f, r in violations]))
        for d in details:
            packed = any_pb2.Any()
            packed.Pack(d)
            status.details.append(packed)
        self._trailers = (("grpc-status-details-bin", status.SerializeToString()),)

    def code(self):
        return self._code

    def details(self):
        return self._message

    def trailing_metadata(self):
        return self._trailers


class Channel:
    """Answers each path from a list of outcomes (an exception to raise or a reply), recording calls."""

    def __init__(self, **outcomes) -> None:
        self.outcomes = {path: list(v) for path, v in outcomes.items()}
        self.calls: list[tuple[str, object, tuple]] = []

    def unary_unary(self, path, request_serializer, response_deserializer):
        name = path.rsplit("/", 1)[1]

        def call(request, timeout=None, metadata=()):
            self.calls.append((name, request, tuple(metadata or ())))
            outcome = self.outcomes[name].pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        return call


class AsyncChannel(Channel):
    def unary_unary(self, path, request_serializer, response_deserializer):
        call = super().unary_unary(path, request_serializer, response_deserializer)

        async def acall(request, timeout=None, metadata=()):
            return call(request, timeout, metadata)
        return acall


LIST = hm.METHODS["/healthmesh.tracking.v1.TrackingService/ListSamples"]
CREATE = hm.METHODS["/healthmesh.tracking.v1.TrackingService/CreateSample"]
DELETE = hm.METHODS["/healthmesh.tracking.v1.TrackingService/DeleteSample"]
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE


def transport(channel, credentials=None, **kw):
    waits = []
    t = Transport(channel, credentials or Credentials(access_token="a1"), sleep=waits.append, rng=random.Random(1),
                  **kw)
    return t, waits


def test_the_table_has_every_public_rpc_and_no_internal_one():
    public = {m.path for m in methods() if not m.internal}
    assert set(hm.METHODS) == public
    assert hm.METHODS["/healthmesh.tracking.v1.TrackingService/ListSamples"].items == "samples"
    assert LIST.idempotent and not CREATE.idempotent and CREATE.request_id and not DELETE.request_id


def test_the_committed_table_is_what_the_generator_writes():
    assert (sdk_codegen.DEFAULT_OUT.read_text() == sdk_codegen.render(sdk_codegen.DEFAULT_DESCRIPTOR_SET))


def test_docstrings_and_hints_come_from_the_protos():
    doc = hm.Client("127.0.0.1:1").tracking.list_samples.__doc__
    assert "newest start_time first" in doc and "GET /v1/{parent=users/*}/samples" in doc
    assert "ListSamplesResponse" in hm._generated.TrackingService.list_samples.__annotations__["return"]


def test_unavailable_is_retried_with_growing_jittered_waits_for_an_idempotent_call():
    page = tracking_service_pb2.ListSamplesResponse()
    t, waits = transport(Channel(ListSamples=[Failed(UNAVAILABLE)] * 3 + [page]))
    assert t.unary(LIST, LIST.request(parent="users/me"), None, ()) == page
    caps = [0.1 * 2 ** n for n in range(3)]
    assert len(waits) == 3 and all(0 <= w <= cap for w, cap in zip(waits, caps))


def test_unavailable_ends_after_max_attempts():
    t, waits = transport(Channel(ListSamples=[Failed(UNAVAILABLE)] * 5), retry=RetryPolicy(max_attempts=3))
    with pytest.raises(hm.Unavailable):
        t.unary(LIST, LIST.request(parent="users/me"), None, ())
    assert len(waits) == 2


def test_a_write_is_retried_only_with_a_request_id():
    sample = sample_pb2.Sample(name="users/me/samples/1")
    t, waits = transport(Channel(CreateSample=[Failed(UNAVAILABLE)]))
    with pytest.raises(hm.Unavailable):
        t.unary(CREATE, CREATE.request(parent="users/me"), None, ())
    assert waits == []
    t, waits = transport(Channel(CreateSample=[Failed(UNAVAILABLE), sample]))
    assert t.unary(CREATE, CREATE.request(parent="users/me", request_id="r-1"), None, ()) == sample
    assert len(waits) == 1


def test_resource_exhausted_waits_as_its_retry_info_says_within_a_bound():
    page = tracking_service_pb2.ListSamplesResponse()
    t, waits = transport(Channel(CreateSample=[Failed(grpc.StatusCode.RESOURCE_EXHAUSTED, retry=2.5), page]))
    assert t.unary(CREATE, CREATE.request(parent="users/me"), None, ()) == page
    assert waits == [2.5]
    t, waits = transport(Channel(CreateSample=[Failed(grpc.StatusCode.RESOURCE_EXHAUSTED, retry=3600)]))
    with pytest.raises(hm.ResourceExhausted) as told:
        t.unary(CREATE, CREATE.request(parent="users/me"), None, ())
    assert told.value.retry_delay == 3600 and waits == []


def test_a_wait_past_the_deadline_is_not_waited():
    clock = iter(range(0, 1000, 10)).__next__  # each reading 10 s later
    t, waits = transport(Channel(ListSamples=[Failed(UNAVAILABLE)] * 2), clock=lambda: clock())
    with pytest.raises(hm.Unavailable):
        t.unary(LIST, LIST.request(parent="users/me"), 5.0, ())
    assert waits == []


def test_an_expired_token_is_refreshed_once_and_the_call_repeated():
    expired = Failed(grpc.StatusCode.UNAUTHENTICATED, "the access token has expired", reason="TOKEN_EXPIRED")
    page = tracking_service_pb2.ListSamplesResponse()
    channel = Channel(ListSamples=[expired, page, expired, expired],
                      RefreshToken=[auth_service_pb2.RefreshTokenResponse(access_token="a2", refresh_token="r2"),
                                    auth_service_pb2.RefreshTokenResponse(access_token="a3", refresh_token="r3")])
    t, _ = transport(channel, Credentials(access_token="a1", refresh_token="r1"))
    assert t.unary(LIST, LIST.request(parent="users/me"), None, ()) == page
    sent = [(name, dict(md).get("authorization")) for name, _, md in channel.calls]
    assert sent == [("ListSamples", "Bearer a1"), ("RefreshToken", None), ("ListSamples", "Bearer a2")]
    assert channel.calls[1][1].refresh_token == "r1" and t.credentials.refresh_token == "r2"
    with pytest.raises(hm.Unauthenticated):  # a second expiry within one call is final
        t.unary(LIST, LIST.request(parent="users/me"), None, ())


def test_a_login_is_made_at_the_first_call_and_other_refusals_are_not_refreshed():
    channel = Channel(Login=[auth_service_pb2.LoginResponse(access_token="a1", refresh_token="r1")],
                      GetUser=[Failed(grpc.StatusCode.UNAUTHENTICATED, reason="TOKEN_REVOKED")])
    t, _ = transport(channel, Credentials(email="me@example.org", password="pw"))
    with pytest.raises(hm.Unauthenticated) as refused:
        t.unary(hm.METHODS["/healthmesh.auth.v1.AuthService/GetUser"],
                auth_service_pb2.GetUserRequest(name="users/me"), None, ())
    assert refused.value.reason == "TOKEN_REVOKED"
    assert [name for name, *_ in channel.calls] == ["Login", "GetUser"]


def test_the_async_transport_refreshes_and_retries_the_same_way():
    expired = Failed(grpc.StatusCode.UNAUTHENTICATED, reason="TOKEN_EXPIRED")
    page = tracking_service_pb2.ListSamplesResponse()
    channel = AsyncChannel(ListSamples=[expired, Failed(UNAVAILABLE), page],
                           RefreshToken=[auth_service_pb2.RefreshTokenResponse(access_token="a2", refresh_token="r2")])
    waits = []

    async def sleep(s):
        waits.append(s)
    t = AsyncTransport(channel, Credentials(access_token="a1", refresh_token="r1"), sleep=sleep)
    assert asyncio.run(t.unary(LIST, LIST.request(parent="users/me"), None, ())) == page
    assert [name for name, *_ in channel.calls] == ["ListSamples", "RefreshToken", "ListSamples", "ListSamples"]
    assert len(waits) == 1


def test_an_error_carries_its_details():
    error = from_rpc_error(Failed(grpc.StatusCode.INVALID_ARGUMENT, "bad sample", reason="FIELD_INVALID",
                                  violations=(("sample.unit", "UNIT_UNKNOWN"),)))
    assert isinstance(error, hm.InvalidArgument) and isinstance(error, hm.ApiError)
    assert (error.code, error.message, error.reason, error.domain, error.metadata) == (
        grpc.StatusCode.INVALID_ARGUMENT, "bad sample", "FIELD_INVALID", "test.healthmesh.dev", {"k": "v"})
    assert error.field_violations == [hm.FieldViolation("sample.unit", "bad", "UNIT_UNKNOWN")]
    assert str(error) == "INVALID_ARGUMENT: bad sample"


def test_paginate_follows_next_page_token_and_leaves_the_request_alone():
    pages = {"": (["a", "b"], "t1"), "t1": (["c"], "t2"), "t2": ([], "")}
    seen = []

    def call(request):
        seen.append(request.page_token)
        names, token = pages[request.page_token]
        return tracking_service_pb2.ListSamplesResponse(
            samples=[sample_pb2.Sample(name=n) for n in names], next_page_token=token)
    request = tracking_service_pb2.ListSamplesRequest(parent="users/me")
    assert [s.name for s in hm.paginate(call, request, "samples")] == ["a", "b", "c"]
    assert seen == ["", "t1", "t2"] and request.page_token == ""


def test_a_request_and_keywords_are_one_or_the_other():
    client = hm.Client("127.0.0.1:1")
    with pytest.raises(TypeError):
        client.auth.get_user(auth_service_pb2.GetUserRequest(), name="users/me")
    with pytest.raises(TypeError):
        client.auth.get_user(user_pb2.User())
    client.close()


@pytest.mark.parametrize("url, expected", [
    ("127.0.0.1:8080", ("127.0.0.1:8080", False)), ("http://127.0.0.1:8080/", ("127.0.0.1:8080", False)),
    ("https://api.example.org", ("api.example.org:443", True)), ("https://h:8443", ("h:8443", True))])
def test_urls(url, expected):
    assert parse_url(url) == expected


def test_credentials_are_one_kind():
    with pytest.raises(ValueError):
        hm.Client("127.0.0.1:1", token="t", api_key="k")
    with pytest.raises(ValueError):
        hm.Client("127.0.0.1:1", email="me@example.org")


def test_the_alert_watch_resumes_from_the_last_alert_or_heartbeat_position():
    from healthmesh.insight.v1 import alert_pb2, insight_service_pb2 as pb

    def alert(name):
        return pb.WatchAlertsResponse(alert=alert_pb2.Alert(name=name))

    def heartbeat(last):
        return pb.WatchAlertsResponse(heartbeat=pb.Heartbeat(last_alert=last))
    streams = [[alert("a1"), hm.Unavailable(UNAVAILABLE, "shutting down")],
               [heartbeat("a2")],  # a plain end, after a heartbeat that moved the position
               [hm.Unauthenticated(grpc.StatusCode.UNAUTHENTICATED, "expired")],  # reason TOKEN_EXPIRED below
               [alert("a3")]]
    streams[2][0].reason = "TOKEN_EXPIRED"
    opened, refreshed, waits = [], [], []

    def open_stream(after):
        opened.append(after)
        for item in streams[len(opened) - 1]:
            if isinstance(item, Exception):
                raise item
            yield item
    watch = hm.AlertWatch(open_stream, lambda: refreshed.append(1), sleep=waits.append, rng=random.Random(1))
    seen = []
    for a in watch:
        seen.append(a.name)
        if len(seen) == 2:
            break
    assert seen == ["a1", "a3"] and opened == ["", "a1", "a2", "a2"] and refreshed == [1]
    assert watch.last_alert == "a3" and watch.reconnects == 3 and waits[2] == 0.0


def test_the_alert_watch_ends_on_an_error_resuming_cannot_fix():
    def open_stream(after):
        raise hm.PermissionDenied(grpc.StatusCode.PERMISSION_DENIED, "another user")
        yield
    with pytest.raises(hm.PermissionDenied):
        next(iter(hm.AlertWatch(open_stream, None, sleep=lambda s: None)))
