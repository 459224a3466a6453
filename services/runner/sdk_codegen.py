"""Writes the Python SDK's method table and typed service wrappers from the descriptor set.

`python -m services.runner.sdk_codegen [DESCRIPTOR_SET] [OUT]` writes client/healthmesh_client/_generated.py
(`make gen` runs it, and `make gen-check` fails when the committed file is stale). Only the public
services are wrapped; the *InternalService ones are for the services themselves.

For each RPC the table says its kind (unary or which side streams), its request and response
classes, whether it is idempotent (an HTTP GET rule: a repeat cannot change anything) and, for
paged calls (a page_token in, a next_page_token and one repeated message field out), the field
the items come in. The wrappers carry the proto comments as docstrings and the message types as
hints, so an IDE shows both; everything they do is in healthmesh_client/_service.py.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from google.api import annotations_pb2, http_pb2  # noqa: F401  (registers the google.api.http extension)
from google.protobuf import descriptor_pb2

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DESCRIPTOR_SET = REPO / "gen" / "healthmesh.binpb"
DEFAULT_OUT = REPO / "client" / "healthmesh_client" / "_generated.py"

SERVICE_FIELD = 6  # FileDescriptorProto.service, for source-info paths
METHOD_FIELD = 2  # ServiceDescriptorProto.method
REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
MESSAGE = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE


@dataclass
class Rpc:
    service: str  # AuthService
    attr: str  # auth (the client's attribute)
    name: str  # GetUser
    path: str  # /healthmesh.auth.v1.AuthService/GetUser
    kind: str  # unary_unary, unary_stream, stream_unary, stream_stream
    request: str  # python expression of the class, e.g. auth_service_pb2.GetUserRequest
    response: str
    idempotent: bool
    request_id: bool  # the request has a request_id: a repeat with the same one is safe
    items: str  # the repeated field of a paged response, "" when not paged
    item_type: str
    http: str  # "GET /v1/{name=users/*}", "" without a rule
    doc: str


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


class Types:
    """Full message names -> python expressions, and the imports they need."""

    def __init__(self, files: list[descriptor_pb2.FileDescriptorProto]) -> None:
        self.where: dict[str, tuple[str, str, str]] = {}  # .pkg.Msg -> (module, alias, Class.Path)
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        aliases: dict[str, str] = {}
        for f in files:
            module = f.name.removesuffix(".proto").replace("/", ".").replace("-", "_") + "_pb2"
            alias = module.rsplit(".", 1)[1]
            if aliases.setdefault(alias, module) != module:  # two files of one stem: name it by package too
                alias = module.replace(".", "_")
            for message, path in self._walk(f.message_type, ""):
                full = f".{f.package}.{path}"
                self.where[full] = (module, alias, path)
                self.messages[full] = message
        self.used: dict[str, str] = {}

    def _walk(self, messages, prefix: str):
        for m in messages:
            path = f"{prefix}{m.name}"
            yield m, path
            yield from self._walk(m.nested_type, path + ".")

    def ref(self, full: str) -> str:
        module, alias, path = self.where[full]
        self.used[alias] = module
        return f"{alias}.{path}"

    def imports(self) -> list[str]:
        lines = []
        for alias, module in sorted(self.used.items(), key=lambda kv: kv[1]):
            package, _, name = module.rpartition(".")
            lines.append(f"from {package} import {name}" + (f" as {alias}" if alias != name else ""))
        return lines


def _comment(info: dict[tuple, descriptor_pb2.SourceCodeInfo.Location], path: tuple) -> str:
    location = info.get(path)
    if location is None:
        return ""
    lines = [line[1:] if line.startswith(" ") else line for line in location.leading_comments.splitlines()]
    return "\n".join(lines).strip()


def _http(options: descriptor_pb2.MethodOptions) -> tuple[str, str]:
    if not options.HasExtension(annotations_pb2.http):
        return "", ""
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    kind = rule.WhichOneof("pattern")
    if kind is None or kind == "custom":
        return "", ""
    return kind.upper(), getattr(rule, kind)


def rpcs(descriptor_set: Path) -> tuple[list[Rpc], dict[str, str], Types]:
    files = list(descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes()).file)
    types = Types(files)
    found, service_docs = [], {}
    for f in files:
        if not f.package.startswith("healthmesh."):
            continue
        info = {tuple(loc.path): loc for loc in f.source_code_info.location}
        for si, service in enumerate(f.service):
            if service.name.endswith("InternalService"):
                continue
            attr = f.package.split(".")[1]
            service_docs[service.name] = _comment(info, (SERVICE_FIELD, si))
            for mi, m in enumerate(service.method):
                verb, route = _http(m.options)
                request, response = types.messages[m.input_type], types.messages[m.output_type]
                items, item_type = "", ""
                in_fields = {fd.name for fd in request.field}
                repeated = [fd for fd in response.field if fd.label == REPEATED and fd.type == MESSAGE]
                if ("page_token" in in_fields and any(fd.name == "next_page_token" for fd in response.field)
                        and len(repeated) == 1):
                    items, item_type = repeated[0].name, types.ref(repeated[0].type_name)
                kind = f"{'stream' if m.client_streaming else 'unary'}_{'stream' if m.server_streaming else 'unary'}"
                found.append(Rpc(
                    service=service.name, attr=attr, name=m.name, path=f"/{f.package}.{service.name}/{m.name}",
                    kind=kind, request=types.ref(m.input_type), response=types.ref(m.output_type),
                    idempotent=verb == "GET", request_id="request_id" in in_fields, items=items, item_type=item_type,
                    http=f"{verb} {route}" if verb else "", doc=_comment(info, (SERVICE_FIELD, si, METHOD_FIELD, mi))))
    return found, service_docs, types


def _docstring(text: str, indent: str) -> str:
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = text.splitlines() or [""]
    if len(lines) == 1:
        return f'{indent}"""{lines[0]}"""\n'
    body = "\n".join(f"{indent}{line}" if line else "" for line in lines[1:])
    return f'{indent}"""{lines[0]}\n{body}\n{indent}"""\n'


def _method_doc(rpc: Rpc) -> str:
    retries = ""
    if rpc.kind == "unary_unary":
        retries = ("Idempotent: retried on UNAVAILABLE." if rpc.idempotent else
                   "Retried on UNAVAILABLE when the request carries a request_id." if rpc.request_id else
                   "Not retried on UNAVAILABLE: a repeat could apply it twice.")
    notes = [rpc.http and f"REST: `{rpc.http}`.", retries]
    return "\n\n".join(filter(None, [rpc.doc or f"{rpc.service}.{rpc.name}.", " ".join(filter(None, notes))]))


def _wrapper(rpc: Rpc, asynchronous: bool) -> str:
    name, key = snake(rpc.name), f"METHODS[{rpc.path!r}]"
    tail = "timeout: float | None = None, metadata: Metadata = ()"
    prefix = "async " if asynchronous else ""
    await_ = "await " if asynchronous else ""
    iterable = "AsyncIterable" if asynchronous else "Iterable"
    iterator = "AsyncIterator" if asynchronous else "Iterator"
    out = []
    if rpc.kind == "unary_unary":
        out.append(f"    {prefix}def {name}(self, request: {rpc.request} | None = None, /, *, {tail},\n"
                   f"            **fields: Any) -> {rpc.response}:\n" + _docstring(_method_doc(rpc), " " * 8) +
                   f"        return {await_}self._unary({key}, request, fields, timeout, metadata)\n")
        if rpc.items:
            doc = (f"All the {rpc.items.replace('_', ' ')} that {rpc.name} returns, page after page (each page "
                   f"is one call, with its own deadline and retries).")
            out.append(f"    def iter_{rpc.items}(self, request: {rpc.request} | None = None, /, *, {tail},\n"
                       f"            **fields: Any) -> {iterator}[{rpc.item_type}]:\n" + _docstring(doc, " " * 8) +
                       f"        return self._paginate({key}, request, fields, timeout, metadata)\n")
    elif rpc.kind == "unary_stream":
        out.append(f"    def {name}(self, request: {rpc.request} | None = None, /, *, {tail},\n"
                   f"            **fields: Any) -> {iterator}[{rpc.response}]:\n" + _docstring(_method_doc(rpc), " " * 8) +
                   f"        return self._unary_stream({key}, request, fields, timeout, metadata)\n")
    elif rpc.kind == "stream_unary":
        out.append(f"    {prefix}def {name}(self, requests: {iterable}[{rpc.request}], /, *, {tail}) -> {rpc.response}:\n"
                   + _docstring(_method_doc(rpc), " " * 8) +
                   f"        return {await_}self._stream_unary({key}, requests, timeout, metadata)\n")
    else:
        out.append(f"    def {name}(self, requests: {iterable}[{rpc.request}], /, *, {tail}) -> {iterator}[{rpc.response}]:\n"
                   + _docstring(_method_doc(rpc), " " * 8) +
                   f"        return self._stream_stream({key}, requests, timeout, metadata)\n")
    return "\n".join(out)


def render(descriptor_set: Path) -> str:
    found, service_docs, types = rpcs(descriptor_set)
    services: dict[str, list[Rpc]] = {}
    for rpc in found:
        services.setdefault(rpc.service, []).append(rpc)
    table = []
    for rpc in found:
        table.append(f"    {rpc.path!r}: Method(\n"
                     f"        {rpc.path!r}, {rpc.kind!r}, {rpc.request}, {rpc.response},\n"
                     f"        idempotent={rpc.idempotent!r}, request_id={rpc.request_id!r}, items={rpc.items!r}),\n")
    classes = []
    for service, members in services.items():
        for asynchronous in (False, True):
            cls = f"{'Async' if asynchronous else ''}{service}"
            base = "AsyncService" if asynchronous else "Service"
            doc = service_docs[service] or service
            body = "\n".join(_wrapper(rpc, asynchronous) for rpc in members)
            classes.append(f"class {cls}({base}):\n" + _docstring(doc, "    ") + "\n" + body)
    attrs = {rpc.attr: rpc.service for rpc in found}
    sync_attrs = "".join(f"    {a}: {s}\n" for a, s in attrs.items())
    async_attrs = "".join(f"    {a}: Async{s}\n" for a, s in attrs.items())
    registry = "".join(f"    {a!r}: ({s}, Async{s}),\n" for a, s in attrs.items())
    header = [
        '"""The public RPCs of healthmesh as typed methods: generated by services/runner/sdk_codegen.py',
        'from gen/healthmesh.binpb (`make gen`); do not edit."""',
        "",
        "# ruff: noqa: E501",
        "from __future__ import annotations",
        "",
        "from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator",
        "from typing import Any",
        "",
        *types.imports(),
        "",
        "from ._service import AsyncService, Metadata, Method, Service",
        "",
        "# Every public RPC by its path: kind, messages, whether a repeat is safe, the field of a page's items.",
        "METHODS: dict[str, Method] = {",
    ]
    return ("\n".join(header) + "\n" + "".join(table) + "}\n\n\n" + "\n\n".join(classes) + "\n\n"
            "class SyncServices:\n    \"\"\"The services of a Client.\"\"\"\n\n" + sync_attrs + "\n\n"
            "class AsyncServices:\n    \"\"\"The services of an AsyncClient.\"\"\"\n\n" + async_attrs + "\n\n"
            "# The client's attribute -> (sync class, asyncio class).\n"
            "SERVICES: dict[str, tuple[type[Service], type[AsyncService]]] = {\n" + registry + "}\n")


def main(argv: list[str]) -> None:
    source = Path(argv[0]) if argv else DEFAULT_DESCRIPTOR_SET
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(source))


if __name__ == "__main__":
    main(sys.argv[1:])
