"""The heart-rate zones RPC of TrackingService, as a mixin for the Tracking servicer.

The servicer that mixes this in sets `self.heart_rate` (a HeartRateService) in its __init__.
Protobuf stays here: the request is read and the response built without a convert module of its own.
"""

from __future__ import annotations

import uuid

from google.protobuf import timestamp_pb2
from healthmesh.tracking.v1 import tracking_service_pb2

from services.common.convert import from_timestamp, timestamp
from services.common.errors import Violations
from services.common.principal import current_principal, parse_name
from services.tracking.heart_rate.domain import ZoneReport
from services.tracking.heart_rate.service import HeartRateService


def _time(req, field: str, v: Violations):
    if not req.HasField(field):
        return None
    try:
        return from_timestamp(getattr(req, field))
    except (ValueError, OverflowError):
        v.add(field, "is not a valid timestamp")
        return from_timestamp(timestamp_pb2.Timestamp())


def _response(r: ZoneReport) -> tracking_service_pb2.GetHeartRateZonesResponse:
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


class HeartRateRpcs:
    heart_rate: HeartRateService

    async def GetHeartRateZones(self, request, context):
        user_id = uuid.UUID(parse_name(request.parent, "users/{user}", current_principal.get(), "parent")["user"])
        v = Violations()
        start, end = _time(request, "start_time", v), _time(request, "end_time", v)
        v.raise_if_any()
        given = request.max_heart_rate if request.HasField("max_heart_rate") else None
        report = await self.heart_rate.zones(user_id, start, end, request.basis, given)
        return _response(report)
