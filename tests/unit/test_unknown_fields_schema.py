"""The tables the unknown-fields check reads (services/runner/unknown_fields.py), generated from a
descriptor set: which keys each body message accepts, which REST routes carry a message body, and
how their paths are matched."""

from __future__ import annotations

import re

import pytest
from google.protobuf import descriptor_pb2

from services.common.contract import DESCRIPTOR_SET, methods
from services.runner import unknown_fields
from services.runner.unknown_fields import LEAF, MAP, MESSAGE, REPEATED, Field
from tests.tools.compile_shapes import compile_shapes


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> unknown_fields.Schema:
    path = compile_shapes(tmp_path_factory.mktemp("shapes"))
    return unknown_fields.build(descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes()))


def test_each_field_is_accepted_by_its_proto_name_json_name_and_lower_camel(shapes):
    thing = shapes.messages["shapes.v1.Thing"]
    assert thing["displayName"] == thing["display_name"] == Field(LEAF)
    assert {"weird", "oddName"} <= set(thing)  # a custom json_name, and the proto name
    assert not any(key.startswith("@") for key in thing)


def test_nested_repeated_and_map_fields_point_at_their_messages(shapes):
    thing = shapes.messages["shapes.v1.Thing"]
    assert thing["mainPart"] == Field(MESSAGE, "shapes.v1.Part")
    assert thing["parts"] == Field(REPEATED, "shapes.v1.Part")
    assert thing["partsByKey"] == Field(MAP, "shapes.v1.Part")
    assert thing["labels"] == thing["tags"] == Field(LEAF)  # scalars: any key of a map, any element
    assert thing["parentThing"] == Field(MESSAGE, "shapes.v1.Thing")  # a message that contains itself
    assert shapes.messages["shapes.v1.Part"]["points"] == Field(REPEATED, "shapes.v1.Point")


def test_oneof_members_are_plain_fields(shapes):
    thing = shapes.messages["shapes.v1.Thing"]
    assert thing["circle"] == Field(MESSAGE, "shapes.v1.Circle") and thing["side"] == Field(LEAF)


@pytest.mark.parametrize("key", ["startTime", "length", "mask", "extra", "anything", "payload", "count"])
def test_well_known_types_take_any_value(shapes, key):
    # Timestamp, Duration and FieldMask are strings, Struct/Value/Any anything, a wrapper its scalar:
    # what they hold is the transcoder's to judge.
    assert shapes.messages["shapes.v1.Thing"][key] == Field(LEAF)


def test_empty_is_a_message_without_fields(shapes):
    assert shapes.messages["shapes.v1.Thing"]["nothing"] == Field(MESSAGE, "google.protobuf.Empty")
    assert shapes.messages["google.protobuf.Empty"] == {}


def test_only_routes_with_a_message_body_are_checked(shapes):
    checked = {(r.method.rsplit(".", 1)[1], r.message, r.prefix) for r in shapes.routes}
    assert checked == {("CreateThing", "shapes.v1.Thing", "thing"), ("UpdateThing", "shapes.v1.Thing", "thing"),
                       ("ImportThings", "shapes.v1.ImportThingsRequest", "")}
    # Left out: GetThing (no body), Upload (a stream of HttpBody), Attach (an HttpBody field),
    # Rename (a wrapper as the body), the internal service's Purge (no REST route on the public listener).


def test_only_the_messages_the_bodies_reach_are_in_the_tables(shapes):
    assert set(shapes.messages) == {"shapes.v1.Thing", "shapes.v1.Part", "shapes.v1.Point", "shapes.v1.Circle",
                                    "shapes.v1.ImportThingsRequest", "google.protobuf.Empty"}


def _lua_to_regex(pattern: str) -> str:
    return re.sub(r"%(\W)", lambda m: re.escape(m.group(1)), pattern)


def test_route_patterns_match_as_the_transcoder_does():
    pattern = unknown_fields.lua_pattern("/v1/{parent=users/*}/samples:batchCreate")
    assert pattern == "^/v1/users/[^/]+/samples%:batchCreate$"
    regex = _lua_to_regex(pattern)
    assert re.search(regex, "/v1/users/me/samples:batchCreate")
    assert not re.search(regex, "/v1/users/me/samples") and not re.search(regex, "/v1/users/a/b/samples:batchCreate")
    assert unknown_fields.lua_pattern("/v1/{name=users/*/devices/*}:sync") == "^/v1/users/[^/]+/devices/[^/]+%:sync$"
    assert unknown_fields.lua_pattern("/v1/{name}") == "^/v1/[^/]+$"
    assert unknown_fields.lua_pattern("/v1/{path=files/**}") == "^/v1/files/.*$"
    envoy_regex = unknown_fields.path_regex(["/v1/auth:login", "/v1/{parent=users/*}/samples"])
    assert re.search(envoy_regex, "/v1/users/me/samples?x=1") and re.search(envoy_regex, "/v1/auth:login")
    assert not re.search(envoy_regex, "/v1/users/me/samples:batchCreate")


def test_every_message_body_route_of_the_contracts_is_checked_and_no_upload():
    schema = unknown_fields._schema(DESCRIPTOR_SET)
    checked = {r.method.rsplit(".", 1)[1] for r in schema.routes}
    with_body = {m.name for m in methods() if not m.internal and m.http_body and not m.client_streaming}
    assert checked == with_body
    assert not {"IngestHealthAutoExport", "UploadAppleHealthExport"} & checked
    assert not {m.name for m in methods() if m.client_streaming} & checked


def test_the_first_route_to_match_a_path_is_its_own():
    # Routes are tried in order: a path must never be taken by another RPC's more general template.
    schema = unknown_fields._schema(DESCRIPTOR_SET)
    for route in schema.routes:
        path = re.sub(r"\{[^=}]+(?:=([^}]*))?\}", lambda m: (m.group(1) or "*").replace("*", "x1"), route.template)
        first = next(r for r in schema.routes if r.verb == route.verb
                     and re.search(_lua_to_regex(unknown_fields.lua_pattern(r.template)), path))
        assert first == route, (path, first.method)


def test_the_lua_tables_name_each_message_and_route():
    source = unknown_fields.lua_source()
    assert source.startswith("-- Generated by services/runner/unknown_fields.py")
    assert '"healthmesh.tracking.v1.Sample",' in source
    assert '{ "^/v1/users/[^/]+/samples$", ' in source and "-- healthmesh.tracking.v1.TrackingService.CreateSample" in source
    assert "function envoy_on_request(handle)" in source
    assert not [line for line in source.splitlines() if line != line.rstrip()]  # a literal block in YAML


def test_the_filters_sit_just_before_the_transcoder_and_the_reply_passes_as_written():
    from services.runner import envoy_config
    config = envoy_config.render(envoy_config.DOCKER_TOPOLOGY)
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    names = [f["name"] for f in hcm["http_filters"]]
    at = names.index(envoy_config.TRANSCODER_FILTER)
    assert names[at - 2:at] == ["healthmesh.unknown_fields.buffer", unknown_fields.LUA_FILTER]
    buffer = hcm["http_filters"][at - 2]["typed_config"]["extension_config"]["typed_config"]
    assert buffer["max_request_bytes"] == envoy_config.MAX_REQUEST_BODY_BYTES
    first = hcm["local_reply_config"]["mappers"][0]
    assert first == unknown_fields.local_reply_mapper() and set(first) == {"filter"}  # no rewrite of the body
