"""Heart-rate zones: protobuf <-> domain, nothing else."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2
from healthmesh.tracking.v1 import tracking_service_pb2

from services.common.convert import from_timestamp, timestamp
from services.common.errors import Violations
from services.tracking.heart_rate.domain import ZoneReport


def time(request, field: str, v: Violations) -> dt.datetime | None:
    if not request.HasField(field):
        return None
    try:
        return from_timestamp(getattr(request, field))
    except (ValueError, OverflowError):
        v.add(field, "is not a valid timestamp")
        return from_timestamp(timestamp_pb2.Timestamp())


def zones_response(r: ZoneReport) -> tracking_service_pb2.GetHeartRateZonesResponse:
    msg = tracking_service_pb2.GetHeartRateZonesResponse(
        max_heart_rate=r.max_heart_rate, basis=int(r.basis), age=r.age, start_time=timestamp(r.start_time),
        end_time=timestamp(r.end_time), below_zones_seconds=r.below_zones_seconds, total_seconds=r.total_seconds,
        zones=[tracking_service_pb2.HeartRateZone(
            zone=z.zone, display_name=z.display_name, min_percent=z.min_percent, max_percent=z.max_percent,
            min_bpm=z.min_bpm, max_bpm=z.max_bpm, time_in_zone_seconds=z.time_in_zone_seconds,
            percent_of_time=z.percent_of_time) for z in r.zones],
    )
    if r.resting_heart_rate is not None:
        msg.resting_heart_rate = r.resting_heart_rate
    return msg
