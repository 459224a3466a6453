"""Ingest: protobuf <-> domain, nothing else (its own Ingestion, and the Tracking messages its
records become)."""

from __future__ import annotations

import math

from healthmesh.ingest.v1 import ingestion_pb2
from healthmesh.tracking.v1 import activity_pb2, sample_pb2, sleep_session_pb2, tracking_internal_service_pb2

from services.common.convert import StringIndex, from_timestamp, set_timestamp, timestamp
from services.ingest.domain import Ingestion, RequestHeaders
from services.ingest.records import SampleRecord, SampleRows, SleepRecord, WorkoutRecord


def ingestion(x: Ingestion) -> ingestion_pb2.Ingestion:
    out = ingestion_pb2.Ingestion(
        name=f"users/{x.user_id}/ingestions/{x.id}", state=int(x.state), format=int(x.format),
        errors=[ingestion_pb2.ItemError(path=e.path, reason=e.reason, message=e.message) for e in x.tally.errors],
        errors_truncated=x.tally.errors_truncated, payload_digest=x.payload_digest,
        payload_size_bytes=x.payload_size_bytes, processed_bytes=x.processed_bytes, content_type=x.content_type,
        request_headers=ingestion_pb2.RequestHeaders(**x.request_headers.__dict__), request_id=x.request_id,
        api_key=x.api_key, parser_version=x.parser_version, reprocess_count=x.reprocess_count,
        data_start_time=timestamp(x.tally.data_start), data_end_time=timestamp(x.tally.data_end),
        create_time=timestamp(x.create_time), update_time=timestamp(x.update_time),
        complete_time=timestamp(x.complete_time),
    )
    for metric, counts in x.tally.counts.items():
        out.counts[metric].CopyFrom(ingestion_pb2.ItemCounts(**counts.__dict__))
    return out


HEADER_FIELDS = {"automation-name": "automation_name", "automation-id": "automation_id",
                 "automation-aggregation": "automation_aggregation", "automation-period": "automation_period",
                 "session-id": "session_id", "user-agent": "user_agent"}


def request_headers(metadata: dict[str, str]) -> RequestHeaders:
    return RequestHeaders(**{field: metadata.get(header, "")[:500] for header, field in HEADER_FIELDS.items()})


def sample_columns(rows: SampleRows) -> tracking_internal_service_pb2.SampleColumns:
    """A batch as Tracking's columns."""
    strings = StringIndex()

    def refs(values: list[str]) -> list[int]:
        if values and values.count(values[0]) == len(values):  # the usual batch: one type, unit and source
            return [strings.ref(values[0])] * len(values)
        return [strings.ref(v) for v in values]

    out = tracking_internal_service_pb2.SampleColumns(
        type=refs(rows.type), unit=refs(rows.unit), source=refs(rows.source), start_time_micros=rows.start_us,
        value=rows.value)
    out.strings.extend(strings.strings())
    if rows.offset is not None:
        out.utc_offset_minutes.extend(rows.offset)
    # Optional columns: sent when some row has them (points in time need no end column).
    out.end_time_micros.extend(rows.end_us)
    for name in ("min", "max", "value2"):
        column = getattr(rows, name)
        if column and not all(map(math.isnan, column)):
            getattr(out, name).extend(column)
    out.meal_context.extend(rows.meal_context)
    return out


def sample_record(metric: str, path: str, s: sample_pb2.Sample) -> SampleRecord:
    def opt(name: str):
        return getattr(s, name) if s.HasField(name) else None

    return SampleRecord(
        metric=metric, path=path, type=s.type,
        start_time=from_timestamp(s.start_time) if s.HasField("start_time") else None,
        end_time=from_timestamp(s.end_time) if s.HasField("end_time") else None,
        utc_offset_minutes=opt("utc_offset_minutes"), value=s.value, unit=s.unit, source=s.source,
        min=opt("min"), max=opt("max"), value2=opt("value2"), meal_context=s.meal_context)


def activity(r: WorkoutRecord) -> activity_pb2.Activity:
    out = activity_pb2.Activity(
        type=r.type, display_name=r.name, start_time=timestamp(r.start_time), end_time=timestamp(r.end_time),
        notes=r.notes, source=r.source, duration_seconds=_duration_seconds(r),
        **_present(utc_offset_minutes=r.utc_offset_minutes, distance_meters=r.distance_m,
                   active_energy_kcal=r.active_energy_kcal, steps=None if r.steps is None else round(r.steps),
                   elevation_ascent_meters=r.elevation_ascent_m, elevation_descent_meters=r.elevation_descent_m,
                   total_energy_kcal=r.total_energy_kcal, speed_meters_per_second=r.speed_mps, indoor=r.indoor),
    )
    # Points are added in place, a field at a time: thousands per workout.
    series = out.heart_rate_series
    for p in r.heart_rate_series:
        point = series.add(bpm=p.bpm)
        set_timestamp(point.time, p.time)
        if p.min_bpm is not None:
            point.min_bpm = p.min_bpm
        if p.max_bpm is not None:
            point.max_bpm = p.max_bpm
    route = out.route
    for p in r.route:
        point = route.add(latitude=p.latitude, longitude=p.longitude)
        set_timestamp(point.time, p.time)
        for name, value in (("altitude_meters", p.altitude_m), ("speed_meters_per_second", p.speed_mps),
                            ("course_degrees", p.course_deg), ("horizontal_accuracy_meters", p.horizontal_accuracy_m)):
            if value is not None:
                setattr(point, name, value)
    out.heart_rate.CopyFrom(activity_pb2.HeartRateSummary(**_present(
        min_bpm=r.heart_rate_min, avg_bpm=r.heart_rate_avg, max_bpm=r.heart_rate_max)))
    if r.temperature_c is not None or r.humidity_percent is not None:
        out.weather.CopyFrom(activity_pb2.Weather(**_present(temperature_celsius=r.temperature_c,
                                                            humidity_percent=r.humidity_percent)))
    return out


def _duration_seconds(r: WorkoutRecord) -> int:
    """The app's moving time in whole seconds, 0 (end minus start) when it gave none. Rounded, it
    may pass end minus start by a fraction of a second, which Tracking refuses: held to it."""
    if not r.duration_s:
        return 0
    return max(0, min(round(r.duration_s), int((r.end_time - r.start_time).total_seconds())))


def sleep_session(r: SleepRecord) -> sleep_session_pb2.SleepSession:
    return sleep_session_pb2.SleepSession(
        start_time=timestamp(r.start_time), end_time=timestamp(r.end_time), source=r.source,
        stages=[sleep_session_pb2.SleepStagePeriod(stage=sleep_session_pb2.SleepStage.Value(s.stage),
                                                   start_time=timestamp(s.start_time), end_time=timestamp(s.end_time))
                for s in r.stages],
        # The app's own totals win over what the window and stages add up to (issue 17).
        **_present(utc_offset_minutes=r.utc_offset_minutes, reported_asleep_seconds=r.asleep_seconds,
                   reported_time_in_bed_seconds=r.in_bed_seconds),
    )


def _present(**values) -> dict:
    return {k: v for k, v in values.items() if v is not None}
