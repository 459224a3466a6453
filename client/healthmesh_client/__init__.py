"""healthmesh_client: the typed Python SDK of healthmesh, over gRPC, in sync and asyncio forms.

    from healthmesh_client import Client
    with Client("127.0.0.1:8080", email="me@example.org", password="...") as hm:
        page = hm.tracking.list_samples(parent="users/me", page_size=10)

The services' methods and their docstrings are generated from the protos (_generated.py); the
messages are the generated healthmesh.* classes. README.md ("Python SDK") has more.
"""

from ._generated import METHODS
from ._service import Method, apaginate, paginate
from ._transport import Credentials, RetryPolicy
from .alerts import AlertWatch, AsyncAlertWatch
from .client import AsyncClient, Client
from .errors import (
    Aborted, AlreadyExists, ApiError, Cancelled, DataLoss, DeadlineExceeded, FailedPrecondition, FieldViolation,
    Internal, InvalidArgument, NotFound, OutOfRange, PermissionDenied, ResourceExhausted, Unauthenticated,
    Unavailable, Unimplemented, Unknown,
)
from .telemetry import BufferFull, TelemetryClient, TelemetryError

__all__ = [
    "METHODS", "Method", "paginate", "apaginate", "Credentials", "RetryPolicy", "AlertWatch", "AsyncAlertWatch",
    "Client", "AsyncClient", "ApiError", "FieldViolation", "Aborted", "AlreadyExists", "Cancelled", "DataLoss",
    "DeadlineExceeded", "FailedPrecondition", "Internal", "InvalidArgument", "NotFound", "OutOfRange",
    "PermissionDenied", "ResourceExhausted", "Unauthenticated", "Unavailable", "Unimplemented", "Unknown",
    "BufferFull", "TelemetryClient", "TelemetryError",
]
