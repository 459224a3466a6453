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

    async def on_samples_written(self, user_id, sample_types: frozenset[str]) -> None:
        """A change listener: the user's cached answers that these types can alter are dropped."""
        await self.service.samples_written(user_id, sample_types)

    async def close(self) -> None:
        await self.service.close()
        await self.cache.close()


def build_analytics(settings: Settings, peers: Peers, insights: InsightsStore | None = None,
                    clock: Clock = utcnow, ttls: Ttls = Ttls()) -> Analytics:
    cache = GenerationCache(settings.redis_url, prefix="insight")
    service = AnalyticsService(GrpcTracking(peers), AuthProfiles(peers), cache, insights, clock, ttls)
    return Analytics(service, cache)
