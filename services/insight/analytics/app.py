"""Assembles Insight's analytics; services/insight/app.py calls build_analytics and adds the
mixin AnalyticsRpcs to its servicer, and `on_samples_written` to its change listeners."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.cache import GenerationCache
from services.common.clock import Clock, utcnow
from services.common.config import Settings
from services.common.peers import Peers
from services.insight.analytics.ports import InsightsStore
from services.insight.analytics.service import AnalyticsService, Ttls
from services.insight.analytics.tracking import AuthProfiles, GrpcTracking


@dataclass
class Analytics:
    service: AnalyticsService
    cache: GenerationCache
    tracking: GrpcTracking  # Tracking's RPCs, which the alert rules read too

    async def on_samples_written(self, change) -> None:
        """A change listener (services/insight/notify.py): the user's cached answers that the
        changed types can alter are dropped."""
        await self.service.samples_written(change.user_id, change.sample_types)

    async def close(self) -> None:
        await self.service.close()
        await self.cache.close()


def build_analytics(settings: Settings, peers: Peers, insights: InsightsStore | None = None,
                    clock: Clock = utcnow, ttls: Ttls = Ttls()) -> Analytics:
    cache = GenerationCache(settings.redis_url, prefix="insight")
    tracking = GrpcTracking(peers)
    service = AnalyticsService(tracking, AuthProfiles(peers), cache, insights, clock, ttls)
    return Analytics(service, cache, tracking)
