"""Sleep's use cases: CRUD of sessions (idempotent create, field-mask update) and the analysis."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from services.common import checks
from services.common.clock import Clock, utcnow
from services.common.errors import NotFound, Violations
from services.common.ids import uuid7
from services.tracking import local_time
from services.tracking.imports import DUPLICATE, ImportOutcome, import_each
from services.tracking.ports import Profiles
from services.tracking.sleep import domain
from services.tracking.sleep.domain import Analysis, SleepFields, SleepFilter, SleepSession
from services.tracking.sleep.repository import Cursor, SleepRepository

# More sessions than a year of nights and naps can hold; the analysis reads at most this many.
MAX_ANALYSIS_SESSIONS = 10_000


class SleepService:
    def __init__(self, repo: SleepRepository, profiles: Profiles, clock: Clock = utcnow) -> None:
        self._repo = repo
        self._profiles = profiles
        self._now = clock

    async def create(self, user_id: uuid.UUID, fields: SleepFields, request_id: str = "") -> SleepSession:
        now = self._now()
        v = Violations()
        fields = domain.validate(fields, now, v)
        checks.request_id(request_id, v)
        v.raise_if_any()
        fields = await self._with_offset(user_id, fields)
        return await self._repo.create(SleepSession(uuid7(), user_id, fields, now, now), request_id or None)

    async def create_many(self, user_id: uuid.UUID, items: list[tuple[SleepFields, str]]) -> list[ImportOutcome]:
        """Creates sessions in one transaction, each idempotent by its request id (imports.import_each);
        one sent again with more in it is merged into the stored one (domain.merge_import)."""
        now = self._now()

        async def session(fields: SleepFields) -> SleepSession:
            return SleepSession(uuid7(), user_id, await self._with_offset(user_id, fields), now, now)

        def merge(stored: SleepSession, incoming: SleepSession) -> SleepSession | ImportOutcome:
            fields = domain.merge_import(stored.fields, incoming.fields)
            if fields == stored.fields:
                return DUPLICATE
            v = Violations()  # each part held alone; together (stages outside new times) they may not
            fields = domain.validate(fields, now, v)
            if v.items:
                return ImportOutcome("REJECTED", v.summary)
            return SleepSession(stored.id, stored.user_id, fields, stored.create_time, now)

        return await import_each(items, lambda fields, v: domain.validate(fields, now, v), session,
                                 lambda sessions: self._repo.create_many(sessions, merge))

    async def get(self, user_id: uuid.UUID, session_id: uuid.UUID) -> SleepSession:
        found = await self._repo.get(user_id, session_id)
        if found is None:
            raise NotFound(f"users/{user_id}/sleepSessions/{session_id} does not exist")
        return found

    async def list(self, user_id: uuid.UUID, where: SleepFilter, limit: int,
                   after: Cursor | None) -> list[SleepSession]:
        if where.start_time and where.end_time and where.end_time < where.start_time:
            v = Violations()
            v.add("end_time", "must not be before start_time")
            v.raise_if_any()
        return await self._repo.list(user_id, where, limit, after)

    async def update(self, user_id: uuid.UUID, session_id: uuid.UUID, patch: SleepFields,
                     paths: list[str]) -> SleepSession:
        v = Violations()
        if paths == ["*"]:  # AIP-134: a full replacement of everything a client may set
            paths = sorted(domain.UPDATABLE_PATHS)
        domain.check_paths(paths, v)
        v.raise_if_any()
        current = await self.get(user_id, session_id)
        fields = domain.validate(domain.merge(current.fields, patch, paths), self._now(), v)
        v.raise_if_any()
        fields = await self._with_offset(user_id, fields)  # utc_offset_minutes cleared by the mask
        updated = dataclasses.replace(current, fields=fields, update_time=self._now())
        stored = await self._repo.update(updated, "stages" in paths)
        if stored is None:
            raise NotFound(f"users/{user_id}/sleepSessions/{session_id} does not exist")
        return stored

    async def delete(self, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        if not await self._repo.delete(user_id, session_id):
            raise NotFound(f"users/{user_id}/sleepSessions/{session_id} does not exist")

    async def asleep_by_night(self, user_id: uuid.UUID, first: dt.date, last: dt.date) -> dict[dt.date, float]:
        """Seconds asleep per night, keyed by the local date each night ends on, for dates in
        [first, last]: what goals on sleep_duration read (GoalService's sleep_by_night)."""
        nights = await self._repo.asleep_by_night(user_id, first, last)
        return {day: float(seconds) for day, seconds in nights.items()}

    async def analyze(self, user_id: uuid.UUID, start: dt.datetime | None, end: dt.datetime | None,
                      target_sleep_seconds: int) -> Analysis:
        start, end, target = domain.analysis_window(start, end, target_sleep_seconds, self._now())
        sessions = await self._repo.list(user_id, SleepFilter(start, end), MAX_ANALYSIS_SESSIONS, None)
        return domain.analyze(sessions, start, end, target)

    async def _with_offset(self, user_id: uuid.UUID, fields: SleepFields) -> SleepFields:
        """Fills a missing UTC offset from the user's time zone at end_time."""
        if fields.utc_offset_minutes is not None or fields.end_time is None:
            return fields
        profile = await self._profiles.profile(user_id)
        return dataclasses.replace(fields, utc_offset_minutes=local_time.offset_minutes(profile.time_zone,
                                                                                     fields.end_time))
