"""The outbox relay's delivery: tracking.outbox rows to Insight's internal NotifySamplesWritten,
on Insight's own address with the service credential. OK means Insight took them (and evaluated
their alert rules); INVALID_ARGUMENT is Rejected (the relay then sends the rows one by one and
parks the ones refused); any other failure is retried by the relay."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import grpc
from healthmesh.insight.v1 import insight_internal_service_pb2 as insight_pb2
from healthmesh.insight.v1 import insight_internal_service_pb2_grpc as insight_grpc

from services.common.outbox import Rejected
from services.common.peers import Peers


def request_of(rows: Sequence[asyncpg.Record]) -> insight_pb2.NotifySamplesWrittenRequest:
    request = insight_pb2.NotifySamplesWrittenRequest()
    for row in rows:
        change = request.changes.add(event_id=str(row["event_id"]), user=f"users/{row['user_id']}",
                                     sample_types=row["sample_types"])
        change.start_time.FromDatetime(row["start_time"])
        change.end_time.FromDatetime(row["end_time"])
        change.commit_time.FromDatetime(row["commit_time"])
    return request


class InsightNotifier:
    def __init__(self, peers: Peers, timeout_seconds: float = 10.0) -> None:
        self._peers = peers
        self._timeout = timeout_seconds

    async def __call__(self, rows: Sequence[asyncpg.Record]) -> None:
        stub = insight_grpc.InsightInternalServiceStub(self._peers.channel("insight"))
        try:
            await stub.NotifySamplesWritten(request_of(rows), metadata=self._peers.metadata(), timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise Rejected() from None  # (its details may quote the rows: not passed on to logs)
            raise
