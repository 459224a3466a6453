"""Device: protobuf <-> domain, nothing else."""

from __future__ import annotations

from healthmesh.device.v1 import device_health_pb2, device_pb2, device_service_pb2
from healthmesh.tracking.v1 import sample_pb2

from services.common.convert import from_timestamp, timestamp
from services.device.domain import (
    Credentials, Device, DeviceError, DeviceFields, HealthReport, HealthStatus, SyncSettings, WriteCounts,
)

DEVICE_TYPES = frozenset(device_pb2.DeviceType.values())


def _time(message, field: str):
    return from_timestamp(getattr(message, field)) if message.HasField(field) else None


def credentials(c: device_pb2.DeviceCredentials) -> Credentials:
    return Credentials(c.access_token, c.refresh_token, _time(c, "expire_time"), c.api_key, dict(c.extra))


def device_fields(d: device_pb2.Device) -> DeviceFields:
    s = d.sync_settings
    return DeviceFields(
        display_name=d.display_name, manufacturer=d.manufacturer, model=d.model, device_type=d.device_type,
        hardware_id=d.hardware_id, firmware_version=d.firmware_version, capabilities=tuple(d.capabilities),
        sample_source=d.sample_source, integration=d.integration,
        sync_settings=SyncSettings(s.auto_sync, s.sync_interval_seconds, tuple(s.sample_types), s.backfill_days),
        credentials=credentials(d.credentials) if d.HasField("credentials") else None, state=d.state)


def device(d: Device) -> device_pb2.Device:
    s = d.sync_settings
    out = device_pb2.Device(
        name=d.name, display_name=d.display_name, manufacturer=d.manufacturer, model=d.model,
        device_type=d.device_type, hardware_id=d.hardware_id, firmware_version=d.firmware_version,
        capabilities=d.capabilities, sample_source=d.sample_source, integration=d.integration,
        sync_settings=device_pb2.SyncSettings(auto_sync=s.auto_sync, sync_interval_seconds=s.sync_interval_seconds,
                                              sample_types=s.sample_types, backfill_days=s.backfill_days),
        has_credentials=d.has_credentials, state=int(d.state), last_sync_time=timestamp(d.last_sync_time),
        last_seen_time=timestamp(d.last_seen_time), create_time=timestamp(d.create_time),
        update_time=timestamp(d.update_time))
    if d.battery_percent is not None:
        out.battery_percent = d.battery_percent
    return out


def health_report(r: device_service_pb2.ReportDeviceHealthRequest) -> HealthReport:
    def opt(field: str):
        return getattr(r, field) if r.HasField(field) else None

    return HealthReport(
        battery_percent=opt("battery_percent"), charging=opt("charging"),
        signal_strength_dbm=opt("signal_strength_dbm"),
        firmware_version=r.firmware_version, storage_used_percent=opt("storage_used_percent"),
        uptime_seconds=opt("uptime_seconds"),
        errors=tuple(DeviceError(e.code, e.message, _time(e, "occur_time")) for e in r.errors),
        report_time=_time(r, "report_time"))


def health(name: str, r: HealthReport | None, status: HealthStatus) -> device_health_pb2.DeviceHealth:
    out = device_health_pb2.DeviceHealth(name=name, status=int(status))
    if r is None:
        return out
    for field in ("battery_percent", "charging", "signal_strength_dbm", "storage_used_percent", "uptime_seconds"):
        value = getattr(r, field)
        if value is not None:
            setattr(out, field, value)
    out.firmware_version = r.firmware_version
    for e in r.errors:
        out.errors.add(code=e.code, message=e.message, occur_time=timestamp(e.occur_time))
    out.report_time.CopyFrom(timestamp(r.report_time))
    out.update_time.CopyFrom(timestamp(r.update_time))
    return out


def upload_response(c: WriteCounts) -> device_service_pb2.UploadDeviceDataResponse:
    return device_service_pb2.UploadDeviceDataResponse(
        accepted=c.accepted, duplicate=c.duplicate, updated=c.updated, rejected=c.rejected,
        errors=[sample_pb2.SampleError(index=e.index, field=e.field, reason=e.reason, message=e.message)
                for e in c.errors])
