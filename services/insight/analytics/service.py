"""Insight's analytics use cases: read the daily values they need from Tracking (a handful of
concurrent RPCs), compute, and cache the answer per user until that user's data changes."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

from services.common.background import cancel
from services.common.cache import GenerationCache
from services.common.clock import Clock, today_in, utcnow
from services.common.errors import InvalidArgument
from services.insight.analytics import anomalies as anomaly_rules
from services.insight.analytics import correlations as correlation_rules
from services.insight.analytics import rules, summary as summaries, trends as trend_rules
from services.insight.analytics.daily import SLEEP_ASLEEP, SLEEP_TYPE, Series, TypeInfo, Window
from services.insight.analytics.ports import Finding, InsightsStore, Profile, Profiles, Tracking
from services.insight.notify import ACTIVITY

log = logging.getLogger(__name__)

RECOMMENDATION_DAYS = 30  # GetRecommendations' default window


@dataclass(frozen=True)
class Ttls:
    """How long an answer is kept at most; a change of the user's data drops it at once anyway."""

    recommendations: float = 3600.0
    summary: float = 300.0
    trends: float = 600.0
    correlations: float = 600.0
    # Anomalies read the same daily series as trends and change only with new data (which drops
    # them) or a new day (which is in the key): 10 minutes, like trends.
    anomalies: float = 600.0


# Which answers a change of a type can alter. Everything else reads every type.
RECOMMENDATION_TYPES = frozenset(rules.RULE_TYPES) | {rules.HEIGHT}
CORRELATION_TYPES = frozenset(correlation_rules.CORRELATED_TYPES)
SCOPE_RECOMMENDATIONS, SCOPE_CORRELATIONS, SCOPE_ALL = "rec", "corr", "all"


@dataclass(frozen=True)
class Recommendations:
    first: dt.date
    last: dt.date
    items: tuple[rules.Recommendation, ...]
    generated: dt.datetime


@dataclass(frozen=True)
class Trends:
    items: tuple[trend_rules.Trend, ...]


@dataclass(frozen=True)
class Anomalies:
    items: tuple[anomaly_rules.Anomaly, ...]


@dataclass(frozen=True)
class Correlations:
    items: tuple[correlation_rules.Correlation, ...]


@dataclass(frozen=True)
class Summary:
    summary: summaries.Summary
    generated: dt.datetime


def _days(value: int, default: int, low: int, high: int) -> int:
    if value == 0:
        return default
    if not low <= value <= high:
        raise InvalidArgument.field("days", f"must lie between {low} and {high} (0 means {default})")
    return value


_ENCODER = msgspec.msgpack.Encoder()


class _Codec:
    def __init__(self, kind: type) -> None:
        self._decoder = msgspec.msgpack.Decoder(kind)

    def decode(self, raw: bytes):
        return self._decoder.decode(raw)


class AnalyticsService:
    def __init__(self, tracking: Tracking, profiles: Profiles, cache: GenerationCache,
                 insights: InsightsStore | None = None, clock: Clock = utcnow, ttls: Ttls = Ttls()) -> None:
        self._tracking = tracking
        self._profiles = profiles
        self._cache = cache
        self._insights = insights
        self._clock = clock
        self._ttls = ttls
        self._codecs = {k: _Codec(k) for k in (Recommendations, Trends, Anomalies, Correlations, Summary)}
        self._recording: set[asyncio.Task] = set()

    # Caching: one scope per user and kind of answer; the key holds every input but the data.

    async def _cached(self, user_id: uuid.UUID, scope: str, key: str, ttl: float, kind: type, compute):
        scope_key = f"{user_id}:{scope}"
        raw, stamp = await self._cache.get(scope_key, key)
        if raw is not None:
            try:
                return self._codecs[kind].decode(raw)
            except msgspec.DecodeError:  # written by another version: compute again
                pass
        value = await compute()
        await self._cache.put(scope_key, key, _ENCODER.encode(value), ttl, stamp)
        return value

    async def samples_written(self, user_id: uuid.UUID, types: frozenset[str]) -> None:
        """The change listener: drops the user's answers that the changed types can alter."""
        try:
            known = await self._known_types()
        except Exception:  # without the catalog, assume the worst
            known = {}
        # A type of no catalog (a newer Tracking's): drop everything. Activities feed no analysis.
        unknown = any(t not in known and t != ACTIVITY for t in types)
        scopes = [SCOPE_ALL]
        if unknown or types & RECOMMENDATION_TYPES:
            scopes.append(SCOPE_RECOMMENDATIONS)
        if unknown or types & CORRELATION_TYPES:
            scopes.append(SCOPE_CORRELATIONS)
        await asyncio.gather(*(self._cache.invalidate(f"{user_id}:{s}") for s in scopes))

    async def _known_types(self) -> dict[str, TypeInfo]:
        catalog = await self._tracking.catalog()
        return {**catalog, SLEEP_ASLEEP: SLEEP_TYPE}

    async def _check_type(self, type: str) -> None:
        if type and type not in await self._known_types():
            raise InvalidArgument.field("type", "is not a sample type of Tracking's catalog nor sleep_asleep",
                                        "UNKNOWN_SAMPLE_TYPE")

    async def _today(self, user_id: uuid.UUID) -> tuple[Profile, dt.date]:
        profile = await self._profiles.profile(user_id)
        return profile, today_in(profile.time_zone, self._clock())

    # Reading: the types with data, then each type's days, all at once.

    async def _series(self, user_id: uuid.UUID, profile: Profile, window: Window, types: Iterable[str] | None,
                      ) -> dict[str, Series]:
        """The daily series of `types` (every type with data in the window when None), sleep included."""
        if types is None:
            start, _ = window.utc_bounds()
            latest = await self._tracking.latest(user_id)
            wanted = [t for t, s in latest.items() if s.time >= start]
            with_sleep = True
        else:
            wanted = [t for t in types if t != SLEEP_ASLEEP]
            with_sleep = SLEEP_ASLEEP in types
        daily, nights = await asyncio.gather(
            self._tracking.daily(user_id, wanted, window),
            self._tracking.nights(user_id, window, profile.time_zone) if with_sleep else _none())
        if nights is not None:
            daily[SLEEP_ASLEEP] = nights
        return {t: s for t, s in daily.items() if len(s)}

    async def _ordered(self, series: dict[str, Series]) -> list[Series]:
        """Catalog order, sleep last."""
        order = list(await self._known_types())
        return sorted(series.values(), key=lambda s: order.index(s.type) if s.type in order else len(order))

    # The use cases.

    async def recommendations(self, user_id: uuid.UUID, days: int) -> Recommendations:
        days = _days(days, RECOMMENDATION_DAYS, 1, 365)
        profile, today = await self._today(user_id)
        window = Window.ending(today, days)
        key = f"{days}:{today}:{profile.birth_date}:{profile.sex}"

        async def compute() -> Recommendations:
            items = await self._recommend(user_id, profile, window)
            self._record(user_id, window, items)
            return Recommendations(window.first, window.last, tuple(items), self._clock())

        return await self._cached(user_id, SCOPE_RECOMMENDATIONS, key, self._ttls.recommendations, Recommendations,
                                  compute)

    async def _recommend(self, user_id: uuid.UUID, profile: Profile, window: Window) -> list[rules.Recommendation]:
        resting = "resting_heart_rate"
        baseline_window = window.extended_back(rules.BASELINE_DAYS)
        others = [t for t in rules.RULE_TYPES if t not in (resting, SLEEP_ASLEEP)]
        daily, resting_all, nights, latest, goals = await asyncio.gather(
            self._tracking.daily(user_id, others, window),
            self._tracking.daily(user_id, [resting], baseline_window),
            self._tracking.nights(user_id, window, profile.time_zone),
            self._tracking.latest(user_id, [rules.HEIGHT]),
            self._tracking.goals(user_id))
        daily[SLEEP_ASLEEP] = nights
        resting_series = resting_all.get(resting)
        baseline = None
        if resting_series is not None:
            daily[resting] = resting_series.within(window)
            baseline = resting_series.within(Window(baseline_window.first, window.first - dt.timedelta(days=1)))
        height = latest.get(rules.HEIGHT)
        facts = rules.Facts(window, profile.age_on(window.last), profile.sex, daily, baseline,
                            height.value if height else None, tuple(g for g in goals if g.metric == "weight"))
        return rules.recommend(facts)

    def _record(self, user_id: uuid.UUID, window: Window, items: list[rules.Recommendation]) -> None:
        """Keeps the warnings as Insights, behind the answer (the store skips one still standing)."""
        findings = [Finding(r.id, r.category, r.severity, r.title, r.reason, r.sample_type, window.first, window.last)
                    for r in items if r.severity != rules.INFO]
        # Only the default window stands findings down, so asking other windows cannot make them flap.
        settled = (window.last - window.first).days + 1 == RECOMMENDATION_DAYS
        if self._insights is None or not (findings or settled):
            return

        async def record() -> None:
            try:
                await self._insights.record(user_id, findings, settled)
            except Exception as exc:  # the next computation tries again
                log.warning("recommendations not kept as insights: %s", type(exc).__name__)

        task = asyncio.get_running_loop().create_task(record())
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)

    async def trends(self, user_id: uuid.UUID, type: str, days: int) -> Trends:
        days = _days(days, 30, 7, 365)
        await self._check_type(type)
        profile, today = await self._today(user_id)
        window = Window.ending(today, days)

        async def compute() -> Trends:
            series = await self._series(user_id, profile, window, [type] if type else None)
            if type and type not in series:  # asked for, without data: say so rather than nothing
                info = (await self._known_types())[type]
                return Trends((trend_rules.trend(Series(info, ()), window),))
            return Trends(tuple(trend_rules.trend(s, window) for s in await self._ordered(series)))

        return await self._cached(user_id, SCOPE_ALL, f"trends:{type}:{days}:{today}", self._ttls.trends, Trends,
                                  compute)

    async def anomalies(self, user_id: uuid.UUID, type: str, days: int) -> Anomalies:
        days = _days(days, 30, 1, 365)
        await self._check_type(type)
        profile, today = await self._today(user_id)
        window = Window.ending(today, days)

        async def compute() -> Anomalies:
            span = window.extended_back(anomaly_rules.BASELINE_DAYS - 1)
            series = await self._series(user_id, profile, span, [type] if type else None)
            found = [a for s in series.values() for a in anomaly_rules.anomalies(s, window, s.info.display_name)]
            found.sort(key=lambda a: (a.date, a.type), reverse=True)
            return Anomalies(tuple(found))

        return await self._cached(user_id, SCOPE_ALL, f"anomalies:{type}:{days}:{today}", self._ttls.anomalies,
                                  Anomalies, compute)

    async def correlations(self, user_id: uuid.UUID, type: str, days: int) -> Correlations:
        days = _days(days, 90, 14, 365)
        await self._check_type(type)
        profile, today = await self._today(user_id)
        window = Window.ending(today, days)

        async def compute() -> Correlations:
            if type and type not in correlation_rules.CORRELATED_TYPES:
                return Correlations(())
            # Lagged pairs reach 3 days past the window's first day; the window's days are the ones compared.
            series = await self._series(user_id, profile, window, correlation_rules.CORRELATED_TYPES)
            names = {t: i.display_name for t, i in (await self._known_types()).items()}
            return Correlations(tuple(correlation_rules.correlations(series, names, type)))

        return await self._cached(user_id, SCOPE_CORRELATIONS, f"correlations:{type}:{days}:{today}",
                                  self._ttls.correlations, Correlations, compute)

    async def summary(self, user_id: uuid.UUID, period: str, date: str) -> Summary:
        profile, today = await self._today(user_id)
        if date:
            try:
                day = dt.date.fromisoformat(date)
            except ValueError:
                raise InvalidArgument.field("date", "must be a date, YYYY-MM-DD") from None
            if len(date) != 10:
                raise InvalidArgument.field("date", "must be a date, YYYY-MM-DD")
            if day > today:
                raise InvalidArgument.field("date", f"must not lie in the future (today is {today} for the user)")
        else:
            day = today
        window = summaries.period_of(period, day)

        async def compute() -> Summary:
            previous = summaries.previous_period(period, window)
            span = Window(previous.first, window.last)
            series, goals = await asyncio.gather(self._series(user_id, profile, span, None),
                                                 self._tracking.goals(user_id))
            metrics = []
            for s in await self._ordered(series):
                m = summaries.metric_summary(s.within(window), s.within(previous))
                if m is not None:
                    metrics.append(m)
            histories = await asyncio.gather(*(
                self._tracking.goal_history(user_id, g, summaries.periods_back(g.period, window.first, today))
                for g in goals))
            results = [r for h in histories for r in [summaries.goal_result(h, window)] if r is not None]
            return Summary(summaries.Summary(period, window.first, window.last, tuple(metrics), tuple(results)),
                           self._clock())

        return await self._cached(user_id, SCOPE_ALL, f"summary:{period}:{window.first}:{today}", self._ttls.summary,
                                  Summary, compute)

    async def close(self) -> None:
        """Lets the insights being recorded finish (briefly), then stops them."""
        if self._recording:
            await asyncio.wait(list(self._recording), timeout=2.0)
        await cancel(*self._recording)


async def _none() -> None:
    return None
