"""Syncs: protobuf to domain and back, nothing else."""

from __future__ import annotations

from healthmesh.device.v1 import sync_pb2
from healthmesh.tracking.v1 import sample_pb2

from services.common.convert import set_timestamp
from services.device.sync_domain import State, Sync


def sync(s: Sync) -> sync_pb2.Sync:
    out = sync_pb2.Sync(
        name=s.name, state=int(s.state), trigger=int(s.trigger), accepted=s.counts.accepted,
        duplicate=s.counts.duplicate, updated=s.counts.updated, rejected=s.counts.rejected,
        failure_reason=s.failure_reason, failure_message=s.failure_message,
        retry_of=f"{s.device_name}/syncs/{s.retry_of}" if s.retry_of else "",
        errors=[sample_pb2.SampleError(index=i, reason=r, message=m) for i, r, m in s.counts.errors])
    set_timestamp(out.data_start_time, s.window.start)
    set_timestamp(out.data_end_time, s.window.end)
    set_timestamp(out.create_time, s.create_time)
    set_timestamp(out.update_time, s.update_time)
    if s.start_time is not None:
        set_timestamp(out.start_time, s.start_time)
    if s.end_time is not None:
        set_timestamp(out.end_time, s.end_time)
    return out


def state_filter(value: int) -> State | None:
    """ListSyncs' state: every state when not given; an unknown number is the caller's mistake."""
    return State(value) if value else None
