"""Devices, their integrations, credentials, health and quotas. No grpc, protobuf or SQL here."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

from services.common.errors import Violations, shown

MAX_DEVICES = 100
MAX_DISPLAY_NAME = 100
MAX_TEXT = 100  # manufacturer, model, firmware, hardware id
MAX_CAPABILITIES = 64
MAX_BATCH = 10_000
MAX_HEALTH_ERRORS = 50
STALE_AFTER = dt.timedelta(days=7)
DEFAULT_SYNC_INTERVAL = 3600
SYNC_INTERVAL_RANGE = (900, 86_400)
DEFAULT_BACKFILL_DAYS = 30
MAX_BACKFILL_DAYS = 365

UPDATABLE_FIELDS = frozenset({
    "display_name", "manufacturer", "model", "device_type", "firmware_version", "capabilities", "sync_settings",
    "credentials", "state",
})
IMMUTABLE_FIELDS = frozenset({"hardware_id", "sample_source", "integration"})
OUTPUT_ONLY_FIELDS = frozenset({
    "name", "has_credentials", "last_sync_time", "last_seen_time", "battery_percent", "create_time",
    "update_time",
})


@dataclass(frozen=True)
class Integration:
    """How a device's data comes in. `pulls` says whether Device fetches it from a vendor (with
    the device's credentials) or the device sends it itself."""

    key: str
    pulls: bool
    description: str


# The catalog of integrations: a new vendor adapter adds its entry here (and its sync runner).
INTEGRATIONS = {
    i.key: i for i in (
        Integration("push", False, "the device streams or uploads its own data"),
        Integration("oura", True, "Device pulls the data from the Oura API v2"),
    )
}
DEFAULT_INTEGRATION = "push"


class State(enum.IntEnum):
    UNSPECIFIED = 0  # means ACTIVE on create
    ACTIVE = 1
    PAUSED = 2
    ERROR = 3


USER_STATES = frozenset({State.ACTIVE, State.PAUSED})


class HealthStatus(enum.IntEnum):
    UNSPECIFIED = 0
    OK = 1
    WARNING = 2
    CRITICAL = 3


@dataclass(frozen=True)
class SyncSettings:
    auto_sync: bool = False
    sync_interval_seconds: int = DEFAULT_SYNC_INTERVAL
    sample_types: tuple[str, ...] = ()
    backfill_days: int = DEFAULT_BACKFILL_DAYS


@dataclass(frozen=True)
class Credentials:
    """A vendor connection's secrets, only ever held in memory in the clear."""

    access_token: str = ""
    refresh_token: str = ""
    expire_time: dt.datetime | None = None
    api_key: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.access_token or self.refresh_token or self.api_key or self.extra)


@dataclass(frozen=True)
class Device:
    id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    manufacturer: str
    model: str
    device_type: int
    hardware_id: str
    firmware_version: str
    capabilities: tuple[str, ...]
    sample_source: str
    integration: str
    sync_settings: SyncSettings
    state: State
    has_credentials: bool
    last_sync_time: dt.datetime | None
    last_seen_time: dt.datetime | None
    battery_percent: int | None
    create_time: dt.datetime
    update_time: dt.datetime

    @property
    def name(self) -> str:
        return f"users/{self.user_id}/devices/{self.id}"

    def accepts(self, sample_type: str) -> bool:
        """Whether a sample of this type is the device's to send: one of its capabilities, or any
        type when it declared none."""
        return not self.capabilities or sample_type in self.capabilities

    def stale(self, now: dt.datetime) -> bool:
        return is_stale(self.last_seen_time, self.create_time, now)


def is_stale(last_seen: dt.datetime | None, created: dt.datetime, now: dt.datetime) -> bool:
    """Nothing heard for STALE_AFTER (or, never heard from, registered that long ago)."""
    return (last_seen or created) <= now - STALE_AFTER


@dataclass(frozen=True)
class DeviceFields:
    """What a client may set on a device, as sent (checked by check_create / apply_update)."""

    display_name: str = ""
    manufacturer: str = ""
    model: str = ""
    device_type: int = 0
    hardware_id: str = ""
    firmware_version: str = ""
    capabilities: tuple[str, ...] = ()
    sample_source: str = ""
    integration: str = ""
    sync_settings: SyncSettings | None = None
    credentials: Credentials | None = None
    state: int = 0


def _text(value: str, path: str, limit: int, v: Violations, required: bool = False) -> None:
    if required and not value.strip():
        v.add(path, "is required")
    elif len(value) > limit:
        v.add(path, f"must be at most {limit} characters")


def _types(values: Sequence[str], path: str, known: Collection[str], v: Violations) -> None:
    if len(values) > MAX_CAPABILITIES:
        v.add(path, f"must list at most {MAX_CAPABILITIES} sample types")
        return
    for i, t in enumerate(values):
        if t not in known:
            v.add(f"{path}[{i}]", f"{shown(t)} is not a sample type of Tracking's catalog")


def _sync_settings(s: SyncSettings, capabilities: Sequence[str], known: Collection[str], v: Violations) -> None:
    low, high = SYNC_INTERVAL_RANGE
    if s.sync_interval_seconds != 0 and not low <= s.sync_interval_seconds <= high:
        v.add("device.sync_settings.sync_interval_seconds", f"must be 0 or from {low} to {high}")
    if not 0 <= s.backfill_days <= MAX_BACKFILL_DAYS:
        v.add("device.sync_settings.backfill_days", f"must be from 0 to {MAX_BACKFILL_DAYS}")
    _types(s.sample_types, "device.sync_settings.sample_types", known, v)
    for i, t in enumerate(s.sample_types):
        if capabilities and t in known and t not in capabilities:
            v.add(f"device.sync_settings.sample_types[{i}]", f"{shown(t)} is not one of the device's capabilities")


def normalized_sync(s: SyncSettings | None) -> SyncSettings:
    """Zero values mean the defaults the contract names."""
    s = s or SyncSettings()
    return replace(s, sync_interval_seconds=s.sync_interval_seconds or DEFAULT_SYNC_INTERVAL,
                   backfill_days=s.backfill_days or DEFAULT_BACKFILL_DAYS)


def _state(value: int, v: Violations) -> None:
    if value not in (0, *USER_STATES):
        v.add("device.state", "may only be set to ACTIVE or PAUSED")


def _device_type(value: int, known_types: Collection[int], v: Violations) -> None:
    if value not in known_types:
        v.add("device.device_type", "is not a known device type")


def new_device(user_id: uuid.UUID, device_id: uuid.UUID, f: DeviceFields, known: Collection[str],
               known_types: Collection[int], now: dt.datetime) -> Device:
    """A device to register from what the client sent; INVALID_ARGUMENT listing every problem."""
    v = Violations()
    _text(f.display_name, "device.display_name", MAX_DISPLAY_NAME, v, required=True)
    for path, value in (("manufacturer", f.manufacturer), ("model", f.model), ("hardware_id", f.hardware_id),
                        ("firmware_version", f.firmware_version), ("sample_source", f.sample_source)):
        _text(value, f"device.{path}", MAX_TEXT, v)
    _device_type(f.device_type, known_types, v)
    _types(f.capabilities, "device.capabilities", known, v)
    if f.integration and f.integration not in INTEGRATIONS:
        v.add("device.integration", f"{shown(f.integration)} is not one of {', '.join(sorted(INTEGRATIONS))}")
    _sync_settings(f.sync_settings or SyncSettings(), f.capabilities, known, v)
    _state(f.state, v)
    v.raise_if_any()
    return Device(
        id=device_id, user_id=user_id, display_name=f.display_name.strip(), manufacturer=f.manufacturer,
        model=f.model, device_type=f.device_type, hardware_id=f.hardware_id.strip(),
        firmware_version=f.firmware_version, capabilities=tuple(dict.fromkeys(f.capabilities)),
        sample_source=f.sample_source or f.display_name.strip(), integration=f.integration or DEFAULT_INTEGRATION,
        sync_settings=normalized_sync(f.sync_settings), state=State(f.state or State.ACTIVE),
        has_credentials=bool(f.credentials and not f.credentials.empty), last_sync_time=None, last_seen_time=None,
        battery_percent=None, create_time=now, update_time=now)


def apply_update(d: Device, paths: Sequence[str], f: DeviceFields, known: Collection[str],
                 known_types: Collection[int], now: dt.datetime) -> Device:
    """The device with the masked fields changed; the mask itself is checked by the caller."""
    v = Violations()
    changes: dict = {}
    for path in dict.fromkeys(paths):
        if path == "display_name":
            _text(f.display_name, "device.display_name", MAX_DISPLAY_NAME, v, required=True)
            changes[path] = f.display_name.strip()
        elif path in ("manufacturer", "model", "firmware_version"):
            _text(getattr(f, path), f"device.{path}", MAX_TEXT, v)
            changes[path] = getattr(f, path)
        elif path == "device_type":
            _device_type(f.device_type, known_types, v)
            changes[path] = f.device_type
        elif path == "capabilities":
            _types(f.capabilities, "device.capabilities", known, v)
            changes[path] = tuple(dict.fromkeys(f.capabilities))
        elif path == "sync_settings":
            changes[path] = normalized_sync(f.sync_settings)
        elif path == "state":
            _state(f.state, v)
            changes[path] = State(f.state or State.ACTIVE) if f.state in (0, *USER_STATES) else d.state
        elif path == "credentials":
            changes["has_credentials"] = bool(f.credentials and not f.credentials.empty)
    settings = changes.get("sync_settings", d.sync_settings)
    if "sync_settings" in changes or "capabilities" in changes:
        _sync_settings(settings, changes.get("capabilities", d.capabilities), known, v)
    v.raise_if_any()
    if d.state == State.ERROR and ("credentials" in paths or "state" in paths) and "state" not in changes:
        changes["state"] = State.ACTIVE  # the contract: updating the credentials or state clears ERROR
    return replace(d, **changes, update_time=now)


# Health.

@dataclass(frozen=True)
class DeviceError:
    code: str
    message: str
    occur_time: dt.datetime | None


@dataclass(frozen=True)
class HealthReport:
    battery_percent: int | None = None
    charging: bool | None = None
    signal_strength_dbm: int | None = None
    firmware_version: str = ""
    storage_used_percent: float | None = None
    uptime_seconds: int | None = None
    errors: tuple[DeviceError, ...] = ()
    report_time: dt.datetime | None = None
    update_time: dt.datetime | None = None


def check_report(r: HealthReport, now: dt.datetime) -> HealthReport:
    """The report as stored: checked, timed (receipt time when not given), errors newest first."""
    v = Violations()
    if r.battery_percent is not None and not 0 <= r.battery_percent <= 100:
        v.add("battery_percent", "must be from 0 to 100")
    if r.storage_used_percent is not None and not 0 <= r.storage_used_percent <= 100:
        v.add("storage_used_percent", "must be from 0 to 100")  # NaN fails this too
    if r.uptime_seconds is not None and r.uptime_seconds < 0:
        v.add("uptime_seconds", "must not be negative")
    if len(r.errors) > MAX_HEALTH_ERRORS:
        v.add("errors", f"must be at most {MAX_HEALTH_ERRORS}")
    if r.report_time is not None and r.report_time > now + dt.timedelta(days=1):
        v.add("report_time", "must not be more than a day ahead")
    _text(r.firmware_version, "firmware_version", MAX_TEXT, v)
    v.raise_if_any()
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    errors = tuple(sorted(r.errors, key=lambda e: e.occur_time or epoch, reverse=True))
    return replace(r, errors=errors, report_time=r.report_time or now, update_time=now)


def health_status(r: HealthReport | None, last_seen: dt.datetime | None, created: dt.datetime,
                  now: dt.datetime) -> HealthStatus:
    """The contract's verdict: CRITICAL for a battery below 5 percent, full storage or 7 days
    without a report or data; WARNING for a battery below 20 percent, storage above 90 percent or
    errors reported; OK otherwise; UNSPECIFIED before the first report."""
    if r is None:
        return HealthStatus.UNSPECIFIED
    heard = max(t for t in (last_seen, r.update_time, created) if t is not None)
    battery, storage = r.battery_percent, r.storage_used_percent
    if (battery is not None and battery < 5) or (storage is not None and storage >= 100) \
            or heard <= now - STALE_AFTER:
        return HealthStatus.CRITICAL
    if (battery is not None and battery < 20) or (storage is not None and storage > 90) or r.errors:
        return HealthStatus.WARNING
    return HealthStatus.OK


# Uploads.

TYPE_NOT_IN_CAPABILITIES = "TYPE_NOT_IN_CAPABILITIES"


@dataclass(frozen=True)
class Rejection:
    index: int
    reason: str
    message: str
    field: str = ""


@dataclass(frozen=True)
class WriteCounts:
    accepted: int = 0
    duplicate: int = 0
    updated: int = 0
    rejected: int = 0
    errors: tuple[Rejection, ...] = ()


def split_by_capability(d: Device, types: Sequence[str]) -> tuple[list[int], list[Rejection]]:
    """The indexes of the samples to send on, and the rejections of the others."""
    kept: list[int] = []
    rejected: list[Rejection] = []
    for i, t in enumerate(types):
        if d.accepts(t):
            kept.append(i)
        else:
            rejected.append(Rejection(i, TYPE_NOT_IN_CAPABILITIES,
                                      f"{shown(t)} is not one of the device's capabilities"))
    return kept, rejected


def merge_counts(sent: WriteCounts, kept: Sequence[int], own: Sequence[Rejection]) -> WriteCounts:
    """Tracking's counts for the samples sent on, with its error indexes mapped back to the
    request's, merged with Device's own rejections, in index order."""
    theirs = [replace(e, index=kept[e.index]) for e in sent.errors if 0 <= e.index < len(kept)]
    errors = tuple(sorted([*own, *theirs], key=lambda e: e.index))
    return WriteCounts(sent.accepted, sent.duplicate, sent.updated, sent.rejected + len(own), errors)


# Quotas.

@dataclass(frozen=True)
class Quota:
    """Samples a device, and a user over all their devices, may write per window."""

    per_device: int
    per_user: int
    window_seconds: int = 60
