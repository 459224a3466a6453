"""Samples' RPCs: TrackingService's sample methods, and the internal service (WriteSamples here,
ImportRecords from import_rpc.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from google.protobuf import empty_pb2
from healthmesh.tracking.v1 import tracking_internal_service_pb2, tracking_internal_service_pb2_grpc
from healthmesh.tracking.v1 import sample_pb2, tracking_service_pb2

from services.common import metrics, pagination
from services.common.convert import from_timestamp
from services.common.errors import FieldViolation, InvalidArgument, PermissionDenied, Unavailable
from services.common.idempotency import RequestResults
from services.common.principal import caller_parent, current_principal, parse_name
from services.tracking.activities.service import ActivityService
from services.tracking.import_rpc import RecordImportRpcs
from services.tracking.samples import convert
from services.tracking.samples.catalog import CATALOG
from services.tracking.samples.domain import Interval
from services.tracking.samples.service import SampleService, WriteResult, newest_first
from services.tracking.sleep.service import SleepService



def _sample_name(name: str) -> tuple[uuid.UUID, uuid.UUID]:
    ids = parse_name(name, "users/{user}/samples/{sample}", current_principal.get())
    return uuid.UUID(ids["user"]), uuid.UUID(ids["sample"])


def _time(request, field: str) -> dt.datetime | None:
    return from_timestamp(getattr(request, field)) if request.HasField(field) else None


class SampleRpcs:
    """Mixin for TrackingServicer; `self.samples` is the SampleService, `self.page_tokens` signs pages."""

    samples: SampleService
    request_results: RequestResults
    page_tokens: pagination.PageTokens

    async def ListSampleTypes(self, request, context):
        return tracking_service_pb2.ListSampleTypesResponse(
            sample_types=[convert.sample_type(t) for t in self.samples.catalog()])

    async def GetSample(self, request, context):
        user_id, sample_id = _sample_name(request.name)
        return convert.sample(await self.samples.get(user_id, sample_id))

    async def DeleteSample(self, request, context):
        user_id, sample_id = _sample_name(request.name)
        await self.samples.delete(user_id, sample_id)
        return empty_pb2.Empty()

    async def CreateSample(self, request, context):
        user_id = caller_parent(request.parent)

        async def create():
            created = convert.sample(await self.samples.create(user_id, convert.sample_input(request.sample)))
            metrics.samples_written("rest", 1, 0, 0, 0)  # stored (a create at a stored key included)
            return created

        return await self.request_results.once(user_id, "CreateSample", request.request_id,
                                               sample_pb2.Sample.FromString, create)

    async def BatchCreateSamples(self, request, context):
        user_id = caller_parent(request.parent)
        if not request.samples:
            raise InvalidArgument.field("samples", "must hold 1 to 10,000 samples")

        async def create():
            result = await self.samples.write(user_id, [convert.sample_input(s) for s in request.samples],
                                              want_samples=True)
            metrics.samples_written("rest", result.accepted, result.duplicate, result.updated, result.rejected)
            response = tracking_service_pb2.BatchCreateSamplesResponse(
                errors=[convert.sample_error(e) for e in result.errors], accepted=result.accepted,
                duplicate=result.duplicate, updated=result.updated, rejected=result.rejected)
            convert.add_samples(response.samples, result.samples)
            return response

        return await self.request_results.once(user_id, "BatchCreateSamples", request.request_id,
                                               tracking_service_pb2.BatchCreateSamplesResponse.FromString, create)

    async def ListSamples(self, request, context):
        user_id = caller_parent(request.parent)
        start, end = _time(request, "start_time"), _time(request, "end_time")
        source = request.source or None  # empty: every source
        newest = newest_first(request.order_by)
        # The order is part of the query a token is bound to (and tokens of the old oldest-first
        # list, which had no order in it, are refused rather than resumed the wrong way round).
        query = {"user": str(user_id), "type": request.type, "source": source, "start": start, "end": end,
                 "order": "desc" if newest else "asc"}
        size = pagination.page_size(request.page_size)
        after = self.page_tokens.decode_keyset(request.page_token, query, pagination.instant, str, str)
        found = await self.samples.list(user_id, request.type, source, start, end, size + 1, after, newest)
        token = ""
        if len(found) > size:  # one more than a page: a next page exists
            found = found[:size]
            last = found[-1]
            token = self.page_tokens.encode([last.start_time.isoformat(), last.type, last.source], query)
        response = tracking_service_pb2.ListSamplesResponse(next_page_token=token)
        convert.add_samples(response.samples, found)
        return response

    async def GetLatestSamples(self, request, context):
        user_id = caller_parent(request.parent)
        found = await self.samples.latest(user_id, list(request.types))
        response = tracking_service_pb2.GetLatestSamplesResponse()
        convert.add_samples(response.samples, found)
        return response

    async def AggregateSamples(self, request, context):
        return await aggregate(self.samples, request)


async def aggregate(samples: SampleService, request) -> tracking_service_pb2.AggregateSamplesResponse:
    user_id = caller_parent(request.parent)
    buckets = await samples.aggregate(user_id, request.type, Interval(request.interval), _time(request, "start_time"),
                                      _time(request, "end_time"), request.source)
    spec = CATALOG[request.type]
    response = tracking_service_pb2.AggregateSamplesResponse(type=spec.key, unit=spec.unit,
                                                             aggregation=spec.aggregation)
    convert.add_buckets(response.buckets, buckets)
    return response


MAX_BATCH_AGGREGATES = 50


async def _aggregate_item(samples: SampleService, index: int, request):
    try:
        return await aggregate(samples, request)
    except InvalidArgument as exc:  # named by its place in the batch
        raise InvalidArgument(f"requests[{index}].{exc.message}", [
            FieldViolation(f"requests[{index}].{v.field}", v.description) for v in exc.violations], exc.reason) from None


def ack(sequence: int, result: WriteResult) -> tracking_internal_service_pb2.WriteSamplesResponse:
    return tracking_internal_service_pb2.WriteSamplesResponse(
        sequence=sequence, accepted=result.accepted, duplicate=result.duplicate, updated=result.updated,
        rejected=result.rejected, errors=[convert.sample_error(e) for e in result.errors])


async def _acked(storing: tuple[int, asyncio.Task]) -> tracking_internal_service_pb2.WriteSamplesResponse:
    sequence, task = storing
    return ack(sequence, await task)


class TrackingInternalServicer(RecordImportRpcs, tracking_internal_service_pb2_grpc.TrackingInternalServiceServicer):
    def __init__(self, samples: SampleService, activities: ActivityService, sleep: SleepService,
                 shutdown: asyncio.Event) -> None:
        self._samples = samples
        self.activities = activities
        self.sleep = sleep
        self._shutdown = shutdown

    async def BatchAggregateSamples(self, request, context):
        if not 1 <= len(request.requests) <= MAX_BATCH_AGGREGATES:
            raise InvalidArgument.field("requests", f"1 to {MAX_BATCH_AGGREGATES} aggregates, "
                                                    f"got {len(request.requests)}")
        responses = await asyncio.gather(*(_aggregate_item(self._samples, i, r)
                                           for i, r in enumerate(request.requests)))
        return tracking_internal_service_pb2.BatchAggregateSamplesResponse(responses=responses)

    async def WriteSamples(self, request_iterator, context):
        """One ack per batch, after its commit, in order. While a batch is being stored the next
        one is read and checked, so checking and the database overlap; a batch is acked as soon
        as it is stored, whether or not another has come."""
        principal = current_principal.get()
        previous = None
        requests = aiter(request_iterator)
        reading: asyncio.Future | None = asyncio.ensure_future(anext(requests))
        storing: tuple[int, asyncio.Task] | None = None
        try:
            while reading is not None or storing is not None:
                if storing is not None and (reading is None or not reading.done()):
                    # Whichever comes first: the stored batch (ack it now) or the next batch.
                    await asyncio.wait({t for t in (storing[1], reading) if t is not None},
                                       return_when=asyncio.FIRST_COMPLETED)
                    if storing[1].done():
                        yield await _acked(storing)
                        storing = None
                        continue
                try:
                    batch = await reading
                except StopAsyncIteration:
                    reading = None
                    continue
                reading = None
                try:
                    checked = await self._check(batch, principal, previous)
                except Exception:
                    if storing is not None:  # the batch before a bad one is still acked once stored
                        yield await _acked(storing)
                        storing = None
                    raise
                previous = batch.sequence
                if storing is not None:  # one batch stored at a time, in order
                    yield await _acked(storing)
                path = "write_samples_columns" if batch.HasField("columns") else "write_samples_rows"
                storing = (batch.sequence, asyncio.create_task(self._store(checked, path)))
                reading = asyncio.ensure_future(anext(requests))
        finally:
            for pending in (reading, storing[1] if storing else None):
                if pending is not None and not pending.done():
                    pending.cancel()  # a batch never acked is resent by its sender

    async def _store(self, checked, path: str) -> WriteResult:
        result = await self._samples.store(checked)
        metrics.samples_written(path, result.accepted, result.duplicate, result.updated, result.rejected)
        return result

    async def _check(self, batch, principal, previous: int | None):
        """A batch's envelope and rows checked, ready to store; errors end the stream."""
        if self._shutdown.is_set():
            raise Unavailable("tracking is shutting down; resend the batches not acknowledged")
        if not principal.user_id:
            raise PermissionDenied("WriteSamples needs the end user's principal (x-healthmesh-user)")
        user_id = uuid.UUID(parse_name(batch.user, "users/{user}", principal, "user")["user"])
        if previous is not None and batch.sequence <= previous:
            raise InvalidArgument.field("sequence", f"must increase: {batch.sequence} after {previous}")
        if batch.samples and batch.HasField("columns"):
            raise InvalidArgument.field("columns", "a batch carries samples or columns, not both")
        columns = (convert.sample_columns(batch.columns) if batch.HasField("columns") else
                   convert.sample_rows(batch.samples))
        return await self._samples.check(user_id, columns, batch.ingest_id, batch.default_source)
