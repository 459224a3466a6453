"""The checks every public request gets from its descriptor (services/common/request_checks.py):
each rule, the paths of nested, repeated and map fields, what is skipped, and what is worked out
once per message type."""

from __future__ import annotations

import grpc
import pytest
from google.api import httpbody_pb2
from healthmesh.device.v1 import device_service_pb2
from healthmesh.tracking.v1 import activity_pb2, tracking_service_pb2 as pb

from services.common import request_checks
from services.common.checks import MAX_TEXT
from services.common.errors import InvalidArgument
from services.common.request_checks import EARLIEST, LATEST, MAX_VIOLATIONS, check, plan_of, violations

SOUND_SECONDS = 1_772_352_000  # 2026-03-01


def fields(request) -> dict[str, str]:
    return {v.field: v.description for v in violations(request)}


def batch(n: int) -> pb.BatchCreateSamplesRequest:
    request = pb.BatchCreateSamplesRequest(parent="users/me")
    for i in range(n):
        s = request.samples.add(type="heart_rate", unit="/min", source="Apple Watch", value=60)
        s.start_time.seconds = SOUND_SECONDS + i
    return request


def test_a_sound_request_passes():
    assert violations(batch(3)) == []
    check(pb.AggregateSamplesRequest(parent="users/me", type="step_count", interval=2))  # DAY


def test_nul_in_any_string_is_a_violation_on_its_path():
    request = batch(5)
    request.samples[3].source = "Apple\x00Watch"
    request.parent = "users/\x00"
    assert fields(request) == {"parent": "must not contain NUL (U+0000)",
                               "samples[3].source": "must not contain NUL (U+0000)"}
    single = pb.CreateSampleRequest(parent="users/me")
    single.sample.source = "\x00"
    assert list(fields(single)) == ["sample.source"]
    query = pb.ListSamplesRequest(parent="users/me", source="a\x00")
    assert list(fields(query)) == ["source"]


def test_nested_repeated_paths_name_each_level():
    request = pb.CreateActivityRequest(parent="users/me")
    request.activity.type = "running"
    for i in range(3):
        request.activity.route.add(latitude=1, longitude=1).time.seconds = SOUND_SECONDS + i
    request.activity.route[2].time.seconds = -10_000_000_000  # 1653
    request.activity.weather.conditions = "x" * (MAX_TEXT + 1)
    assert fields(request) == {
        "activity.route[2].time": f"must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC)",
        "activity.weather.conditions": f"must have at most {MAX_TEXT} characters, got {MAX_TEXT + 1}",
    }


def test_repeated_strings_are_checked_one_by_one():
    request = pb.GetLatestSamplesRequest(parent="users/me", types=["heart_rate", "step\x00count"])
    assert list(fields(request)) == ["types[1]"]


def test_map_keys_and_values_are_checked():
    request = device_service_pb2.CreateDeviceRequest(parent="users/me")
    request.device.credentials.extra["region"] = "eu\x00"
    request.device.credentials.extra["k\x00"] = "fine"
    assert fields(request) == {
        "device.credentials.extra['k\\x00']": "the key must not contain NUL (U+0000)",
        "device.credentials.extra['region']": "must not contain NUL (U+0000)",
    }


def test_the_length_limit_comes_first_and_the_value_is_never_echoed():
    huge = "x" * 1_000_000 + "\x00"
    request = pb.CreateSampleRequest(parent="users/me")
    request.sample.type = huge
    with pytest.raises(InvalidArgument) as err:
        check(request)
    [v] = err.value.violations
    assert v.description == "must have at most 256 characters, got 1,000,001"
    assert len(err.value.message) < 200


def test_longer_text_only_where_the_table_allows_it():
    request = pb.CreateActivityRequest(parent="users/me")
    request.activity.notes = "n" * 4096
    request.activity.display_name = "d" * 257
    assert list(fields(request)) == ["activity.display_name"]
    request.activity.notes += "n"
    assert list(fields(request)) == ["activity.display_name", "activity.notes"]


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_violations_on_their_path(number):
    request = batch(3)
    request.samples[1].min = number
    assert list(fields(request)) == ["samples[1].min"]
    activity = activity_pb2.Activity(route=[activity_pb2.RoutePoint(latitude=52.5, vertical_accuracy_meters=number)])
    assert list(fields(pb.CreateActivityRequest(parent="users/me", activity=activity))) == [
        "activity.route[0].vertical_accuracy_meters"]
    sound = batch(2)
    sound.samples[0].value, sound.samples[1].value = -0.0, 1.7976931348623157e308
    assert violations(sound) == []  # finite, however odd: the domain's ranges decide


def test_unknown_enum_numbers_are_violations():
    request = pb.AggregateSamplesRequest(parent="users/me", type="step_count", interval=99)
    assert fields(request) == {"interval": "99 is not a known value"}
    view = pb.GetActivityRequest(name="users/me/activities/x", view=-3)
    assert list(fields(view)) == ["view"]


def test_negative_page_size_is_a_violation_zero_and_large_are_not():
    assert fields(pb.ListSampleTypesRequest(page_size=-1)) == {"page_size": "must not be negative"}
    assert fields(pb.ListSampleTypesRequest(page_size=0)) == {}
    assert fields(pb.ListSampleTypesRequest(page_size=5000)) == {}


@pytest.mark.parametrize("seconds, nanos, ok", [
    (SOUND_SECONDS, 0, True),
    (int((EARLIEST - request_checks._EPOCH).total_seconds()), 0, True),
    (int((EARLIEST - request_checks._EPOCH).total_seconds()) - 1, 0, False),
    (int((LATEST - request_checks._EPOCH).total_seconds()) - 1, 999_999_999, True),
    (int((LATEST - request_checks._EPOCH).total_seconds()), 0, False),
    (-62_135_596_800, 0, False),  # 0001-01-01
    (253_402_300_799, 0, False),  # 9999-12-31T23:59:59
    (SOUND_SECONDS, -1, False),
    (SOUND_SECONDS, 1_000_000_000, False),
])
def test_timestamps_lie_in_a_sane_range(seconds, nanos, ok):
    request = pb.AggregateSamplesRequest(parent="users/me", type="step_count")
    request.start_time.seconds, request.start_time.nanos = seconds, nanos
    assert (fields(request) == {}) is ok


def test_bytes_are_not_read_but_an_http_body_content_type_is():
    body = httpbody_pb2.HttpBody(content_type="application/json", data=b'{"a": "\x00"}' * 10_000)
    assert violations(body) == []
    assert list(fields(httpbody_pb2.HttpBody(content_type="a\x00"))) == ["content_type"]


def test_violations_stop_at_a_bound_on_a_huge_bad_batch():
    request = batch(10_000)
    for s in request.samples:
        s.source = "\x00"
    found = violations(request)
    assert len(found) == MAX_VIOLATIONS and found[-1].field == f"samples[{MAX_VIOLATIONS - 1}].source"


def test_what_to_walk_is_worked_out_once_per_message_type():
    plan = plan_of(pb.BatchCreateSamplesRequest.DESCRIPTOR)
    assert plan_of(pb.BatchCreateSamplesRequest.DESCRIPTOR) is plan
    samples = pb.BatchCreateSamplesRequest.DESCRIPTOR.fields_by_name["samples"]
    assert plan[samples].plan is plan_of(samples.message_type)  # shared, not copied per field
    # Integers are not looked at; doubles are (they must be finite), and so is a message of them.
    activity = plan_of(activity_pb2.Activity.DESCRIPTOR)
    assert activity_pb2.Activity.DESCRIPTOR.fields_by_name["steps"] not in activity
    assert activity_pb2.Activity.DESCRIPTOR.fields_by_name["heart_rate"] in activity
    assert activity_pb2.Activity.DESCRIPTOR.fields_by_name["distance_meters"] in activity
    assert activity_pb2.Activity.DESCRIPTOR.fields_by_name["route"] in activity  # its points have times


class _Handler:
    """What the wrapper needs of a grpc.RpcMethodHandler."""

    def __init__(self, streaming: bool) -> None:
        self.request_streaming, self.response_streaming = streaming, False
        self.request_deserializer = None
        self.seen: list = []
        self.unary_unary = self.stream_unary = None
        self.unary_stream = self.stream_stream = None
        if streaming:
            self.stream_unary = self._read_all
        else:
            self.unary_unary = lambda request, context: self.seen.append(request)

    async def _read_all(self, requests, context):
        async for r in requests:
            self.seen.append(r)

    def _replace(self, **kw):
        for k, val in kw.items():
            setattr(self, k, val)
        return self


def test_a_unary_request_is_checked_before_the_handler_runs():
    handler = request_checks.checked(_Handler(streaming=False))
    with pytest.raises(InvalidArgument):
        handler.unary_unary(pb.ListSamplesRequest(source="\x00"), None)
    assert handler.seen == []
    handler.unary_unary(pb.ListSamplesRequest(source="ok"), None)
    assert len(handler.seen) == 1


async def test_a_client_stream_is_checked_message_by_message_as_it_arrives():
    handler = request_checks.checked(_Handler(streaming=True))

    async def parts():
        yield httpbody_pb2.HttpBody(content_type="application/json", data=b"{")
        yield httpbody_pb2.HttpBody(content_type="\x00", data=b"}")
        raise AssertionError("read past the bad message")

    with pytest.raises(InvalidArgument) as err:
        await handler.stream_unary(parts(), None)
    assert [v.field for v in err.value.violations] == ["content_type"]
    assert len(handler.seen) == 1  # the first message reached the handler before the second was read


def test_a_real_grpc_handler_keeps_its_serializer_and_decodes_leniently():
    inner = grpc.unary_unary_rpc_method_handler(lambda r, c: r, pb.ListSamplesRequest.FromString,
                                                pb.ListSamplesResponse.SerializeToString)
    wrapped = request_checks.checked(inner)
    assert wrapped.response_serializer is inner.response_serializer
    with pytest.raises(InvalidArgument):
        wrapped.unary_unary(pb.ListSamplesRequest(type="\x00"), None)
    good = pb.ListSamplesRequest(type="heart_rate")
    assert wrapped.request_deserializer(good.SerializeToString()) == good
    # A string that is not UTF-8: protobuf cannot decode it, and the handler refuses it as the client's error.
    undecodable = wrapped.request_deserializer(b"\x12\x01\xff")
    with pytest.raises(InvalidArgument) as err:
        wrapped.unary_unary(undecodable, None)
    assert err.value.reason == "MALFORMED_REQUEST"
