"""Domain errors: what went wrong, in terms a client can act on, free of any transport.

The server interceptor turns each into a google.rpc.Status with the canonical code, an ErrorInfo
(reason UPPER_SNAKE, domain `<service>.healthmesh`) and, for validation, BadRequest field
violations. Anything else that escapes a handler becomes INTERNAL with a generic message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# An error travels in the call's trailers (grpc-message and grpc-status-details-bin), which Envoy
# refuses past 60 KB with a 502: messages and violations are capped, and a value a client sent is
# quoted by shown(), never whole.
SHOWN_CHARS = 40
MAX_MESSAGE = 1024
MAX_DESCRIPTION = 512
MAX_VIOLATIONS = 100


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """A value as an error may quote it: its repr, of at most `limit` characters of a string,
    marked when cut (repr also spells out NUL and other control characters)."""
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else repr(value[:limit]) + "..."
    return _capped(repr(value), limit)


def _capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass(frozen=True)
class FieldViolation:
    field: str  # the proto path, as a gRPC client names it: `sample.start_time`, `samples[1].unit`
    description: str
    reason: str = ""  # UPPER_SNAKE; empty takes the error's own reason

    def __post_init__(self) -> None:
        object.__setattr__(self, "field", _capped(self.field, MAX_DESCRIPTION))
        object.__setattr__(self, "description", _capped(self.description, MAX_DESCRIPTION))


_KEYS = re.compile(r"(\[[^\]]*\])")  # an index or a map key, left as the client wrote it
_UNDERSCORE = re.compile(r"_+([^_])")


def json_field_path(path: str) -> str:
    """A proto field path in the names of the JSON mapping (protoc's default json_name, lowerCamel):
    `sample.start_time` -> `sample.startTime`, `counts["heart_rate"].accepted` keeps its key."""
    return "".join(part if part.startswith("[") else _UNDERSCORE.sub(lambda m: m.group(1).upper(), part)
                   for part in _KEYS.split(path))


@dataclass
class DomainError(Exception):
    message: str
    reason: str = ""
    code: str = "UNKNOWN"  # canonical gRPC status code name
    violations: list[FieldViolation] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.violations) > MAX_VIOLATIONS:
            more = len(self.violations) - MAX_VIOLATIONS
            self.violations = self.violations[:MAX_VIOLATIONS]
            self.message = _capped(self.message, MAX_MESSAGE) + f" (and {more:,} more problems)"
        else:
            self.message = _capped(self.message, MAX_MESSAGE)
        super().__init__(self.message)


class InvalidArgument(DomainError):
    def __init__(self, message: str, violations: list[FieldViolation] | None = None,
                 reason: str = "INVALID_ARGUMENT") -> None:
        super().__init__(message, reason, "INVALID_ARGUMENT", list(violations or []))

    @classmethod
    def field(cls, field_path: str, description: str, reason: str = "INVALID_ARGUMENT") -> "InvalidArgument":
        return cls(f"{field_path}: {description}", [FieldViolation(field_path, description)], reason)


class Unauthenticated(DomainError):
    def __init__(self, message: str = "missing or invalid credentials", reason: str = "UNAUTHENTICATED") -> None:
        super().__init__(message, reason, "UNAUTHENTICATED")


class PermissionDenied(DomainError):
    def __init__(self, message: str = "the caller may not access this resource",
                 reason: str = "PERMISSION_DENIED") -> None:
        super().__init__(message, reason, "PERMISSION_DENIED")


class NotFound(DomainError):
    def __init__(self, message: str, reason: str = "NOT_FOUND") -> None:
        super().__init__(message, reason, "NOT_FOUND")


class AlreadyExists(DomainError):
    def __init__(self, message: str, reason: str = "ALREADY_EXISTS") -> None:
        super().__init__(message, reason, "ALREADY_EXISTS")


class ResourceExhausted(DomainError):
    def __init__(self, message: str, reason: str = "RESOURCE_EXHAUSTED", retry_after_seconds: int = 0) -> None:
        meta = {"retry_after_seconds": str(retry_after_seconds)} if retry_after_seconds else {}
        super().__init__(message, reason, "RESOURCE_EXHAUSTED", metadata=meta)


class FailedPrecondition(DomainError):
    def __init__(self, message: str, reason: str = "FAILED_PRECONDITION") -> None:
        super().__init__(message, reason, "FAILED_PRECONDITION")


class Unavailable(DomainError):
    def __init__(self, message: str, reason: str = "UNAVAILABLE") -> None:
        super().__init__(message, reason, "UNAVAILABLE")


class Violations:
    """Collects field violations so a request reports all its problems at once."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field_path: str, description: str) -> None:
        self.items.append(FieldViolation(field_path, description))

    @property
    def summary(self) -> str:
        return "; ".join(f"{v.field}: {v.description}" for v in self.items)

    def raise_if_any(self, reason: str = "INVALID_ARGUMENT") -> None:
        if self.items:
            raise InvalidArgument(self.summary, self.items, reason)
