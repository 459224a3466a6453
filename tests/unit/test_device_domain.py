"""Device's rules without I/O: health status, staleness, capabilities and error indexes, updates,
the key ring's sealing, and the quota windows."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest

from services.common.errors import InvalidArgument, ResourceExhausted
from services.device import keyring
from services.device.domain import (
    STALE_AFTER, Credentials, DeviceError, DeviceFields, HealthReport, HealthStatus, Quota, Rejection, State,
    SyncSettings, WriteCounts, apply_update, check_report, health_status, is_stale, merge_counts, new_device,
    split_by_capability,
)
from services.device.quotas import LocalWindows, WriteQuotas

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
KNOWN = {"heart_rate", "step_count", "spo2"}
TYPES = set(range(14))


def device(**fields):
    return new_device(uuid.uuid4(), uuid.uuid4(), DeviceFields(display_name="Band", **fields), KNOWN, TYPES, NOW)


def report(**fields) -> HealthReport:
    return check_report(HealthReport(**fields), NOW)


@pytest.mark.parametrize("fields, status", [
    (dict(battery_percent=20), HealthStatus.OK),
    (dict(battery_percent=19), HealthStatus.WARNING),
    (dict(battery_percent=5), HealthStatus.WARNING),
    (dict(battery_percent=4), HealthStatus.CRITICAL),
    (dict(storage_used_percent=90.0), HealthStatus.OK),
    (dict(storage_used_percent=90.5), HealthStatus.WARNING),
    (dict(storage_used_percent=100.0), HealthStatus.CRITICAL),
    (dict(errors=(DeviceError("E1", "", None),)), HealthStatus.WARNING),
    (dict(battery_percent=3, errors=(DeviceError("E1", "", None),)), HealthStatus.CRITICAL),
    (dict(), HealthStatus.OK),
])
def test_health_status_follows_the_contract(fields, status):
    assert health_status(report(**fields), NOW, NOW - dt.timedelta(days=30), NOW) == status


def test_no_report_is_unspecified_and_silence_is_critical():
    assert health_status(None, None, NOW, NOW) == HealthStatus.UNSPECIFIED
    r = report(battery_percent=90)
    later = NOW + STALE_AFTER
    assert health_status(r, NOW, NOW, later - dt.timedelta(seconds=1)) == HealthStatus.OK
    assert health_status(r, NOW, NOW, later) == HealthStatus.CRITICAL
    assert health_status(r, later, NOW, later) == HealthStatus.OK  # data since: not stale


def test_staleness_counts_from_registration_when_never_seen():
    assert not is_stale(None, NOW, NOW + STALE_AFTER - dt.timedelta(seconds=1))
    assert is_stale(None, NOW, NOW + STALE_AFTER)
    assert not is_stale(NOW + STALE_AFTER, NOW, NOW + STALE_AFTER)


def test_report_errors_are_newest_first_and_time_defaults_to_receipt():
    r = report(errors=(DeviceError("A", "", NOW - dt.timedelta(hours=2)), DeviceError("B", "", None),
                       DeviceError("C", "", NOW - dt.timedelta(hours=1))))
    assert [e.code for e in r.errors] == ["C", "A", "B"] and r.report_time == NOW and r.update_time == NOW


def test_capabilities_reject_other_types_and_tracking_indexes_map_back():
    d = device(capabilities=("heart_rate",))
    kept, own = split_by_capability(d, ["heart_rate", "step_count", "heart_rate", "spo2"])
    assert kept == [0, 2] and [(r.index, r.reason) for r in own] == [(1, "TYPE_NOT_IN_CAPABILITIES"),
                                                                      (3, "TYPE_NOT_IN_CAPABILITIES")]
    tracking = WriteCounts(1, 0, 0, 1, (Rejection(1, "VALUE_OUT_OF_RANGE", "too high", "value"),))
    merged = merge_counts(tracking, kept, own)
    assert (merged.accepted, merged.rejected) == (1, 3)
    assert [(e.index, e.reason) for e in merged.errors] == [(1, "TYPE_NOT_IN_CAPABILITIES"), (2, "VALUE_OUT_OF_RANGE"),
                                                           (3, "TYPE_NOT_IN_CAPABILITIES")]
    assert split_by_capability(device(), ["spo2", "anything"])[0] == [0, 1]  # no capabilities: any type


def test_new_device_defaults_and_checks():
    d = device(sync_settings=SyncSettings())
    assert d.integration == "push" and d.state == State.ACTIVE and d.sample_source == "Band"
    assert d.sync_settings.sync_interval_seconds == 3600 and d.sync_settings.backfill_days == 30
    with pytest.raises(InvalidArgument) as err:
        device(integration="garmin", capabilities=("heart_rate", "nope"),
               sync_settings=SyncSettings(sample_types=("step_count",), backfill_days=400))
    fields = {v.field for v in err.value.violations}
    assert fields == {"device.integration", "device.capabilities[1]", "device.sync_settings.sample_types[0]",
                      "device.sync_settings.backfill_days"}


def test_updating_credentials_or_state_clears_error():
    d = device()
    from dataclasses import replace

    broken = replace(d, state=State.ERROR)
    fixed = apply_update(broken, ["credentials"], DeviceFields(credentials=Credentials(access_token="t")), KNOWN,
                         TYPES, NOW)
    assert fixed.state == State.ACTIVE and fixed.has_credentials
    renamed = apply_update(broken, ["display_name"], DeviceFields(display_name="New"), KNOWN, TYPES, NOW)
    assert renamed.state == State.ERROR
    with pytest.raises(InvalidArgument):
        apply_update(d, ["state"], DeviceFields(state=int(State.ERROR)), KNOWN, TYPES, NOW)


def test_sealed_credentials_open_only_with_their_key_and_device():
    kek = os.urandom(32)
    key_id = uuid.uuid4()
    data_key = keyring.new_data_key()
    wrapped = keyring.wrap(key_id, data_key, kek)
    assert data_key not in wrapped and keyring.unwrap(key_id, wrapped, kek) == data_key
    with pytest.raises(RuntimeError):
        keyring.unwrap(uuid.uuid4(), wrapped, kek)  # moved to another key's row
    with pytest.raises(RuntimeError):
        keyring.unwrap(key_id, wrapped, os.urandom(32))
    creds = Credentials("access-secret", "refresh-secret", NOW, "", {"k": "v"})
    sealed = keyring.seal(creds, "users/u/devices/a", data_key)
    assert b"access-secret" not in sealed
    assert keyring.open_sealed(sealed, "users/u/devices/a", data_key) == creds
    with pytest.raises(RuntimeError):
        keyring.open_sealed(sealed, "users/u/devices/b", data_key)


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_quotas_refuse_beyond_either_window_and_give_back_a_refused_write():
    ticks = Ticks()
    quotas = WriteQuotas(Quota(per_device=10, per_user=15, window_seconds=60), local=LocalWindows(ticks))
    user, a, b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await quotas.take(user, a, 10)
    ticks.now = 20.0
    with pytest.raises(ResourceExhausted) as err:
        await quotas.take(user, a, 1)
    assert err.value.metadata == {"retry_after_seconds": "40"}
    await quotas.take(user, b, 5)  # the refused write counted nothing against the user
    with pytest.raises(ResourceExhausted):
        await quotas.take(user, b, 1)  # the user's 15 are used
    ticks.now = 60.0
    await quotas.take(user, a, 10)  # a new window
