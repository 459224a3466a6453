"""JSON log lines on stderr. Callers pass structured fields; nothing here adds request payloads."""

from __future__ import annotations

import itertools
import json
import logging
import sys
import time
from collections.abc import Callable

# One successful read in this many has its access line at INFO; the others are DEBUG. 0: none.
_read_sample_every = 0
# While tracing is on (services/common/telemetry), the current span's (trace_id, span_id) in hex,
# or None outside a span: every line written inside a span carries both.
span_ids: Callable[[], tuple[str, str] | None] | None = None


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
        }
        message = record.getMessage()
        if message:
            entry["msg"] = message
        entry.update(getattr(record, "fields", {}))
        ids = span_ids() if span_ids is not None else None
        if ids is not None:
            entry["trace_id"], entry["span_id"] = ids
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup(service: str, level: str = "INFO", read_sample_every: int = 0) -> None:
    """`read_sample_every`: log one successful read in N at INFO (the rest at DEBUG); 0: none."""
    global _read_sample_every
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    _read_sample_every = max(0, read_sample_every)


def access_sampler(every: int | None = None) -> Callable[[], bool]:
    """A function that answers True once in `every` calls (the configured rate when None): the
    call interceptor asks it whether a successful read's access line goes out at INFO."""
    every = _read_sample_every if every is None else every
    if every <= 0:
        return lambda: False
    if every == 1:
        return lambda: True
    counter = itertools.count()
    return lambda: next(counter) % every == 0
