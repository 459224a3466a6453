"""Unknown fields in REST bodies are refused at Envoy, before the gRPC-JSON transcoder.

The transcoder drops a JSON key its message does not have (Envoy has no option to refuse it), so a
typo passed as a missing value. A Lua filter (unknown_fields.lua, Envoy's built-in Lua) runs just
before it: for a call whose REST route carries a message body, it scans the body against that
message's fields and answers INVALID_ARGUMENT (HTTP 400) with a BadRequest violation per unknown
key, at its JSON path as the client wrote it (`sample.vaule`, `samples[3].unitt`), domain
gateway.healthmesh, reason UNKNOWN_FIELD. What it accepts is what the transcoder accepts: for each
field its proto name, its json_name and the lowerCamel of its name; any key in a map, each value
checked when it is a message; a well-known type (Timestamp, Duration, FieldMask, wrappers, Struct,
Value, Any, ...) takes any value. Routes whose body is google.api.HttpBody or a stream (the ingest
uploads) are never read. The tables the Lua code reads are generated here, at mesh start, from the
descriptor set; render() puts the result inline into Envoy's config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from google.protobuf import descriptor_pb2

from services.common.contract import DESCRIPTOR_SET, _http_rule

LUA_SCANNER = Path(__file__).with_name("unknown_fields.lua")
LUA_FILTER = "envoy.filters.http.lua"
# Where the filter notes a rejection, so the local reply config passes its answer through as written.
METADATA_NAMESPACE = "healthmesh.unknown_fields"
HTTP_BODY = "google.api.HttpBody"
# Messages whose JSON form is not an object of their fields: any value goes, the transcoder judges it.
ANY_VALUE = {f"google.protobuf.{name}" for name in (
    "Timestamp", "Duration", "FieldMask", "Struct", "Value", "ListValue", "Any", "NullValue",
    "DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value", "UInt32Value", "BoolValue",
    "StringValue", "BytesValue")}

LEAF, MESSAGE, REPEATED, MAP = "leaf", "message", "repeated", "map"


@dataclass(frozen=True)
class Field:
    kind: str  # LEAF: any value; MESSAGE, REPEATED (of messages), MAP (to messages): `message` checked
    message: str = ""


@dataclass(frozen=True)
class BodyRoute:
    method: str  # healthmesh.tracking.v1.TrackingService.CreateSample
    verb: str  # POST
    template: str  # /v1/{parent=users/*}/samples
    message: str  # the body's message: healthmesh.tracking.v1.Sample
    prefix: str  # the body field's JSON name (`sample`), "" for body "*"


@dataclass(frozen=True)
class Schema:
    messages: dict[str, dict[str, Field]]  # full name -> every key the transcoder accepts -> field
    routes: list[BodyRoute]  # in the order they are tried, per verb


def _camel(name: str) -> str:
    """protoc's default json_name: each underscore dropped and the letter after it upper-cased."""
    return re.sub(r"_+([^_])", lambda m: m.group(1).upper(), name)


class _Types:
    def __init__(self, files: descriptor_pb2.FileDescriptorSet) -> None:
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        for f in files.file:
            self._add(f.package, f.message_type)

    def _add(self, scope: str, messages) -> None:
        for m in messages:
            name = f"{scope}.{m.name}" if scope else m.name
            self.messages[name] = m
            self._add(name, m.nested_type)

    def field(self, fd: descriptor_pb2.FieldDescriptorProto) -> Field:
        if fd.type not in (fd.TYPE_MESSAGE, fd.TYPE_GROUP):
            return Field(LEAF)
        name = fd.type_name.lstrip(".")
        if name in ANY_VALUE:
            return Field(LEAF)
        entry = self.messages[name]
        if entry.options.map_entry:
            value = entry.field[1]
            if value.type != value.TYPE_MESSAGE or value.type_name.lstrip(".") in ANY_VALUE:
                return Field(LEAF)  # any key, any scalar: the transcoder checks the values' kinds
            return Field(MAP, value.type_name.lstrip("."))
        return Field(REPEATED if fd.label == fd.LABEL_REPEATED else MESSAGE, name)


def _segments(template: str) -> tuple[list[str], str]:
    """`/v1/{parent=users/*}/samples:batchCreate` -> (["v1", "users", "*", "samples"], "batchCreate")."""
    verb = ""
    colon = template.rfind(":")
    if colon > max(template.rfind("/"), template.rfind("}")):
        template, verb = template[:colon], template[colon + 1:]
    expanded = re.sub(r"\{[^=}]+(?:=([^}]*))?\}", lambda m: m.group(1) or "*", template)
    return expanded.strip("/").split("/"), verb


def _path_pattern(template: str, literal) -> str:
    segments, verb = _segments(template)
    parts = ["[^/]+" if s == "*" else ".*" if s == "**" else literal(s) for s in segments]
    return "/" + "/".join(parts) + (literal(":" + verb) if verb else "")


def lua_pattern(template: str) -> str:
    """The Lua pattern matching the request paths of a google.api.http template, as the transcoder
    matches them: `*` one segment, `**` any number of them, literals as they are."""
    return "^" + _path_pattern(template, lambda text: re.sub(r"(\W)", r"%\1", text)) + "$"


def path_regex(templates: list[str]) -> str:
    """The same paths as an RE2 regex for Envoy's matchers, a query string allowed."""
    return "^(?:" + "|".join(_path_pattern(t, re.escape) for t in templates) + r")(?:\?.*)?$"


def _precedence(route: BodyRoute) -> tuple:
    """A route with a custom verb before one without; then literal segments before variables, at each
    position from the left, as the transcoder's path matcher prefers them."""
    segments, verb = _segments(route.template)
    return (not verb, [s in ("*", "**") for s in segments], route.template)


def build(files: descriptor_pb2.FileDescriptorSet) -> Schema:
    types = _Types(files)
    routes: list[BodyRoute] = []
    for f in files.file:
        for service in f.service:
            if service.name.endswith("InternalService"):
                continue
            for m in service.method:
                verb, template, body = _http_rule(m.options)
                if not body or m.client_streaming:  # no body, or a stream that must flow unbuffered
                    continue
                message, prefix = m.input_type.lstrip("."), ""
                if body != "*":
                    field = next(fd for fd in types.messages[message].field if fd.name == body)
                    target = types.field(field)
                    if target.kind != MESSAGE:
                        continue  # a scalar or a well-known type: nothing to check
                    message, prefix = target.message, field.json_name or _camel(field.name)
                if message == HTTP_BODY:
                    continue
                routes.append(BodyRoute(f"{f.package}.{service.name}.{m.name}", verb, template, message, prefix))
    routes.sort(key=lambda r: (r.verb, _precedence(r)))
    messages: dict[str, dict[str, Field]] = {}
    pending = sorted({r.message for r in routes})
    while pending:
        name = pending.pop()
        if name in messages:
            continue
        fields: dict[str, Field] = {}
        for fd in types.messages[name].field:
            spec = types.field(fd)
            for key in (fd.name, fd.json_name or _camel(fd.name), _camel(fd.name)):
                fields[key] = spec
            if spec.kind != LEAF and spec.message not in messages:
                pending.append(spec.message)
        messages[name] = fields
    return Schema(dict(sorted(messages.items())), routes)


def _lua_string(text: str) -> str:
    return '"' + "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else
                         "".join(f"\\{b}" for b in c.encode()) for c in text) + '"'


def lua_tables(schema: Schema) -> str:
    index = {name: i for i, name in enumerate(schema.messages, start=1)}
    kinds = {MESSAGE: 1, REPEATED: 2, MAP: 3}
    lines = ["-- Generated by services/runner/unknown_fields.py from the descriptor set.", "MESSAGES = {"]
    for name, fields in schema.messages.items():
        entries = [f"[{_lua_string(k)}] = " + ("0" if f.kind == LEAF else f"{{{index[f.message]}, {kinds[f.kind]}}}")
                   for k, f in sorted(fields.items())]
        lines.append(f"  {{  -- {index[name]} {name}")
        line = ""
        for entry in entries:  # a few entries a line, none cut
            if line and len(line) + len(entry) > 106:
                lines.append("    " + line.rstrip())
                line = ""
            line += entry + ", "
        if line:
            lines.append("    " + line.rstrip())
        lines.append("  },")
    lines.append("}")
    lines.append("NAMES = {")
    lines += [f"  {_lua_string(n)}," for n in schema.messages]
    lines.append("}")
    lines.append("ROUTES = {")
    for verb in sorted({r.verb for r in schema.routes}):
        lines.append(f"  {verb} = {{")
        for r in (r for r in schema.routes if r.verb == verb):
            lines.append(f"    {{ {_lua_string(lua_pattern(r.template))}, {index[r.message]}, "
                         f"{_lua_string(r.prefix)} }},  -- {r.method}")
        lines.append("  },")
    lines.append("}")
    return "\n".join(lines) + "\n"


@cache
def _schema(descriptor: Path) -> Schema:
    return build(descriptor_pb2.FileDescriptorSet.FromString(descriptor.read_bytes()))


def lua_source(descriptor: Path = DESCRIPTOR_SET) -> str:
    return lua_tables(_schema(descriptor)) + "\n" + LUA_SCANNER.read_text()


def _header_input(name: str) -> dict:
    return {"name": name, "typed_config": {
        "@type": "type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput", "header_name": name}}


def _checked_calls(routes: list[BodyRoute]) -> dict:
    """A matcher predicate: the call is one whose body the Lua filter reads."""
    per_verb = [{"and_matcher": {"predicate": [
        {"single_predicate": {"input": _header_input(":method"), "value_match": {"exact": verb}}},
        {"single_predicate": {"input": _header_input(":path"), "value_match": {"safe_regex": {
            "google_re2": {}, "regex": path_regex([r.template for r in routes if r.verb == verb])}}}}]}}
        for verb in sorted({r.verb for r in routes})]
    return per_verb[0] if len(per_verb) == 1 else {"or_matcher": {"predicate": per_verb}}


def http_filters(max_body_bytes: int, descriptor: Path = DESCRIPTOR_SET) -> list[dict]:
    """The filters to go just before the transcoder. Lua can only answer a call whose body it holds
    whole, and holds at most the connection's buffer (1 MiB); a buffer filter before it raises that
    to the body cap. Both apply to the checked calls only: every other call (gRPC, uploads, bodiless
    calls such as the GETs that are most of an app's traffic) skips both, Lua's run included."""
    routes = _schema(descriptor).routes
    skip_unchecked = {"matcher_list": {"matchers": [{"predicate": {"not_matcher": _checked_calls(routes)}, "on_match": {
        "action": {"name": "skip", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.common.matcher.action.v3.SkipFilter"}}}}]}}

    def for_checked_calls(name: str, extension: dict) -> dict:
        return {"name": name, "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.common.matching.v3.ExtensionWithMatcher",
            "xds_matcher": skip_unchecked, "extension_config": extension}}

    buffer = for_checked_calls("healthmesh.unknown_fields.buffer", {"name": "envoy.filters.http.buffer", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer", "max_request_bytes": max_body_bytes}})
    lua = for_checked_calls(LUA_FILTER, {"name": "envoy.filters.http.lua", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
        "default_source_code": {"inline_string": lua_source(descriptor)}}})
    return [buffer, lua]


def local_reply_mapper() -> dict:
    """First among the local reply mappers: the filter's answer is already the error shape; as it is
    a 400 like a broken body's, it is told apart by the metadata the filter sets."""
    return {"filter": {"metadata_filter": {
        "matcher": {"filter": METADATA_NAMESPACE, "path": [{"key": "rejected"}], "value": {"bool_match": True}},
        "match_if_key_not_found": False}}}
