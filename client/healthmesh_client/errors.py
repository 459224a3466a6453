"""Errors as exceptions: one ApiError subclass per gRPC code, with the google.rpc.Status details.

Every call of the SDK raises these instead of grpc.RpcError. The rich status comes from the
`grpc-status-details-bin` trailer (parsed here for both grpc and grpc.aio errors: grpcio-status's
from_call wants a live call, which an AioRpcError is not); `error.status` keeps all of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2, status_pb2

DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class FieldViolation:
    field: str  # the proto path over gRPC: sample.start_time
    description: str
    reason: str


class ApiError(Exception):
    """A call failed with a gRPC status; `code`, `message`, and what the status details say."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, code: grpc.StatusCode, message: str, status: status_pb2.Status | None = None) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.status = status or status_pb2.Status(code=code.value[0], message=message)
        self.reason = ""  # ErrorInfo.reason, e.g. TOKEN_EXPIRED
        self.domain = ""  # ErrorInfo.domain, e.g. auth.healthmesh.dev
        self.metadata: dict[str, str] = {}  # ErrorInfo.metadata
        self.field_violations: list[FieldViolation] = []  # BadRequest
        self.retry_delay: float | None = None  # RetryInfo, seconds
        for detail in self.status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                self.reason, self.domain, self.metadata = info.reason, info.domain, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                self.field_violations += [FieldViolation(v.field, v.description, v.reason)
                                          for v in bad.field_violations]
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                self.retry_delay = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9


class Cancelled(ApiError): code = grpc.StatusCode.CANCELLED  # noqa: E701
class Unknown(ApiError): code = grpc.StatusCode.UNKNOWN  # noqa: E701
class InvalidArgument(ApiError): code = grpc.StatusCode.INVALID_ARGUMENT  # noqa: E701
class DeadlineExceeded(ApiError): code = grpc.StatusCode.DEADLINE_EXCEEDED  # noqa: E701
class NotFound(ApiError): code = grpc.StatusCode.NOT_FOUND  # noqa: E701
class AlreadyExists(ApiError): code = grpc.StatusCode.ALREADY_EXISTS  # noqa: E701
class PermissionDenied(ApiError): code = grpc.StatusCode.PERMISSION_DENIED  # noqa: E701
class ResourceExhausted(ApiError): code = grpc.StatusCode.RESOURCE_EXHAUSTED  # noqa: E701
class FailedPrecondition(ApiError): code = grpc.StatusCode.FAILED_PRECONDITION  # noqa: E701
class Aborted(ApiError): code = grpc.StatusCode.ABORTED  # noqa: E701
class OutOfRange(ApiError): code = grpc.StatusCode.OUT_OF_RANGE  # noqa: E701
class Unimplemented(ApiError): code = grpc.StatusCode.UNIMPLEMENTED  # noqa: E701
class Internal(ApiError): code = grpc.StatusCode.INTERNAL  # noqa: E701
class Unavailable(ApiError): code = grpc.StatusCode.UNAVAILABLE  # noqa: E701
class DataLoss(ApiError): code = grpc.StatusCode.DATA_LOSS  # noqa: E701
class Unauthenticated(ApiError): code = grpc.StatusCode.UNAUTHENTICATED  # noqa: E701


BY_CODE: dict[grpc.StatusCode, type[ApiError]] = {
    cls.code: cls for cls in ApiError.__subclasses__()}


def from_rpc_error(error: grpc.RpcError) -> ApiError:
    """The ApiError of a failed grpc or grpc.aio call (both have code(), details(), trailing_metadata())."""
    code, message = error.code(), error.details() or ""
    status = None
    for key, value in error.trailing_metadata() or ():
        if key == DETAILS_KEY:
            status = status_pb2.Status.FromString(value)
    return BY_CODE.get(code, ApiError)(code, message, status)
