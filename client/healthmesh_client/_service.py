"""What the generated service classes stand on: the method table's row, and the calls they make.

A wrapper takes either a request message or its fields as keywords (`list_samples(parent="users/me")`),
never both, and hands the call to its transport, which adds credentials, the deadline and retries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from google.protobuf.message import Message

if TYPE_CHECKING:
    from ._transport import AsyncTransport, Transport

Metadata = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Method:
    path: str  # /healthmesh.tracking.v1.TrackingService/ListSamples
    kind: str  # unary_unary, unary_stream, stream_unary, stream_stream
    request: type[Message]
    response: type[Message]
    idempotent: bool  # an HTTP GET: a repeat cannot change anything
    request_id: bool  # the request has a request_id; with one set, a repeat returns the first result
    items: str = ""  # the repeated field of a paged response

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[1]

    def safe_to_repeat(self, request: Message) -> bool:
        return self.idempotent or (self.request_id and bool(getattr(request, "request_id")))


def build(method: Method, request: Message | None, fields: dict[str, Any]) -> Message:
    if request is not None and fields:
        raise TypeError(f"{method.name}: pass a {method.request.__name__} or its fields, not both")
    if request is None:
        return method.request(**fields)
    if not isinstance(request, method.request):
        raise TypeError(f"{method.name} takes a {method.request.__name__}, not a {type(request).__name__}")
    return request


class Service:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def _unary(self, method: Method, request, fields, timeout, metadata):
        return self._transport.unary(method, build(method, request, fields), timeout, metadata)

    def _paginate(self, method: Method, request, fields, timeout, metadata) -> Iterator:
        request = build(method, request, fields)
        return paginate(lambda r: self._transport.unary(method, r, timeout, metadata), request, method.items)

    def _unary_stream(self, method: Method, request, fields, timeout, metadata):
        return self._transport.stream(method, build(method, request, fields), timeout, metadata)

    def _stream_unary(self, method: Method, requests, timeout, metadata):
        return self._transport.client_stream(method, requests, timeout, metadata)

    def _stream_stream(self, method: Method, requests, timeout, metadata):
        return self._transport.stream(method, requests, timeout, metadata)


class AsyncService:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def _unary(self, method: Method, request, fields, timeout, metadata):
        return await self._transport.unary(method, build(method, request, fields), timeout, metadata)

    def _paginate(self, method: Method, request, fields, timeout, metadata) -> AsyncIterator:
        request = build(method, request, fields)
        return apaginate(lambda r: self._transport.unary(method, r, timeout, metadata), request, method.items)

    def _unary_stream(self, method: Method, request, fields, timeout, metadata):
        return self._transport.stream(method, build(method, request, fields), timeout, metadata)

    async def _stream_unary(self, method: Method, requests, timeout, metadata):
        return await self._transport.client_stream(method, requests, timeout, metadata)

    def _stream_stream(self, method: Method, requests, timeout, metadata):
        return self._transport.stream(method, requests, timeout, metadata)


def paginate(call, request: Message, items: str) -> Iterator:
    """Every item of a List call, page after page: `call(request)` returns one page."""
    request = type(request).FromString(request.SerializeToString())  # the caller's request stays as it was
    while True:
        page = call(request)
        yield from getattr(page, items)
        if not page.next_page_token:
            return
        request.page_token = page.next_page_token


async def apaginate(call, request: Message, items: str) -> AsyncIterator:
    """paginate() for asyncio: `call(request)` is awaited for each page."""
    request = type(request).FromString(request.SerializeToString())
    while True:
        page = await call(request)
        for item in getattr(page, items):
            yield item
        if not page.next_page_token:
            return
        request.page_token = page.next_page_token
