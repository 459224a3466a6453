"""Activities: protobuf <-> domain, nothing else."""

from __future__ import annotations

from google.protobuf import timestamp_pb2
from healthmesh.tracking.v1 import activity_pb2, tracking_service_pb2

from services.common.convert import from_timestamp, timestamp
from services.common.errors import Violations
from services.tracking.activities.domain import (
    Activity, ActivityFields, ActivityFilter, HeartRatePoint, HeartRateSummary, RoutePoint, Weather,
)

_EPOCH = from_timestamp(timestamp_pb2.Timestamp())


def time(ts: timestamp_pb2.Timestamp, field: str, v: Violations):
    """A Timestamp as an aware UTC datetime; one outside what a datetime holds is a violation."""
    try:
        return from_timestamp(ts)
    except (ValueError, OverflowError):
        v.add(field, "is not a valid timestamp")
        return _EPOCH


def _opt(msg, field: str):
    return getattr(msg, field) if msg.HasField(field) else None


def activity_fields(msg: activity_pb2.Activity, v: Violations, prefix: str = "activity") -> ActivityFields:
    """The client-settable part of an Activity; output-only fields and name are ignored."""
    hr = HeartRateSummary()
    if msg.HasField("heart_rate"):
        hr = HeartRateSummary(_opt(msg.heart_rate, "min_bpm"), _opt(msg.heart_rate, "avg_bpm"),
                              _opt(msg.heart_rate, "max_bpm"))
    weather = None
    if msg.HasField("weather"):
        w = msg.weather
        weather = Weather(_opt(w, "temperature_celsius"), _opt(w, "humidity_percent"), w.conditions)
    series = tuple(
        HeartRatePoint(time(p.time, f"{prefix}.heart_rate_series[{i}].time", v), p.bpm,
                       _opt(p, "min_bpm"), _opt(p, "max_bpm"))
        for i, p in enumerate(msg.heart_rate_series))
    route = tuple(
        RoutePoint(time(p.time, f"{prefix}.route[{i}].time", v), p.latitude, p.longitude, _opt(p, "altitude_meters"),
                   _opt(p, "speed_meters_per_second"), _opt(p, "course_degrees"),
                   _opt(p, "horizontal_accuracy_meters"), _opt(p, "vertical_accuracy_meters"))
        for i, p in enumerate(msg.route))
    return ActivityFields(
        type=msg.type, display_name=msg.display_name,
        start_time=time(msg.start_time, f"{prefix}.start_time", v) if msg.HasField("start_time") else None,
        end_time=time(msg.end_time, f"{prefix}.end_time", v) if msg.HasField("end_time") else None,
        utc_offset_minutes=_opt(msg, "utc_offset_minutes"), duration_seconds=msg.duration_seconds,
        distance_meters=_opt(msg, "distance_meters"), active_energy_kcal=_opt(msg, "active_energy_kcal"),
        total_energy_kcal=_opt(msg, "total_energy_kcal"), steps=_opt(msg, "steps"),
        elevation_ascent_meters=_opt(msg, "elevation_ascent_meters"),
        elevation_descent_meters=_opt(msg, "elevation_descent_meters"),
        pace_seconds_per_km=_opt(msg, "pace_seconds_per_km"),
        speed_meters_per_second=_opt(msg, "speed_meters_per_second"),
        heart_rate=hr, heart_rate_series=series, route=route, indoor=_opt(msg, "indoor"), weather=weather,
        notes=msg.notes, source=msg.source,
    )


def view(value: int, default_full: bool, v: Violations) -> bool:
    """Whether a view asks for the series and route (FULL)."""
    if value == activity_pb2.ACTIVITY_VIEW_UNSPECIFIED:
        return default_full
    if value not in (activity_pb2.BASIC, activity_pb2.FULL):
        v.add("view", "is not a known ActivityView")
    return value == activity_pb2.FULL


def list_filter(req: tracking_service_pb2.ListActivitiesRequest, v: Violations) -> ActivityFilter:
    return ActivityFilter(
        type=req.type, source=req.source,
        start_time=time(req.start_time, "start_time", v) if req.HasField("start_time") else None,
        end_time=time(req.end_time, "end_time", v) if req.HasField("end_time") else None,
    )


def _nonnull(**values) -> dict:
    return {k: val for k, val in values.items() if val is not None}


def activity(a: Activity) -> activity_pb2.Activity:
    f, hr = a.fields, a.heart_rate
    msg = activity_pb2.Activity(
        name=f"users/{a.user_id}/activities/{a.id}", type=f.type, display_name=f.display_name,
        start_time=timestamp(f.start_time), end_time=timestamp(f.end_time), duration_seconds=a.duration_seconds,
        notes=f.notes, source=f.source, create_time=timestamp(a.create_time), update_time=timestamp(a.update_time),
        **_nonnull(utc_offset_minutes=f.utc_offset_minutes, distance_meters=f.distance_meters,
                   active_energy_kcal=f.active_energy_kcal, total_energy_kcal=f.total_energy_kcal, steps=f.steps,
                   elevation_ascent_meters=f.elevation_ascent_meters,
                   elevation_descent_meters=f.elevation_descent_meters,
                   pace_seconds_per_km=a.pace_seconds_per_km, speed_meters_per_second=a.speed_meters_per_second,
                   indoor=f.indoor),
    )
    if hr != HeartRateSummary():
        msg.heart_rate.CopyFrom(activity_pb2.HeartRateSummary(
            **_nonnull(min_bpm=hr.min_bpm, avg_bpm=hr.avg_bpm, max_bpm=hr.max_bpm)))
    if f.weather is not None:
        w = f.weather
        msg.weather.CopyFrom(activity_pb2.Weather(
            conditions=w.conditions,
            **_nonnull(temperature_celsius=w.temperature_celsius, humidity_percent=w.humidity_percent)))
    if a.full:
        msg.heart_rate_series.extend(
            activity_pb2.HeartRatePoint(time=timestamp(p.time), bpm=p.bpm,
                                        **_nonnull(min_bpm=p.min_bpm, max_bpm=p.max_bpm))
            for p in f.heart_rate_series)
        msg.route.extend(
            activity_pb2.RoutePoint(
                time=timestamp(p.time), latitude=p.latitude, longitude=p.longitude,
                **_nonnull(altitude_meters=p.altitude_meters, speed_meters_per_second=p.speed_meters_per_second,
                           course_degrees=p.course_degrees,
                           horizontal_accuracy_meters=p.horizontal_accuracy_meters,
                           vertical_accuracy_meters=p.vertical_accuracy_meters))
            for p in f.route)
    return msg
