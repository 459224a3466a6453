"""Activities' use cases: create (idempotent), get, list, update by field mask, delete."""

from __future__ import annotations

import dataclasses
import uuid

from services.common import checks
from services.common.clock import Clock, utcnow
from services.common.errors import NotFound, Violations
from services.common.ids import uuid7
from services.tracking import local_time
from services.tracking.activities import domain
from services.tracking.activities.domain import Activity, ActivityFields, ActivityFilter
from services.tracking.activities.repository import ActivityRepository, Cursor
from services.tracking.imports import DUPLICATE, ImportOutcome, import_each
from services.tracking.ports import Profiles


class ActivityService:
    def __init__(self, repo: ActivityRepository, profiles: Profiles, clock: Clock = utcnow) -> None:
        self._repo = repo
        self._profiles = profiles
        self._now = clock

    async def create(self, user_id: uuid.UUID, fields: ActivityFields, request_id: str = "") -> Activity:
        now = self._now()
        v = Violations()
        fields = domain.validate(fields, now, v)
        checks.request_id(request_id, v)
        v.raise_if_any()
        fields = await self._with_offset(user_id, fields)
        activity = Activity(uuid7(), user_id, fields, domain.summarize_series(fields.heart_rate_series), now, now)
        return await self._repo.create(activity, request_id or None)

    async def create_many(self, user_id: uuid.UUID, items: list[tuple[ActivityFields, str]]) -> list[ImportOutcome]:
        """Creates activities in one transaction, each idempotent by its request id (imports.import_each);
        one sent again with more in it is merged into the stored one (domain.merge_import)."""
        now = self._now()

        async def activity(fields: ActivityFields) -> Activity:
            fields = await self._with_offset(user_id, fields)
            return Activity(uuid7(), user_id, fields, domain.summarize_series(fields.heart_rate_series), now, now)

        def merge(stored: Activity, incoming: Activity) -> Activity | ImportOutcome:
            fields = domain.merge_import(stored.fields, incoming.fields)
            if fields == stored.fields:
                return DUPLICATE
            v = Violations()  # each part held alone; together (a route outside new times) they may not
            fields = domain.validate(fields, now, v)
            if v.items:
                return ImportOutcome("REJECTED", v.summary)
            return dataclasses.replace(stored, fields=fields, update_time=now,
                                       series_summary=domain.summarize_series(fields.heart_rate_series))

        return await import_each(items, lambda fields, v: domain.validate(fields, now, v), activity,
                                 lambda activities: self._repo.create_many(activities, merge))

    async def get(self, user_id: uuid.UUID, activity_id: uuid.UUID, full: bool = True) -> Activity:
        found = await self._repo.get(user_id, activity_id, full)
        if found is None:
            raise NotFound(f"users/{user_id}/activities/{activity_id} does not exist")
        return found

    async def list(self, user_id: uuid.UUID, where: ActivityFilter, limit: int, after: Cursor | None,
                   full: bool = False) -> list[Activity]:
        if where.start_time and where.end_time and where.end_time < where.start_time:
            v = Violations()
            v.add("end_time", "must not be before start_time")
            v.raise_if_any()
        return await self._repo.list(user_id, where, limit, after, full)

    async def update(self, user_id: uuid.UUID, activity_id: uuid.UUID, patch: ActivityFields,
                     paths: list[str]) -> Activity:
        v = Violations()
        if paths == ["*"]:  # AIP-134: a full replacement of everything a client may set
            paths = [f.name for f in dataclasses.fields(ActivityFields)]
        domain.check_paths(paths, v)
        v.raise_if_any()
        current = await self.get(user_id, activity_id, full=True)
        fields = domain.merge(current.fields, patch, paths)
        fields = domain.validate(fields, self._now(), v)
        v.raise_if_any()
        if "utc_offset_minutes" in paths and patch.utc_offset_minutes is None:
            fields = await self._with_offset(user_id, dataclasses.replace(fields, utc_offset_minutes=None))
        replace_series = "heart_rate_series" in paths
        updated = dataclasses.replace(
            current, fields=fields, update_time=self._now(),
            series_summary=domain.summarize_series(fields.heart_rate_series) if replace_series
            else current.series_summary)
        stored = await self._repo.update(updated, replace_series, "route" in paths)
        if stored is None:
            raise NotFound(f"users/{user_id}/activities/{activity_id} does not exist")
        return stored

    async def delete(self, user_id: uuid.UUID, activity_id: uuid.UUID) -> None:
        if not await self._repo.delete(user_id, activity_id):
            raise NotFound(f"users/{user_id}/activities/{activity_id} does not exist")

    async def _with_offset(self, user_id: uuid.UUID, fields: ActivityFields) -> ActivityFields:
        """Fills a missing UTC offset from the user's time zone at start_time."""
        if fields.utc_offset_minutes is not None or fields.start_time is None:
            return fields
        profile = await self._profiles.profile(user_id)
        return dataclasses.replace(fields, utc_offset_minutes=local_time.offset_minutes(profile.time_zone,
                                                                                     fields.start_time))
