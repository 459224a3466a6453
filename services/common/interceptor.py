"""One interceptor for every healthmesh call: request id, principal, errors, access log, audit.

Domain errors become google.rpc.Status with ErrorInfo and BadRequest field violations; an
unexpected exception becomes INTERNAL with a generic message and a logged traceback. The access
log is one JSON line per call and holds no secrets, emails or health values; a successful read
(an HTTP GET of the contract) logs at DEBUG, or one in N at INFO (services/common/logs.py), so the
hot path does not format and write a line per call. Failures and writes always log at INFO.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import ipaddress
import logging
import time
from collections.abc import AsyncIterator

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from services.common import logs, metrics, request_checks, telemetry
from services.common.audit import AuditLog, AuditRecord
from services.common.contract import methods
from services.common.credentials import Authenticator
from services.common.errors import DomainError, PermissionDenied, Unauthenticated, json_field_path
from services.common.ids import uuid7
from services.common.principal import ANONYMOUS, current_principal

log = logging.getLogger("healthmesh.access")
errlog = logging.getLogger(__name__)

# Envoy's transcoder sets it on the calls it made from REST (envoy_config strips a client's own copy).
TRANSCODED_HEADER = "x-envoy-original-path"
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
current_client: contextvars.ContextVar[str] = contextvars.ContextVar("client", default="")
# A handler sets this when the subject is not the caller (Login and Register name the user they
# reached, so the audit log can show it under that user).
audit_subject: contextvars.ContextVar[str] = contextvars.ContextVar("audit_subject", default="")


class _Call:
    __slots__ = ("method", "start", "principal", "request_id", "client", "metadata", "resource", "code")

    def __init__(self, method: str, request_id: str, client: str, metadata: dict[str, str]) -> None:
        self.method = method
        self.metadata = metadata
        self.start = time.perf_counter()
        self.principal = ANONYMOUS
        self.request_id = request_id
        self.client = client
        self.resource = ""
        self.code = "OK"


Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def trusted_networks(spec: str) -> Networks:
    """Parses "127.0.0.1,::1,10.0.0.0/8" (a bare address is a network of one)."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec.split(",") if item.strip())


LOOPBACK = trusted_networks("127.0.0.1,::1")


def _trusted(address: str, proxies: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in proxies)


def _peer(peer: str, proxies: Networks) -> tuple[str, bool]:
    # context.peer() looks like ipv4:127.0.0.1:5555 or ipv6:[::1]:5555
    _, _, rest = peer.partition(":")
    address = rest.rsplit(":", 1)[0].strip("[]") if rest else peer
    return address, _trusted(address, proxies)


def client_address(metadata: dict[str, str], peer: str, proxies: Networks = LOOPBACK,
                   peers: dict[str, tuple[str, bool]] | None = None) -> str:
    """The caller's address: the peer's own, unless the peer is a trusted proxy (Envoy), which
    names the client in x-forwarded-for. Anyone else could write any address there. `peers`
    memoizes what a peer string parses to (Envoy calls from a few connections, every call)."""
    known = peers.get(peer) if peers is not None else None
    if known is None:
        known = _peer(peer, proxies)
        if peers is not None:
            if len(peers) >= 1024:  # direct callers each bring a new port: keep it small
                peers.clear()
            peers[peer] = known
    address, trusted = known
    forwarded = metadata.get("x-forwarded-for", "")
    if forwarded and trusted:
        # Envoy overwrites the header with the downstream address; if a hop appended, the last is its.
        return forwarded.split(",")[-1].strip()[:64]
    return address


def to_status(err: DomainError, domain: str, json_names: bool = False,
              call_ids: dict[str, str] | None = None) -> status_pb2.Status:
    """`json_names` (a call Envoy transcoded from REST) names fields as the JSON client wrote them;
    `call_ids` (the call's request_id and trace_id) go into ErrorInfo's metadata."""
    reason = err.reason or err.code
    fields = {v.field: json_field_path(v.field) if json_names else v.field for v in err.violations}
    message = err.message
    for proto_name in sorted(fields, key=len, reverse=True) if json_names else ():
        message = message.replace(f"{proto_name}: ", f"{fields[proto_name]}: ")
    metadata = {**(call_ids or {}), **err.metadata}
    if len(fields) == 1:
        metadata.setdefault("field", next(iter(fields.values())))
    status = status_pb2.Status(code=code_pb2.Code.Value(err.code), message=message)
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=domain, metadata=metadata))
    status.details.append(info)
    if err.violations:
        bad = any_pb2.Any()
        bad.Pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=fields[v.field], description=v.description,
                                                        reason=v.reason or reason)
            for v in err.violations
        ]))
        status.details.append(bad)
    retry_after = err.metadata.get("retry_after_seconds")
    if retry_after:  # RESOURCE_EXHAUSTED that says when to send again (a client library waits as told)
        retry = any_pb2.Any()
        retry.Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=int(retry_after))))
        status.details.append(retry)
    return status


def resource_of(request: object) -> str:
    """The resource a request names: its `name` or `parent`, or the `name` of its resource field."""
    for attr in ("name", "parent"):
        value = getattr(request, attr, None)
        if isinstance(value, str) and value:
            return value
    fields = getattr(getattr(request, "DESCRIPTOR", None), "fields", ())
    for fd in fields:
        if fd.message_type is not None and not fd.is_repeated:
            inner = getattr(request, fd.name)
            value = getattr(inner, "name", None)
            if isinstance(value, str) and value:
                return value
    return ""


class CallInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, spec, authenticator: Authenticator, audit: AuditLog,
                 trusted_proxies: str = "127.0.0.1,::1") -> None:
        self._spec = spec
        self._proxies = trusted_networks(trusted_proxies)
        self._auth = authenticator
        self._audit = audit
        self._domain = f"{spec.name}.healthmesh"
        self._internal_prefixes = tuple(f"/{s}/" for s in spec.internal_services)
        # The reads whose success is logged at DEBUG (or sampled): the contract's HTTP GETs.
        self._reads = frozenset(m.path for m in methods() if m.http_verb == "GET" and not m.streaming)
        self._sample_reads = logs.access_sampler()
        self._peers: dict[str, tuple[str, bool]] = {}
        # method -> (the servicer's handler, ours around it): built once per method, not per call.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or not method.startswith("/healthmesh."):
            return handler  # health and reflection pass untouched
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = self._wrap(method, handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        if not method.startswith(self._internal_prefixes):
            # Every public request is checked before its handler runs (NUL, lengths, enums, times:
            # request_checks.py). Internal RPCs skip it for speed: only our services call them,
            # and those check what they send.
            handler = request_checks.checked(handler)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, handler.unary_unary), handler.request_deserializer, handler.response_serializer)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._unary(method, handler.stream_unary), handler.request_deserializer, handler.response_serializer)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(method, handler.unary_stream), handler.request_deserializer, handler.response_serializer)
        return grpc.stream_stream_rpc_method_handler(
            self._stream(method, handler.stream_stream), handler.request_deserializer, handler.response_serializer)

    def _unary(self, method, behaviour):
        async def run(request, context):
            call = self._new_call(method, request, context)
            try:
                call.resource = resource_of(request)
                await self._authenticate(call, context)
                result = behaviour(request, context)
                return await result if inspect.isawaitable(result) else result
            except BaseException as exc:
                await self._fail(call, exc, context)
            finally:
                self._finish(call)
        return run

    def _stream(self, method, behaviour):
        async def run(request, context) -> AsyncIterator:
            call = self._new_call(method, request, context)
            try:
                if not hasattr(request, "__aiter__"):  # a client stream names no resource up front
                    call.resource = resource_of(request)
                await self._authenticate(call, context)
                result = behaviour(request, context)
                if inspect.isawaitable(result):
                    result = await result
                async for item in result:
                    yield item
            except BaseException as exc:
                await self._fail(call, exc, context)
            finally:
                self._finish(call)
        return run

    def _new_call(self, method: str, request, context) -> _Call:
        metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        request_id = metadata.get("x-request-id") or str(uuid7())
        call = _Call(method, request_id, client_address(metadata, context.peer() or "", self._proxies, self._peers),
                     metadata)
        current_request_id.set(request_id)
        current_client.set(call.client)
        current_principal.set(ANONYMOUS)
        audit_subject.set("")
        return call

    async def _authenticate(self, call: _Call, context) -> None:
        anonymous_ok = call.method in self._spec.anonymous_methods
        try:
            principal = await self._auth.principal(call.metadata)
        except Unauthenticated:
            if not anonymous_ok:
                raise
            principal = ANONYMOUS  # a stale token does not block login or registration
        if call.method.startswith(self._internal_prefixes) and principal.kind != "service":
            raise PermissionDenied("internal method: only healthmesh services may call it", "INTERNAL_METHOD")
        if not principal.authenticated and not anonymous_ok:
            raise Unauthenticated("this call needs 'authorization: Bearer <access token or API key>'")
        if principal.device and call.method not in self._spec.device_key_methods:
            call.principal = principal  # audited as the key that tried
            raise PermissionDenied(f"this API key is bound to {principal.device}: it may only stream, upload and "
                                   "report health for that device", "DEVICE_SCOPED_KEY")
        call.principal = principal
        current_principal.set(principal)

    async def _fail(self, call: _Call, exc: BaseException, context) -> None:
        if isinstance(exc, DomainError):
            await self._abort(call, exc, context)
        if isinstance(exc, NotImplementedError):
            await self._abort(call, DomainError(f"{call.method} is not implemented yet", code="UNIMPLEMENTED"), context)
        if isinstance(exc, grpc.aio.AbortError):
            if call.code == "OK":  # a handler aborted by itself
                code = context.code() if hasattr(context, "code") else None
                call.code = code.name if isinstance(code, grpc.StatusCode) else "ABORTED"
            raise exc
        if isinstance(exc, asyncio.CancelledError):
            call.code = "CANCELLED"
            raise exc
        if isinstance(exc, Exception):
            call.code = "INTERNAL"
            errlog.exception("unhandled error in %s (request %s)", call.method, call.request_id)
            await self._abort(call, DomainError(f"internal error (request id {call.request_id})", code="INTERNAL"),
                              context)
        raise exc

    async def _abort(self, call: _Call, err: DomainError, context) -> None:
        """Ends the call with `err` as a google.rpc.Status whose ErrorInfo names the request id and,
        while tracing is on, the trace id, so a report of an error finds its logs and spans."""
        call.code = err.code
        ids = {"request_id": call.request_id}
        trace_id = telemetry.trace_id()
        if trace_id:
            ids["trace_id"] = trace_id
        status = to_status(err, self._domain, TRANSCODED_HEADER in call.metadata, ids)
        await context.abort(grpc.StatusCode[err.code], status.message,
                            (("grpc-status-details-bin", status.SerializeToString()),))

    def _finish(self, call: _Call) -> None:
        metrics.record_rpc(call.method, call.code, time.perf_counter() - call.start)
        level = logging.INFO
        if call.code == "OK" and call.method in self._reads and not self._sample_reads():
            level = logging.DEBUG
        if log.isEnabledFor(level):  # the fields are built only for a line that is written
            log.log(level, "", extra={"fields": {
                "method": call.method, "code": call.code, "ms": round((time.perf_counter() - call.start) * 1000, 2),
                "request_id": call.request_id, "actor": call.principal.actor, "client": call.client,
            }})
        if call.method in self._spec.unaudited_methods:
            return
        # Internal RPCs are audited too: the actor is the calling service, the subject the end user
        # it acts for (x-healthmesh-user). The record gets its id here; record() makes it storable.
        subject = audit_subject.get() or call.principal.user_id
        resource = call.resource.replace("users/me", f"users/{subject}", 1) if subject else call.resource
        self._audit.record(AuditRecord(
            subject_user_id=subject, actor=call.principal.actor, action=call.method, resource=resource,
            outcome=call.code, client_address=call.client, request_id=call.request_id, service=self._spec.name,
        ))

