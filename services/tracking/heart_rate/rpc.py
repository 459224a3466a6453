"""The heart-rate zones RPC of TrackingService, as a mixin for the Tracking servicer.

The servicer that mixes this in sets `self.heart_rate` (a HeartRateService) in its __init__.
"""

from __future__ import annotations

from services.common.errors import Violations
from services.common.principal import caller_parent
from services.tracking.heart_rate import convert
from services.tracking.heart_rate.service import HeartRateService


class HeartRateRpcs:
    heart_rate: HeartRateService

    async def GetHeartRateZones(self, request, context):
        user_id = caller_parent(request.parent)
        v = Violations()
        start, end = convert.time(request, "start_time", v), convert.time(request, "end_time", v)
        v.raise_if_any()
        given = request.max_heart_rate if request.HasField("max_heart_rate") else None
        report = await self.heart_rate.zones(user_id, start, end, request.basis, given)
        return convert.zones_response(report)
