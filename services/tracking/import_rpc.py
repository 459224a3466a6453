"""The internal ImportRecords RPC: activities and sleep sessions in bulk, for Ingest's imports,
answered with one outcome per record rather than the stored records (a mixin for
TrackingInternalServicer, which sets `self.activities` and `self.sleep`)."""

from __future__ import annotations

import uuid

from healthmesh.tracking.v1 import tracking_internal_service_pb2 as internal_pb2

from services.common.errors import InvalidArgument, PermissionDenied, Violations
from services.common.principal import current_principal, parse_name
from services.tracking.activities import convert as activity_convert
from services.tracking.activities.service import ActivityService
from services.tracking.imports import ImportOutcome
from services.tracking.sleep import convert as sleep_convert
from services.tracking.sleep.service import SleepService

MAX_RECORDS = 500


class RecordImportRpcs:
    activities: ActivityService
    sleep: SleepService

    async def ImportRecords(self, request, context):
        principal = current_principal.get()
        if not principal.user_id:
            raise PermissionDenied("ImportRecords needs the end user's principal (x-healthmesh-user)")
        user_id = uuid.UUID(parse_name(request.user, "users/{user}", principal, "user")["user"])
        if not 1 <= len(request.records) <= MAX_RECORDS:
            raise InvalidArgument.field("records", f"must hold 1 to {MAX_RECORDS} records, got {len(request.records)}")
        results: list[ImportOutcome | None] = [None] * len(request.records)
        activities, sessions = [], []  # (index, fields, request id)
        for i, record in enumerate(request.records):
            kind = record.WhichOneof("record")
            if kind is None:
                results[i] = ImportOutcome("REJECTED", f"records[{i}]: holds neither an activity nor a sleep session")
                continue
            v = Violations()
            if kind == "activity":
                group = activities
                fields = activity_convert.activity_fields(record.activity, v, f"records[{i}].activity")
            else:
                group = sessions
                fields = sleep_convert.sleep_fields(record.sleep_session, v, f"records[{i}].sleep_session")
            if v.items:  # a message that does not convert: this record only
                results[i] = ImportOutcome("REJECTED", v.summary)
            else:
                group.append((i, fields, record.request_id))
        for group, service in ((activities, self.activities), (sessions, self.sleep)):
            if group:
                outcomes = await service.create_many(user_id, [(fields, request_id) for _, fields, request_id in group])
                for (i, _, _), outcome in zip(group, outcomes):
                    results[i] = outcome
        return internal_pb2.ImportRecordsResponse(results=[
            internal_pb2.ImportResult(outcome=internal_pb2.ImportResult.Outcome.Value(r.outcome), message=r.message)
            for r in results])
