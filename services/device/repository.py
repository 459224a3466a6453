"""Device's storage: devices, their sealed credentials and the key ring, health reports, the
revocations of deleted devices' keys. SQL stays here; callers get domain objects back."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.erasure import delete_by_user
from services.device import keyring
from services.device.domain import (
    Credentials, Device, DeviceError, HealthReport, State, SyncSettings,
)
from services.device.tables import CredentialsRow, DataKeyRow, DeviceRow, HealthReportRow, KeyRevocationRow

D, K, C, H, R = (DeviceRow.__table__, DataKeyRow.__table__, CredentialsRow.__table__, HealthReportRow.__table__,
                 KeyRevocationRow.__table__)


class HardwareIdTaken(Exception):
    """Another device of the user has this hardware_id."""


class DeviceRepository(Protocol):
    async def add(self, device: Device, credentials: Credentials | None) -> Device: ...
    async def get(self, user_id: uuid.UUID, device_id: uuid.UUID) -> Device | None: ...
    async def count(self, user_id: uuid.UUID) -> int: ...
    async def list(self, user_id: uuid.UUID, state: int, device_type: int, stale_before: dt.datetime | None,
                   limit: int, after: uuid.UUID | None) -> list[Device]: ...
    async def save(self, device: Device, credentials: Credentials | None,
                   replace_credentials: bool) -> Device | None: ...
    async def delete(self, user_id: uuid.UUID, device_id: uuid.UUID, now: dt.datetime) -> bool: ...
    async def credentials(self, user_id: uuid.UUID, device_id: uuid.UUID) -> Credentials | None: ...
    async def seen(self, user_id: uuid.UUID, device_id: uuid.UUID, now: dt.datetime,
                   battery_percent: int | None = None, firmware_version: str = "") -> None: ...
    async def synced(self, user_id: uuid.UUID, device_id: uuid.UUID, at: dt.datetime) -> None: ...
    async def set_error(self, user_id: uuid.UUID, device_id: uuid.UUID, now: dt.datetime) -> bool: ...
    async def report_health(self, user_id: uuid.UUID, device_id: uuid.UUID, report: HealthReport) -> bool: ...
    async def health(self, user_id: uuid.UUID, device_id: uuid.UUID) -> HealthReport | None: ...
    async def pending_key_revocations(self, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]: ...
    async def key_revocation_done(self, user_id: uuid.UUID, device_id: uuid.UUID) -> None: ...


def _device(row, has_credentials: bool) -> Device:
    return Device(
        id=row.id, user_id=row.user_id, display_name=row.display_name, manufacturer=row.manufacturer,
        model=row.model, device_type=row.device_type, hardware_id=row.hardware_id,
        firmware_version=row.firmware_version, capabilities=tuple(row.capabilities), sample_source=row.sample_source,
        integration=row.integration,
        sync_settings=SyncSettings(row.auto_sync, row.sync_interval_seconds, tuple(row.sync_sample_types),
                                   row.backfill_days),
        state=State(row.state), has_credentials=has_credentials, last_sync_time=row.last_sync_time,
        last_seen_time=row.last_seen_time, battery_percent=row.battery_percent, create_time=row.create_time,
        update_time=row.update_time)


def _values(d: Device) -> dict:
    s = d.sync_settings
    return dict(user_id=d.user_id, id=d.id, display_name=d.display_name, manufacturer=d.manufacturer,
                model=d.model, device_type=d.device_type, hardware_id=d.hardware_id,
                firmware_version=d.firmware_version, capabilities=list(d.capabilities),
                sample_source=d.sample_source, integration=d.integration, auto_sync=s.auto_sync,
                sync_interval_seconds=s.sync_interval_seconds, sync_sample_types=list(s.sample_types),
                backfill_days=s.backfill_days, state=int(d.state), last_sync_time=d.last_sync_time,
                last_seen_time=d.last_seen_time, battery_percent=d.battery_percent, create_time=d.create_time,
                update_time=d.update_time)


_HAS_CREDENTIALS = select(C.c.device_id).where(C.c.user_id == D.c.user_id, C.c.device_id == D.c.id).exists()
_WITH_CREDENTIALS = select(D, _HAS_CREDENTIALS.label("has_credentials"))


def _error(e: dict) -> DeviceError:
    return DeviceError(e["code"], e["message"], dt.datetime.fromisoformat(e["occur_time"]) if e["occur_time"] else None)


class SqlDeviceRepository:
    def __init__(self, engine: AsyncEngine, kek: bytes) -> None:
        self._engine = engine
        self._kek = kek
        self._keys: dict[uuid.UUID, bytes] = {}  # unwrapped data keys, by id
        self._primary: uuid.UUID | None = None

    # The key ring.

    async def _primary_key(self, conn: AsyncConnection) -> tuple[uuid.UUID, bytes]:
        """The newest data key, made (and wrapped) on first use; concurrent first uses on two
        replicas may each add one, which is harmless: every key keeps opening what it sealed."""
        if self._primary is None:
            row = (await conn.execute(select(K).order_by(K.c.create_time.desc(), K.c.id.desc()).limit(1))).first()
            if row is None:
                key_id, data_key = uuid.uuid4(), keyring.new_data_key()
                await conn.execute(insert(K).values(id=key_id, wrapped=keyring.wrap(key_id, data_key, self._kek),
                                                    create_time=dt.datetime.now(dt.UTC)))
            else:
                key_id, data_key = row.id, keyring.unwrap(row.id, row.wrapped, self._kek)
            self._keys[key_id] = data_key
            self._primary = key_id
        return self._primary, self._keys[self._primary]

    async def _data_key(self, conn: AsyncConnection, key_id: uuid.UUID) -> bytes:
        if key_id not in self._keys:
            wrapped = (await conn.execute(select(K.c.wrapped).where(K.c.id == key_id))).scalar_one()
            self._keys[key_id] = keyring.unwrap(key_id, wrapped, self._kek)
        return self._keys[key_id]

    async def _store_credentials(self, conn: AsyncConnection, d: Device, c: Credentials | None) -> None:
        await conn.execute(delete(C).where(C.c.user_id == d.user_id, C.c.device_id == d.id))
        if c is None or c.empty:
            return
        key_id, data_key = await self._primary_key(conn)
        await conn.execute(insert(C).values(user_id=d.user_id, device_id=d.id, key_id=key_id,
                                            sealed=keyring.seal(c, d.name, data_key), update_time=d.update_time))

    # Devices.

    async def add(self, device: Device, credentials: Credentials | None) -> Device:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(D).values(**_values(device)))
                await self._store_credentials(conn, device, credentials)
        except IntegrityError as exc:
            if "uq_devices_user_id_hardware_id" in str(exc.orig):
                raise HardwareIdTaken() from None
            raise
        return device

    async def get(self, user_id: uuid.UUID, device_id: uuid.UUID) -> Device | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(_WITH_CREDENTIALS.where(D.c.user_id == user_id, D.c.id == device_id))).first()
        return _device(row, row.has_credentials) if row else None

    async def count(self, user_id: uuid.UUID) -> int:
        async with self._engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(D).where(D.c.user_id == user_id))).scalar_one()

    async def list(self, user_id: uuid.UUID, state: int, device_type: int, stale_before: dt.datetime | None,
                   limit: int, after: uuid.UUID | None) -> list[Device]:
        query = _WITH_CREDENTIALS.where(D.c.user_id == user_id)
        if state:
            query = query.where(D.c.state == state)
        if device_type:
            query = query.where(D.c.device_type == device_type)
        if stale_before is not None:
            query = query.where(func.coalesce(D.c.last_seen_time, D.c.create_time) <= stale_before)
        if after is not None:
            query = query.where(D.c.id < after)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.order_by(D.c.id.desc()).limit(limit))).all()
        return [_device(r, r.has_credentials) for r in rows]

    async def save(self, device: Device, credentials: Credentials | None, replace_credentials: bool) -> Device | None:
        values = _values(device)
        for key in ("user_id", "id", "hardware_id", "sample_source", "integration", "create_time",
                    "last_sync_time", "last_seen_time", "battery_percent"):
            values.pop(key)  # immutable, or Device's own to set
        async with self._engine.begin() as conn:
            row = (await conn.execute(update(D).where(D.c.user_id == device.user_id, D.c.id == device.id)
                                      .values(**values).returning(D))).first()
            if row is None:
                return None
            if replace_credentials:
                await self._store_credentials(conn, device, credentials)
            has = (await conn.execute(select(_HAS_CREDENTIALS.where(D.c.user_id == device.user_id,
                                                                    D.c.id == device.id)))).scalar()
        return _device(row, bool(has))

    async def delete(self, user_id: uuid.UUID, device_id: uuid.UUID, now: dt.datetime) -> bool:
        """Deletes the device (credentials and health go with it) and, in the same transaction,
        queues the revocation of its scoped API keys."""
        async with self._engine.begin() as conn:
            gone = (await conn.execute(delete(D).where(D.c.user_id == user_id, D.c.id == device_id)
                                       .returning(D.c.id))).first()
            if gone is not None:
                await conn.execute(insert(R).values(user_id=user_id, device_id=device_id, create_time=now)
                                   .on_conflict_do_nothing())
        return gone is not None

    async def credentials(self, user_id: uuid.UUID, device_id: uuid.UUID) -> Credentials | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(C).where(C.c.user_id == user_id, C.c.device_id == device_id))).first()
            if row is None:
                return None
            data_key = await self._data_key(conn, row.key_id)
        return keyring.open_sealed(row.sealed, f"users/{user_id}/devices/{device_id}", data_key)

    async def seen(self, user_id: uuid.UUID, device_id: uuid.UUID, now: dt.datetime,
                   battery_percent: int | None = None, firmware_version: str = "") -> None:
        """The device sent something at `now` (never moved back by a late write)."""
        values: dict = {"last_seen_time": func.greatest(func.coalesce(D.c.last_seen_time, now), now)}
        if battery_percent is not None:
            values["battery_percent"] = battery_percent
        if firmware_version:
            values["firmware_version"] = firmware_version
        async with self._engine.begin() as conn:
            await conn.execute(update(D).where(D.c.user_id == user_id, D.c.id == device_id).values(**values))

    async def synced(self, user_id: uuid.UUID, device_id: uuid.UUID, at: dt.datetime) -> None:
        """A sync of the device succeeded at `at`: its last_sync_time, and last_seen_time (a sync
        is news from the device too); neither moves back."""
        async with self._engine.begin() as conn:
            await conn.execute(update(D).where(D.c.user_id == user_id, D.c.id == device_id).values(
                last_sync_time=func.greatest(func.coalesce(D.c.last_sync_time, at), at),
                last_seen_time=func.greatest(func.coalesce(D.c.last_seen_time, at), at)))

    async def set_error(self, user_id: uuid.UUID, device_id: uuid.UUID, now: dt.datetime) -> bool:
        """An ACTIVE device to ERROR (a sync failed for a reason the user must fix); a PAUSED one
        stays PAUSED. False when the device is gone or not ACTIVE."""
        async with self._engine.begin() as conn:
            return (await conn.execute(update(D).where(
                D.c.user_id == user_id, D.c.id == device_id, D.c.state == int(State.ACTIVE)
            ).values(state=int(State.ERROR), update_time=now).returning(D.c.id))).first() is not None

    # Health.

    async def report_health(self, user_id: uuid.UUID, device_id: uuid.UUID, r: HealthReport) -> bool:
        """Replaces the device's report and updates the device from it, in one transaction; False
        when the device is gone."""
        values = dict(battery_percent=r.battery_percent, charging=r.charging,
                      signal_strength_dbm=r.signal_strength_dbm, firmware_version=r.firmware_version,
                      storage_used_percent=r.storage_used_percent, uptime_seconds=r.uptime_seconds,
                      errors=[{"code": e.code, "message": e.message,
                               "occur_time": e.occur_time.isoformat() if e.occur_time else None} for e in r.errors],
                      report_time=r.report_time, update_time=r.update_time)
        device_values: dict = {"last_seen_time": func.greatest(func.coalesce(D.c.last_seen_time, r.update_time),
                                                               r.update_time),
                               "battery_percent": r.battery_percent}
        if r.firmware_version:
            device_values["firmware_version"] = r.firmware_version
        try:
            async with self._engine.begin() as conn:
                found = (await conn.execute(update(D).where(D.c.user_id == user_id, D.c.id == device_id)
                                            .values(**device_values).returning(D.c.id))).first()
                if found is None:
                    return False
                await conn.execute(insert(H).values(user_id=user_id, device_id=device_id, **values)
                                   .on_conflict_do_update(index_elements=[H.c.user_id, H.c.device_id], set_=values))
        except IntegrityError:
            return False  # deleted meanwhile
        return True

    async def health(self, user_id: uuid.UUID, device_id: uuid.UUID) -> HealthReport | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(H).where(H.c.user_id == user_id, H.c.device_id == device_id))).first()
        if row is None:
            return None
        return HealthReport(row.battery_percent, row.charging, row.signal_strength_dbm, row.firmware_version,
                            row.storage_used_percent, row.uptime_seconds, tuple(_error(e) for e in row.errors),
                            row.report_time, row.update_time)

    # Revocation of deleted devices' keys.

    async def pending_key_revocations(self, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(R.c.user_id, R.c.device_id).order_by(R.c.create_time).limit(limit))).all()
        return [(r.user_id, r.device_id) for r in rows]

    async def key_revocation_done(self, user_id: uuid.UUID, device_id: uuid.UUID) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(R).where(R.c.user_id == user_id, R.c.device_id == device_id))


# What erasing a deleted user means in the registry: every row of theirs. Children first; the
# key ring belongs to no user and stays.
TABLES = ["device_credentials", "health_reports", "key_revocations", "devices", "request_results"]


async def erase_user(conn: AsyncConnection, user_id: uuid.UUID) -> dict[str, int]:
    return await delete_by_user(conn, user_id, "device", TABLES)
