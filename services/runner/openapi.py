"""The OpenAPI 3.1 document of the REST surface that Envoy transcodes, made from the descriptor set.

`python -m services.runner.openapi [DESCRIPTOR_SET] [OUT]` writes it (`make gen` writes
gen/openapi.json, and `make gen-check` fails when that is stale). Envoy serves it at
/v1/openapi.json and a Swagger UI page at /docs.

Written here rather than taken from a generator: gnostic's protoc-gen-openapi writes OpenAPI 3.0
and grpc-gateway's protoc-gen-openapiv2 Swagger 2.0; both are Go binaries that no registry this
project installs from ships (Debian has only grpc-gateway 1.6's protoc-gen-swagger, from 2018).

What the document says follows what Envoy's transcoder does with our print options:
- paths and parameters from the google.api.http rules: each `*` of a path template is a parameter
  named after its collection (`users/*/samples/*` is /v1/users/{user}/samples/{sample}); the
  fields that neither the path nor the body take are query parameters, nested ones dotted;
- schemas per the proto3 JSON mapping: lowerCamel names, 64-bit integers as strings, enums as their
  names, Timestamp as an RFC 3339 date-time, Duration as `"1.5s"`, FieldMask as a comma-separated
  string, Empty as `{}`, a oneof as at most one of its fields, maps as objects;
- field behaviours: REQUIRED fields are `required`, OUTPUT_ONLY ones `readOnly`, INPUT_ONLY ones
  `writeOnly`;
- descriptions from the proto comments (the descriptor set keeps source info);
- errors as google.rpc.Status with the HTTP status of each code that the method's comment lists
  under "Errors:", plus 400, 401 and 403 where every call can get them;
- bearer auth on every operation but the ones a service's ServiceSpec lets anonymous callers make;
- a server stream is one JSON array of its messages; a stream of google.api.HttpBody is the raw
  request body.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from google.api import annotations_pb2, field_behavior_pb2, http_pb2  # noqa: F401  (register extensions)
from google.protobuf import descriptor_pb2

from services.runner.envoy_config import MAX_REQUEST_BODY_BYTES

REPO = Path(__file__).resolve().parents[2]
DESCRIPTOR_SET = REPO / "gen" / "healthmesh.binpb"
OPENAPI = REPO / "gen" / "openapi.json"
SERVICES = ("auth", "tracking", "device", "ingest", "insight")

FDP = descriptor_pb2.FieldDescriptorProto
STATUS = "google.rpc.Status"
HTTP_BODY = "google.api.HttpBody"

# gRPC code -> the HTTP status Envoy's transcoder answers with (convert_grpc_status).
HTTP_STATUS = {
    "CANCELLED": 499, "UNKNOWN": 500, "INVALID_ARGUMENT": 400, "DEADLINE_EXCEEDED": 504, "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409, "PERMISSION_DENIED": 403, "RESOURCE_EXHAUSTED": 429, "FAILED_PRECONDITION": 400,
    "ABORTED": 409, "OUT_OF_RANGE": 400, "UNIMPLEMENTED": 501, "INTERNAL": 500, "UNAVAILABLE": 503,
    "DATA_LOSS": 500, "UNAUTHENTICATED": 401,
}
_CODES = re.compile(r"\b(" + "|".join(HTTP_STATUS) + r")\b")

_SCALARS = {
    FDP.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FDP.TYPE_FLOAT: {"type": "number", "format": "float"},
    FDP.TYPE_INT32: {"type": "integer", "format": "int32"},
    FDP.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FDP.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FDP.TYPE_UINT32: {"type": "integer", "format": "uint32", "minimum": 0},
    FDP.TYPE_FIXED32: {"type": "integer", "format": "uint32", "minimum": 0},
    # proto3 JSON prints 64-bit integers as strings (JavaScript numbers lose precision past 2^53).
    FDP.TYPE_INT64: {"type": "string", "format": "int64", "pattern": r"^-?[0-9]+$"},
    FDP.TYPE_SINT64: {"type": "string", "format": "int64", "pattern": r"^-?[0-9]+$"},
    FDP.TYPE_SFIXED64: {"type": "string", "format": "int64", "pattern": r"^-?[0-9]+$"},
    FDP.TYPE_UINT64: {"type": "string", "format": "uint64", "pattern": r"^[0-9]+$"},
    FDP.TYPE_FIXED64: {"type": "string", "format": "uint64", "pattern": r"^[0-9]+$"},
    FDP.TYPE_BOOL: {"type": "boolean"},
    FDP.TYPE_STRING: {"type": "string"},
    FDP.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
}

_WRAPPERS = {
    "DoubleValue": FDP.TYPE_DOUBLE, "FloatValue": FDP.TYPE_FLOAT, "Int64Value": FDP.TYPE_INT64,
    "UInt64Value": FDP.TYPE_UINT64, "Int32Value": FDP.TYPE_INT32, "UInt32Value": FDP.TYPE_UINT32,
    "BoolValue": FDP.TYPE_BOOL, "StringValue": FDP.TYPE_STRING, "BytesValue": FDP.TYPE_BYTES,
}

# Well-known types have a JSON form of their own, written inline where they are used.
_WELL_KNOWN = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time",
                                  "description": "An RFC 3339 time, e.g. `2026-03-01T08:00:00+01:00`."},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$",
                                 "description": "Seconds with an `s` suffix, e.g. `1.5s`."},
    "google.protobuf.FieldMask": {"type": "string",
                                  "description": "Field paths in lowerCamel, separated by commas, "
                                                 "e.g. `displayName,timeZone`."},
    "google.protobuf.Empty": {"type": "object", "maxProperties": 0, "description": "An empty JSON object."},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Any": {"type": "object", "required": ["@type"], "additionalProperties": True,
                            "properties": {"@type": {"type": "string", "description": "The message's type URL, "
                                                     "e.g. `type.googleapis.com/google.rpc.ErrorInfo`."}},
                            "description": "A message of the type `@type` names, with that message's fields "
                                           "beside `@type`."},
    **{f"google.protobuf.{name}": dict(_SCALARS[kind]) for name, kind in _WRAPPERS.items()},
}

_RAW_BODY = {"*/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}


def _comment(location: descriptor_pb2.SourceCodeInfo.Location) -> str:
    text = "\n".join(part for part in (location.leading_comments, location.trailing_comments) if part.strip())
    lines = [line[1:] if line.startswith(" ") else line for line in text.splitlines()]
    return "\n".join(line.rstrip() for line in lines).strip()


@dataclass
class _Message:
    proto: descriptor_pb2.DescriptorProto
    comment: str
    field_comments: dict[str, str]
    oneof_comments: list[str]


@dataclass
class _Method:
    service: str  # AuthService
    service_full_name: str
    proto: descriptor_pb2.MethodDescriptorProto
    comment: str
    rule: http_pb2.HttpRule


@dataclass
class _Descriptors:
    messages: dict[str, _Message] = field(default_factory=dict)  # full name without the leading dot
    enums: dict[str, tuple[descriptor_pb2.EnumDescriptorProto, str, dict[str, str]]] = field(default_factory=dict)
    services: dict[str, str] = field(default_factory=dict)  # service full name -> comment
    methods: list[_Method] = field(default_factory=list)


def _index(files: descriptor_pb2.FileDescriptorSet) -> _Descriptors:
    found = _Descriptors()
    for f in files.file:
        comments = {tuple(loc.path): _comment(loc) for loc in f.source_code_info.location}

        def add_enum(enum, scope: str, path: tuple[int, ...]) -> None:
            values = {v.name: comments.get((*path, 2, i), "") for i, v in enumerate(enum.value)}
            found.enums[f"{scope}.{enum.name}"] = (enum, comments.get(path, ""), values)

        def add_message(msg, scope: str, path: tuple[int, ...]) -> None:
            name = f"{scope}.{msg.name}"
            found.messages[name] = _Message(
                msg, comments.get(path, ""),
                {fd.name: comments.get((*path, 2, i), "") for i, fd in enumerate(msg.field)},
                [comments.get((*path, 8, i), "") for i in range(len(msg.oneof_decl))])
            for i, nested in enumerate(msg.nested_type):
                add_message(nested, name, (*path, 3, i))
            for i, enum in enumerate(msg.enum_type):
                add_enum(enum, name, (*path, 4, i))

        for i, msg in enumerate(f.message_type):
            add_message(msg, f.package, (4, i))
        for i, enum in enumerate(f.enum_type):
            add_enum(enum, f.package, (5, i))
        if not f.package.startswith("healthmesh."):
            continue
        for i, service in enumerate(f.service):
            full = f"{f.package}.{service.name}"
            found.services[full] = comments.get((6, i), "")
            for j, m in enumerate(service.method):
                if service.name.endswith("InternalService") or not m.options.HasExtension(annotations_pb2.http):
                    continue
                rule = m.options.Extensions[annotations_pb2.http]
                if rule.WhichOneof("pattern") in (None, "custom"):
                    continue
                found.methods.append(_Method(service.name, full, m, comments.get((6, i, 2, j), ""), rule))
    return found


def anonymous_methods() -> frozenset[str]:
    """The full method paths callable without credentials, as the services' own specs say."""
    paths: set[str] = set()
    for name in SERVICES:
        paths |= importlib.import_module(f"services.{name}.app").SPEC.anonymous_methods
    return frozenset(paths)


def _json_name(fd: descriptor_pb2.FieldDescriptorProto) -> str:
    if fd.json_name:
        return fd.json_name
    head, *rest = fd.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _behaviours(fd: descriptor_pb2.FieldDescriptorProto) -> set[str]:
    values = fd.options.Extensions[field_behavior_pb2.field_behavior]
    return {field_behavior_pb2.FieldBehavior.Name(v) for v in values}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _singular(collection: str) -> str:
    if collection.endswith("ies"):
        return collection[:-3] + "y"
    return collection[:-1] if collection.endswith("s") else collection


@dataclass(frozen=True)
class _PathVariable:
    field_path: str  # proto field path, e.g. device.name
    pattern: str  # users/*/devices/*
    params: tuple[str, ...]  # the OpenAPI parameters its wildcards became: user, device


def _openapi_path(template: str) -> tuple[str, list[_PathVariable]]:
    """`/v1/{name=users/*/samples/*}:x` -> `/v1/users/{user}/samples/{sample}:x` and its variables."""
    variables: list[_PathVariable] = []

    def expand(match: re.Match) -> str:
        field_path, _, pattern = match.group(1).partition("=")
        pattern = pattern or "*"
        segments, params, previous = [], [], None
        for segment in pattern.split("/"):
            if segment in ("*", "**"):
                # Named after its collection; a wildcard that none precedes, after the field.
                param = _singular(previous) if previous else field_path.split(".")[-1]
                params.append(param)
                segments.append("{" + param + "}")
            else:
                segments.append(segment)
                previous = segment
        variables.append(_PathVariable(field_path, pattern, tuple(params)))
        return "/".join(segments)

    return re.sub(r"\{([^}]+)\}", expand, template), variables


class _Generator:
    def __init__(self, descriptors: _Descriptors, anonymous: frozenset[str]) -> None:
        self.d = descriptors
        self.anonymous = anonymous
        self.schemas: dict[str, dict] = {}
        self.error_responses: dict[str, list[str]] = {}  # component name -> the gRPC codes it stands for

    # Schemas ---------------------------------------------------------------------------------

    def _type_schema(self, fd: descriptor_pb2.FieldDescriptorProto) -> dict:
        if fd.type == FDP.TYPE_ENUM:
            name = fd.type_name.lstrip(".")
            self._enum(name)
            return _ref(name)
        if fd.type in (FDP.TYPE_MESSAGE, FDP.TYPE_GROUP):
            return self._message_ref(fd.type_name.lstrip("."))
        return dict(_SCALARS[fd.type])

    def _message_ref(self, name: str) -> dict:
        if name in _WELL_KNOWN:
            return json.loads(json.dumps(_WELL_KNOWN[name]))
        self._message(name)
        return _ref(name)

    def _map_entry(self, fd: descriptor_pb2.FieldDescriptorProto) -> descriptor_pb2.DescriptorProto | None:
        if fd.type != FDP.TYPE_MESSAGE or fd.label != FDP.LABEL_REPEATED:
            return None
        entry = self.d.messages.get(fd.type_name.lstrip("."))
        return entry.proto if entry and entry.proto.options.map_entry else None

    def _field_schema(self, fd: descriptor_pb2.FieldDescriptorProto, comment: str) -> dict:
        entry = self._map_entry(fd)
        if entry is not None:
            key, value = entry.field
            schema = {"type": "object", "additionalProperties": self._type_schema(value)}
            if key.type != FDP.TYPE_STRING:
                schema["propertyNames"] = {"pattern": r"^-?[0-9]+$" if key.type != FDP.TYPE_BOOL
                                           else "^(true|false)$"}
        elif fd.label == FDP.LABEL_REPEATED:
            schema = {"type": "array", "items": self._type_schema(fd)}
        else:
            schema = self._type_schema(fd)
        behaviours = _behaviours(fd)
        notes = [comment] if comment else []
        if "IMMUTABLE" in behaviours:
            notes.append("Immutable: set when the resource is created.")
        if notes:
            # A $ref's own description would be replaced by this one; well-known types keep theirs after it.
            notes += [schema["description"]] if "description" in schema and "$ref" not in schema else []
            schema["description"] = "\n\n".join(notes)
        if "OUTPUT_ONLY" in behaviours:
            schema["readOnly"] = True
        if "INPUT_ONLY" in behaviours:
            schema["writeOnly"] = True
        if fd.options.deprecated:
            schema["deprecated"] = True
        return schema

    def _message(self, name: str, without: frozenset[str] = frozenset()) -> dict:
        """The schema of a message; `without` leaves out fields (those a path template binds)."""
        if name in self.schemas and not without:
            return self.schemas[name]
        msg = self.d.messages[name]
        schema: dict = {"type": "object"}
        if not without:
            self.schemas[name] = schema  # before the fields: a message may contain itself
        if msg.comment:
            schema["description"] = msg.comment
        properties, required = {}, []
        for fd in msg.proto.field:
            if fd.name in without:
                continue
            json_name = _json_name(fd)
            properties[json_name] = self._field_schema(fd, msg.field_comments[fd.name])
            if "REQUIRED" in _behaviours(fd):
                required.append(json_name)
        schema["properties"] = properties
        # Envoy refuses a body key its message lacks (services/runner/unknown_fields.py); it also
        # takes a field's proto name (`start_time`), which the document leaves unsaid.
        schema["additionalProperties"] = False
        if required:
            schema["required"] = required
        oneofs = self._oneofs(msg, without)
        if oneofs:
            schema["allOf"] = oneofs
        return schema

    def _oneofs(self, msg: _Message, without: frozenset[str]) -> list[dict]:
        """A oneof as JSON Schema: no two of its fields together (none at all is allowed)."""
        rules = []
        for index, decl in enumerate(msg.proto.oneof_decl):
            members = [fd for fd in msg.proto.field
                       if fd.HasField("oneof_index") and fd.oneof_index == index and not fd.proto3_optional]
            names = [_json_name(fd) for fd in members if fd.name not in without]
            if len(names) < 2:
                continue
            pairs = [{"required": [a, b]} for i, a in enumerate(names) for b in names[i + 1:]]
            comment = msg.oneof_comments[index]
            rules.append({"description": f"oneof {decl.name}: at most one of {', '.join(names)}."
                                         + (f" {comment}" if comment else ""),
                          "not": {"anyOf": pairs}})
        return rules

    def _enum(self, name: str) -> None:
        if name in self.schemas:
            return
        enum, comment, value_comments = self.d.enums[name]
        lines = [comment] if comment else []
        lines += [f"- `{v.name}`" + (f": {value_comments[v.name]}" if value_comments[v.name] else "")
                  for v in enum.value]
        self.schemas[name] = {"type": "string", "enum": [v.name for v in enum.value],
                              "description": "\n".join(lines)}

    # Operations ------------------------------------------------------------------------------

    def _field(self, message: str, path: str) -> descriptor_pb2.FieldDescriptorProto:
        head, _, rest = path.partition(".")
        fd = next(f for f in self.d.messages[message].proto.field if f.name == head)
        return self._field(fd.type_name.lstrip("."), rest) if rest else fd

    def _query_parameters(self, message: str, skip: set[str], prefix: str = "", json_prefix: str = "",
                          depth: int = 0) -> list[dict]:
        """The fields neither the path nor the body take, as query parameters (nested ones dotted)."""
        params = []
        msg = self.d.messages[message]
        for fd in msg.proto.field:
            proto_path, name = f"{prefix}{fd.name}", f"{json_prefix}{_json_name(fd)}"
            if proto_path in skip or "OUTPUT_ONLY" in _behaviours(fd):
                continue
            type_name = fd.type_name.lstrip(".")
            is_message = fd.type == FDP.TYPE_MESSAGE and type_name not in _WELL_KNOWN
            if fd.label == FDP.LABEL_REPEATED and (is_message or self._map_entry(fd) is not None):
                continue  # a query string cannot carry repeated messages or maps
            if is_message:
                if depth < 3:
                    params += self._query_parameters(type_name, skip, proto_path + ".", name + ".", depth + 1)
                continue
            schema = self._field_schema(fd, "")
            description = msg.field_comments[fd.name] or schema.pop("description", "")
            schema.pop("description", None)
            param = {"name": name, "in": "query", "schema": schema}
            if description:
                param["description"] = description
            if "REQUIRED" in _behaviours(fd):
                param["required"] = True
            if fd.label == FDP.LABEL_REPEATED:
                param["style"], param["explode"] = "form", True
            params.append(param)
        return params

    @staticmethod
    def _path_parameters(variables: list[_PathVariable]) -> list[dict]:
        params = []
        for var in variables:
            pattern = var.pattern
            for param in var.params:
                pattern = pattern.replace("*", "{" + param + "}", 1)
            for param in var.params:
                text = f"The `{param}` of `{var.field_path}`, which is `{pattern}`."
                if param == "user":
                    text += " `me` is the caller."
                params.append({"name": param, "in": "path", "required": True, "schema": {"type": "string"},
                               "description": text})
        return params

    def _request_body(self, method: _Method, bound: set[str]) -> dict | None:
        body = method.rule.body
        input_type = method.proto.input_type.lstrip(".")
        if not body:
            return None
        if input_type == HTTP_BODY:
            return {"required": True, "content": _RAW_BODY,
                    "description": "The raw request body (google.api.HttpBody), passed on with its Content-Type"
                                   + (", streamed as it arrives." if method.proto.client_streaming else ".")}
        if body == "*":
            top = frozenset(path for path in bound if "." not in path)
            schema = self._message(input_type, without=top) if top else self._message_ref(input_type)
            fields = self.d.messages[input_type].proto.field
            required = any("REQUIRED" in _behaviours(fd) for fd in fields if fd.name not in top)
        else:
            fd = self._field(input_type, body)
            schema = self._message_ref(fd.type_name.lstrip(".")) if fd.type == FDP.TYPE_MESSAGE \
                else self._field_schema(fd, "")
            required = "REQUIRED" in _behaviours(fd)
            comment = self.d.messages[input_type].field_comments.get(body, "")
            if comment:
                return {"required": required, "description": comment,
                        "content": {"application/json": {"schema": schema}}}
        return {"required": required, "content": {"application/json": {"schema": schema}}}

    def _success(self, method: _Method) -> dict:
        output = method.proto.output_type.lstrip(".")
        if output == HTTP_BODY:
            return {"description": "The raw response body.", "content": _RAW_BODY}
        schema = self._message_ref(output)
        if method.proto.server_streaming:
            schema = {"type": "array", "items": schema,
                      "description": f"The stream of {output.split('.')[-1]} messages, as one JSON array "
                                     "whose elements arrive as the server sends them; it ends when the "
                                     "stream ends."}
            return {"description": "A stream of messages, as one JSON array.",
                    "content": {"application/json": {"schema": schema}}}
        return {"description": "OK", "content": {"application/json": {"schema": schema}}}

    def _errors(self, method: _Method, authenticated: bool, path_params: list[dict]) -> dict:
        codes: set[str] = {"INVALID_ARGUMENT"}  # every request's checks and Envoy's own (bad JSON, unknown query)
        _, _, errors = method.comment.partition("Errors:")
        codes |= set(_CODES.findall(errors))
        if authenticated:
            codes.add("UNAUTHENTICATED")
        if any(p["name"] == "user" for p in path_params):
            codes.add("PERMISSION_DENIED")  # another user's resources
        by_status: dict[int, list[str]] = {}
        for code in HTTP_STATUS:  # in the order of the codes' numbers
            if code in codes:
                by_status.setdefault(HTTP_STATUS[code], []).append(code)
        responses = {}
        for status, named in sorted(by_status.items()):
            name = "-".join(named)
            self.error_responses[name] = named
            responses[str(status)] = {"$ref": f"#/components/responses/{name}"}
        return responses

    def _operation(self, method: _Method) -> tuple[str, str, dict]:
        verb = method.rule.WhichOneof("pattern")
        path, variables = _openapi_path(getattr(method.rule, verb))
        input_type = method.proto.input_type.lstrip(".")
        bound = {v.field_path for v in variables}
        full_path = f"/{method.service_full_name}/{method.proto.name}"
        authenticated = full_path not in self.anonymous
        parameters = self._path_parameters(variables)
        if method.rule.body != "*" and input_type != HTTP_BODY:
            skip = bound | ({method.rule.body} if method.rule.body else set())
            parameters += self._query_parameters(input_type, skip)
        operation: dict = {
            "operationId": f"{method.service}_{method.proto.name}",
            "tags": [method.service],
            "summary": _first_sentence(method.comment) or method.proto.name,
            "description": method.comment + f"\n\ngRPC: `{full_path}`",
        }
        if parameters:
            operation["parameters"] = parameters
        body = self._request_body(method, bound)
        if body is not None:
            operation["requestBody"] = body
        operation["responses"] = {"200": self._success(method),
                                  **self._errors(method, authenticated, parameters),
                                  "default": {"$ref": "#/components/responses/default"}}
        if not authenticated:
            operation["security"] = []
        if method.proto.options.deprecated:
            operation["deprecated"] = True
        return path, verb, operation

    # The document ----------------------------------------------------------------------------

    def _error_responses(self) -> dict:
        responses = {name: {"description": " or ".join(codes) + ": a google.rpc.Status.",
                            "content": {"application/json": {"schema": _ref(STATUS)}}}
                     for name, codes in sorted(self.error_responses.items())}
        responses["default"] = {"description": "Any other error, e.g. UNAVAILABLE (503) while a service is down.",
                                "content": {"application/json": {"schema": _ref(STATUS)}}}
        return responses

    def document(self) -> dict:
        paths: dict[str, dict] = {}
        for method in self.d.methods:
            path, verb, operation = self._operation(method)
            paths.setdefault(path, {})[verb] = operation
        paths.update(_envoy_paths())
        status = self._message(STATUS)
        status["properties"]["details"]["description"] += (
            " Here: a google.rpc.ErrorInfo (reason and domain) on every error, and a google.rpc.BadRequest"
            " with one field violation per bad field on validation errors.")
        for detail in ("google.rpc.ErrorInfo", "google.rpc.BadRequest"):
            self._message(detail)
        tags = []
        for full_name, comment in self.d.services.items():
            short = full_name.rsplit(".", 1)[-1]
            if not short.endswith("InternalService") and any(m.service == short for m in self.d.methods):
                tags.append({"name": short, "description": comment + f"\n\ngRPC service `{full_name}`."})
        tags.append({"name": "Envoy", "description": "Served by Envoy itself."})
        return {
            "openapi": "3.1.0",
            "info": {
                "title": "healthmesh REST API",
                "version": "v1",
                "summary": "The REST/JSON surface of healthmesh's five services, as Envoy transcodes it to gRPC.",
                "description": _INFO,
                "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
            },
            "servers": [{"url": "/", "description": "The Envoy that serves this document"}],
            "security": [{"bearerAuth": []}],
            "tags": tags,
            "paths": dict(sorted(paths.items())),
            "components": {
                "schemas": dict(sorted(self.schemas.items())),
                "responses": self._error_responses(),
                "securitySchemes": {"bearerAuth": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT access token or API key",
                    "description": "`authorization: Bearer <token>` with the accessToken of POST /v1/auth:login "
                                   "(or auth:refresh), or the secret of an API key (POST "
                                   "/v1/users/me/apiKeys)."}},
            },
        }


_INFO = f"""\
Every call goes through Envoy, which transcodes REST/JSON to the services' gRPC methods (each \
operation names its method). JSON follows the proto3 JSON mapping: lowerCamel field names, \
64-bit integers as strings, enums by name (case-insensitive on input), timestamps in RFC 3339. \
Every field is printed, with its default value when unset, except unset messages and `optional` \
fields. `users/me` is the caller.

Errors are a google.rpc.Status whose details carry a google.rpc.ErrorInfo (reason and domain) and, \
for validation errors, a google.rpc.BadRequest with one field violation per bad field, named as \
the JSON names it (`sample.startTime`). Errors that Envoy makes itself (malformed JSON, an unknown \
query parameter or path, a body over {MAX_REQUEST_BODY_BYTES // 2**20} MiB) have the same shape, with \
ErrorInfo domain `gateway.healthmesh` (reasons MALFORMED_REQUEST, NO_SUCH_METHOD, REQUEST_TOO_LARGE).

Generated from the descriptor set (gen/healthmesh.binpb) by `make gen`; do not edit."""


def _first_sentence(comment: str, limit: int = 120) -> str:
    paragraph = " ".join(comment.split("\n\n", 1)[0].split())
    sentence = re.split(r"(?<=\.)\s", paragraph, maxsplit=1)[0]
    if len(sentence) <= limit:
        return sentence
    return sentence[:limit].rsplit(" ", 1)[0] + " …"


def _envoy_paths() -> dict:
    """Routes that Envoy answers itself; they need no credentials."""
    return {
        "/healthz": {"get": {
            "operationId": "Envoy_Healthz", "tags": ["Envoy"], "summary": "Whether every service is serving.",
            "description": "200 when every service's cluster is healthy, 503 otherwise.", "security": [],
            "responses": {"200": {"description": "Every service is serving."},
                          "503": {"description": "Some service is not serving."}}}},
        "/v1/openapi.json": {"get": {
            "operationId": "Envoy_OpenApi", "tags": ["Envoy"], "summary": "This document.", "security": [],
            "responses": {"200": {"description": "The OpenAPI 3.1 document.",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    }


def generate(descriptor_set: Path = DESCRIPTOR_SET, anonymous: frozenset[str] | None = None) -> dict:
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    return _Generator(_index(files), anonymous_methods() if anonymous is None else anonymous).document()


def to_json(document: dict) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    source = Path(argv[0]) if argv else DESCRIPTOR_SET
    out = Path(argv[1]) if len(argv) > 1 else OPENAPI
    out.write_text(to_json(generate(source)))
    sys.stdout.write(f"wrote {out}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
