"""The unknown-fields check in a real Envoy, for every shape of field a contract can have
(tests/fixtures/unknown_fields/shapes.proto: nested, repeated, maps of messages, oneofs, Struct,
Any, wrappers, a message that contains itself): the filters as render() puts them, with the mesh's
local reply config, in front of a route that answers 200 for whatever the check lets through."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from services.runner import envoy_config, unknown_fields
from tests.tools.compile_shapes import compile_shapes

ENVOY = Path(sys.executable).parent / "envoy"
THINGS = "/v1/owners/o1/things"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(descriptor: Path, port: int, admin_port: int) -> dict:
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "shapes",
        "local_reply_config": envoy_config._local_reply(),
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
            {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": {"inline_string": "passed"}}}]}]},
        "http_filters": [*unknown_fields.http_filters(envoy_config.MAX_REQUEST_BODY_BYTES, descriptor),
                         {"name": "envoy.filters.http.router", "typed_config": {
                             "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
    }
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {"listeners": [{
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                            "typed_config": hcm}]}]}]},
    }


@pytest.fixture(scope="module")
def envoy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("unknown-fields-envoy")
    port, admin_port = _free_port(), _free_port()
    config = tmp / "envoy.yaml"
    config.write_text(envoy_config.to_yaml(_config(compile_shapes(tmp), port, admin_port)))
    log = open(tmp / "envoy.log", "wb")
    proc = subprocess.Popen([str(ENVOY), "-c", str(config), "--base-id", str(port), "--log-level", "warn"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{admin_port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp / "envoy.log").read_text()[-3000:])
            time.sleep(0.1)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        lua_errors = [line for line in (tmp / "envoy.log").read_text().splitlines() if "[lua]" in line]
        assert not lua_errors, lua_errors[:5]  # never a script error, whatever the body


def post(envoy: httpx.Client, body: object, path: str = THINGS, method: str = "POST",
         content_type: str = "application/json") -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return envoy.request(method, path, content=content, headers={"content-type": content_type})


def unknown(reply: httpx.Response) -> list[str]:
    """The fields a rejection names, after checking it is our one error shape."""
    assert reply.status_code == 400, reply.text
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == 3
    [info] = [d for d in body["details"] if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"]
    assert (info["reason"], info["domain"]) == ("UNKNOWN_FIELD", envoy_config.GATEWAY_DOMAIN)
    [bad] = [d for d in body["details"] if d["@type"] == "type.googleapis.com/google.rpc.BadRequest"]
    violations = bad["fieldViolations"]
    assert all(v["reason"] == "UNKNOWN_FIELD" and v["description"] for v in violations)
    assert body["message"].startswith(f"{violations[0]['field']}: ")
    if len(violations) == 1:
        assert info["metadata"] == {"field": violations[0]["field"]}
    return [v["field"] for v in violations]


def passed(reply: httpx.Response) -> bool:
    return reply.status_code == 200 and reply.text == "passed"


def test_an_unknown_field_at_the_top_is_named_with_the_body_field(envoy):
    reply = post(envoy, {"displayName": "a", "dispalyName": "b"})
    assert unknown(reply) == ["thing.dispalyName"]
    assert 'did you mean \\"displayName\\"' in reply.text


def test_nested_repeated_and_map_values_are_checked_at_their_paths(envoy):
    thing = {"mainPart": {"labl": "x"},
             "parts": [{"label": "a"}, {"label": "b", "points": [{"x": 1, "z": 2}]}],
             "partsByKey": {"left": {"label": "l"}, "right": {"weightGram": 3}}}
    assert unknown(post(envoy, thing)) == ["thing.mainPart.labl", "thing.parts[1].points[0].z",
                                           'thing.partsByKey["right"].weightGram']


def test_a_body_of_the_whole_request_is_named_from_its_root(envoy):
    body = {"parent": "owners/o1", "things": [{"name": "a"}, {"nmae": "b"}], "requestIdd": "r"}
    assert unknown(post(envoy, body, f"{THINGS}:import")) == ["things[1].nmae", "requestIdd"]


def test_every_unknown_field_is_named_at_once(envoy):
    assert unknown(post(envoy, {"a": 1, "b": {"c": 2}, "displayName": "x", "d": [3]})) == [
        "thing.a", "thing.b", "thing.d"]


def test_a_valid_body_passes_in_json_names_proto_names_or_both(envoy):
    thing = {"name": "owners/o1/things/t1", "display_name": "a", "oddName": 3, "weird": 4,
             "main_part": {"label": "m", "weight_grams": 2, "points": []}, "parts": [{"weightGrams": 1}],
             "parts_by_key": {"k": {"label": "v"}, "n": None}, "labels": {"any key": "v", "": ""},
             "tags": ["a", "b"], "startTime": "2026-03-01T08:00:00Z", "length": "3s", "mask": "a,b.c",
             "count": 5, "circle": {"radius_meters": 2}, "parentThing": {"parent_thing": {"name": "x"}},
             "nothing": {}, "kind": "KIND_BIG", "extra": None}
    assert passed(post(envoy, thing))
    assert passed(post(envoy, thing, f"{THINGS}/t1?updateMask=displayName", method="PATCH"))


def test_struct_value_and_any_take_anything(envoy):
    thing = {"extra": {"anything": {"at": [1, {"all": None}]}, "x": "y"},
             "anything": [{"deep": {"deeper": [[], {}]}}, 2, "three", True],
             "payload": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1s"}}
    assert passed(post(envoy, thing))


def test_keys_are_read_as_the_json_parser_reads_them(envoy):
    assert passed(post(envoy, b'{"displ\\u0061yName": "x", "main\\u005fpart": {}}'))
    assert unknown(post(envoy, b'{"caf\\u00e9": 1, "\\ud83d\\ude00": 2, "q\\"uote": 3}')) == [
        "thing.caf\u00e9", "thing.\U0001f600", 'thing.q"uote']


def test_a_key_that_is_no_utf8_still_gets_a_json_answer(envoy):
    assert unknown(post(envoy, b'{"bad\xff\xfekey": 1}')) == ["thing.bad\ufffd\ufffdkey"]


def test_more_than_a_hundred_unknown_fields_are_capped(envoy):
    reply = post(envoy, {f"f{i}": i for i in range(150)})
    assert len(unknown(reply)) == 100
    assert reply.json()["message"].endswith("(and 50 more problems)")


def test_hints_are_for_the_first_ten_short_keys(envoy):
    reply = post(envoy, {f"displayNam{i}": i for i in range(12)} | {"displayNameeeeeeeeeeeeeeeeeeeeeeeeeee": 1})
    descriptions = [v["description"] for v in reply.json()["details"][1]["fieldViolations"]]
    assert ["did you mean" in d for d in descriptions] == [True] * 10 + [False] * 3


def test_a_long_key_is_cut_in_the_answer(envoy):
    [field] = unknown(post(envoy, {"k" * 5000: 1}))
    assert field == "thing." + "k" * 40 + "..."


@pytest.mark.parametrize("body", [
    b'{"displayName": ', b"[]", b'"text"', b"", b"   ", b'{"a" 1}', b'{"thing": [}',
    b"{" + b'"parentThing": {' * 100 + b"}" * 101,  # deeper than the check reads: the transcoder's
])
def test_what_is_not_json_the_check_reads_goes_on_to_the_transcoder(envoy, body):
    assert passed(post(envoy, body))


def test_an_unknown_field_deep_inside_a_struct_is_not_ours_to_judge(envoy):
    nested = b'{"extra": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    assert passed(post(envoy, nested))


def test_a_body_over_a_megabyte_is_checked_whole(envoy):
    parts = [{"label": "p" * 20, "weightGrams": i, "points": [{"x": i, "y": i}]} for i in range(40000)]
    assert len(json.dumps(parts)) > 3_000_000
    assert passed(post(envoy, {"parts": parts}))
    parts[-1]["points"][0]["zz"] = 1
    assert unknown(post(envoy, {"parts": parts})) == ["thing.parts[39999].points[0].zz"]


def test_calls_without_a_message_body_are_not_read(envoy):
    assert passed(post(envoy, {"bogus": 1}, f"{THINGS}/t1", method="GET"))
    assert passed(post(envoy, b'{"bogus": 1}', "/v1/uploads"))  # HttpBody: raw bytes, any shape
    assert passed(post(envoy, b'{"bogus": 1}', "/v1/owners/o1/things/t1:attach"))
    assert passed(post(envoy, b'{"bogus": 1}', "/v1/internal:purge"))
    grpc = post(envoy, b'{"bogus": 1}', THINGS, content_type="application/grpc")  # not transcoded
    assert grpc.status_code == 200 and "UNKNOWN_FIELD" not in grpc.text


def test_a_query_string_does_not_hide_the_route(envoy):
    assert unknown(post(envoy, {"bogus": 1}, f"{THINGS}?x=1")) == ["thing.bogus"]
