"""Sleep: protobuf <-> domain, nothing else."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2
from healthmesh.tracking.v1 import sleep_session_pb2, tracking_service_pb2

from services.common.convert import from_timestamp, timestamp
from services.common.errors import Violations
from services.tracking.sleep.domain import Analysis, SleepFields, SleepFilter, SleepSession, StagePeriod

_EPOCH = from_timestamp(timestamp_pb2.Timestamp())


def time(ts: timestamp_pb2.Timestamp, field: str, v: Violations) -> dt.datetime:
    """A Timestamp as an aware UTC datetime; one outside what a datetime holds is a violation."""
    try:
        return from_timestamp(ts)
    except (ValueError, OverflowError):
        v.add(field, "is not a valid timestamp")
        return _EPOCH


def _maybe_time(msg, field: str, path: str, v: Violations) -> dt.datetime | None:
    return time(getattr(msg, field), path, v) if msg.HasField(field) else None


def sleep_fields(msg: sleep_session_pb2.SleepSession, v: Violations, prefix: str = "sleep_session") -> SleepFields:
    """The client-settable part of a SleepSession; output-only fields and name are ignored."""
    stages = tuple(
        StagePeriod(p.stage, time(p.start_time, f"{prefix}.stages[{i}].start_time", v),
                    time(p.end_time, f"{prefix}.stages[{i}].end_time", v))
        for i, p in enumerate(msg.stages))
    return SleepFields(
        start_time=_maybe_time(msg, "start_time", f"{prefix}.start_time", v),
        end_time=_maybe_time(msg, "end_time", f"{prefix}.end_time", v),
        utc_offset_minutes=msg.utc_offset_minutes if msg.HasField("utc_offset_minutes") else None,
        stages=stages, score=msg.score if msg.HasField("score") else None, notes=msg.notes, source=msg.source,
        **{name: getattr(msg, name) if msg.HasField(name) else None for name in REPORTED})


REPORTED = ("reported_time_in_bed_seconds", "reported_asleep_seconds")


def list_filter(req: tracking_service_pb2.ListSleepSessionsRequest, v: Violations) -> SleepFilter:
    return SleepFilter(_maybe_time(req, "start_time", "start_time", v), _maybe_time(req, "end_time", "end_time", v),
                       req.source)


def analysis_window(req: tracking_service_pb2.AnalyzeSleepRequest,
                    v: Violations) -> tuple[dt.datetime | None, dt.datetime | None]:
    return _maybe_time(req, "start_time", "start_time", v), _maybe_time(req, "end_time", "end_time", v)


def sleep_session(s: SleepSession) -> sleep_session_pb2.SleepSession:
    f, fig = s.fields, s.figures
    return sleep_session_pb2.SleepSession(
        name=f"users/{s.user_id}/sleepSessions/{s.id}", start_time=timestamp(f.start_time),
        end_time=timestamp(f.end_time), utc_offset_minutes=f.utc_offset_minutes or 0,
        local_date=s.local_date.isoformat(),
        stages=[sleep_session_pb2.SleepStagePeriod(stage=p.stage, start_time=timestamp(p.start_time),
                                                   end_time=timestamp(p.end_time)) for p in f.stages],
        time_in_bed_seconds=fig.time_in_bed_seconds, asleep_seconds=fig.asleep_seconds,
        awake_seconds=fig.awake_seconds, light_seconds=fig.light_seconds, deep_seconds=fig.deep_seconds,
        rem_seconds=fig.rem_seconds, unspecified_asleep_seconds=fig.unspecified_asleep_seconds,
        score=s.score, efficiency_percent=fig.efficiency_percent, notes=f.notes, source=f.source,
        create_time=timestamp(s.create_time), update_time=timestamp(s.update_time),
        **{name: getattr(f, name) for name in REPORTED if getattr(f, name) is not None},
    )


def analysis(a: Analysis) -> tracking_service_pb2.AnalyzeSleepResponse:
    msg = tracking_service_pb2.AnalyzeSleepResponse(
        start_time=timestamp(a.start_time), end_time=timestamp(a.end_time), night_count=a.night_count,
        target_sleep_seconds=a.target_sleep_seconds, avg_asleep_seconds=a.avg_asleep_seconds,
        avg_time_in_bed_seconds=a.avg_time_in_bed_seconds, avg_awake_seconds=a.avg_awake_seconds,
        avg_light_seconds=a.avg_light_seconds, avg_deep_seconds=a.avg_deep_seconds,
        avg_rem_seconds=a.avg_rem_seconds, avg_efficiency_percent=a.avg_efficiency_percent,
        avg_bedtime=a.avg_bedtime, avg_wake_time=a.avg_wake_time,
        bedtime_stddev_minutes=a.bedtime_stddev_minutes, wake_time_stddev_minutes=a.wake_time_stddev_minutes,
        consistency_score=a.consistency_score, sleep_debt_seconds=a.sleep_debt_seconds,
        nights=[tracking_service_pb2.SleepNight(local_date=n.local_date.isoformat(), asleep_seconds=n.asleep_seconds,
                                                time_in_bed_seconds=n.time_in_bed_seconds,
                                                debt_seconds=n.debt_seconds) for n in a.nights],
    )
    if a.avg_score is not None:
        msg.avg_score = a.avg_score
    return msg
