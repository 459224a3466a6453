"""asyncpg's client spans, by patching its query methods directly (SQLAlchemy's asyncpg dialect
goes through PreparedStatement, so its statements have spans too).

opentelemetry-instrumentation-asyncpg made these with wrapt, a regex and a split of the whole
statement for its name, the semantic-convention builders filling attributes we then redacted or
never read (user, peer, port, transport), and a current-span context for a span that has no
children; here a statement's span holds what traces are read for: `db.system`, the statement's
text with its $n placeholders (never the parameters; cut at redact.MAX_CHARS) and, when it fails,
ERROR with `error.type` (`python -m bench spans` has what a statement's span costs). Nothing is
made, not even the attributes, for a statement outside any span or for a transaction's own
statements (sampling.py says why)."""

from __future__ import annotations

import contextvars
import functools

import asyncpg
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from services.common.telemetry.redact import MAX_CHARS
from services.common.telemetry.sampling import TRANSACTION_CONTROL

_CONNECTION = ("execute", "executemany", "fetch", "fetchval", "fetchrow", "fetchmany")
_PREPARED = ("fetch", "fetchval", "fetchrow", "fetchmany", "executemany")
_CURSOR = ("fetch", "fetchrow", "forward")
_ERROR = Status(StatusCode.ERROR)

# A span of ours that stands for the one statement in its block (telemetry.span(statement=True)).
covering: contextvars.ContextVar = contextvars.ContextVar("healthmesh_statement_span", default=None)

_patched: list[tuple[type, str, object]] = []  # (class, name, the method as it was)


def _operation(query: str) -> str:
    """The statement's first word (a span's name, as the SDK's instrumentation named it)."""
    head = query.lstrip()
    if head.startswith("/*"):  # a leading comment
        head = head.partition("*/")[2].lstrip()
    words = head[:32].split(None, 1)
    return words[0] if words else ""


def _traced(method, query_of, tracer, stop=()):
    get_current_span = trace.get_current_span

    @functools.wraps(method)
    async def traced(self, *args, **kwargs):
        query = query_of(self, args)
        if not isinstance(query, str) or not get_current_span().get_span_context().is_valid:
            return await method(self, *args, **kwargs)
        name = _operation(query)
        if name.upper() in TRANSACTION_CONTROL:
            return await method(self, *args, **kwargs)
        span = covering.get()
        if span is not None:  # the statement's own span of ours: it holds the text, and is ended by its block
            covering.set(None)
            span.set_attributes({"db.system": "postgresql", "db.statement": query[:MAX_CHARS]})
            end = False
        else:
            span = tracer.start_span(name, kind=SpanKind.CLIENT, record_exception=False,
                                     attributes={"db.system": "postgresql", "db.statement": query[:MAX_CHARS]})
            end = True
        try:
            return await method(self, *args, **kwargs)
        except stop:
            raise
        except Exception as e:
            span.set_attribute("error.type", type(e).__qualname__)
            span.set_status(_ERROR)
            raise
        finally:
            if end:
                span.end()  # (not made current: a statement has no child spans)

    return traced


def _patch(cls: type, name: str, query_of, tracer, stop=()) -> None:
    method = cls.__dict__[name]
    _patched.append((cls, name, method))
    setattr(cls, name, _traced(method, query_of, tracer, stop))


def instrument(tracer) -> None:
    """Patches asyncpg's Connection, PreparedStatement and cursor query methods (once)."""
    if _patched:
        return
    for name in _CONNECTION:
        _patch(asyncpg.connection.Connection, name, lambda _, args: args[0] if args else None, tracer)
    for name in _PREPARED:
        _patch(asyncpg.prepared_stmt.PreparedStatement, name, lambda stmt, _: stmt._query, tracer)  # noqa: SLF001
    for name in _CURSOR:
        _patch(asyncpg.cursor.Cursor, name, lambda cursor, _: cursor._query, tracer)  # noqa: SLF001
    _patch(asyncpg.cursor.CursorIterator, "__anext__", lambda cursor, _: cursor._query, tracer,  # noqa: SLF001
           stop=StopAsyncIteration)


def uninstrument() -> None:
    while _patched:
        cls, name, method = _patched.pop()
        setattr(cls, name, method)
