"""`healthmesh devices` and `healthmesh simulate`: a user's devices, and a device streaming by hand.

    healthmesh devices list                           (name, kind, state, battery, last seen)
    healthmesh devices add --name "Polar H10" --type BAND --capability heart_rate
    healthmesh devices health <device id>
    healthmesh devices remove <device id>
    healthmesh simulate <device id> --rate 50 --seconds 60     (synthetic heart rate, live ack count)

Devices go over REST; simulate streams over gRPC (StreamTelemetry) to the same address, with the
telemetry client (client/telemetry.py), so a stopped or restarted server is resumed from.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from urllib.parse import urlparse

import grpc
from healthmesh.tracking.v1 import tracking_internal_service_pb2

from client import api
from client.output import (API_ERROR, NOT_FOUND, UNAUTHENTICATED, CliError, checked, emit, local_time,
                           short_id, table)
from client.telemetry import TelemetryClient, TelemetryError


def _device_name(device: str) -> str:
    return api.resource("devices", device)


def devices_list(args) -> None:
    rows = api.listed(args, "/v1/users/me/devices", "devices", "listing devices")
    if rows is None:
        return
    if not rows:
        print("no devices")
        return
    print(table(["id", "name", "type", "state", "battery", "last seen"],
                [[short_id(d["name"]), d.get("displayName", ""), d.get("deviceType", "-"), d.get("state", "-"),
                  f"{d['batteryPercent']}%" if "batteryPercent" in d else "-",
                  local_time(d.get("lastSeenTime")) if d.get("lastSeenTime") else "-"] for d in rows], right=[4]))


def devices_add(args) -> None:
    device = {"displayName": args.name, "capabilities": args.capability or ["heart_rate"]}
    if args.type:
        device["deviceType"] = args.type
    if args.hardware_id:
        device["hardwareId"] = args.hardware_id
    with api.connect(args) as http:
        made = checked(http.post("/v1/users/me/devices", json=device), "adding the device")
    if args.json:
        emit(made)
    else:
        print(made["name"])


def devices_remove(args) -> None:
    with api.connect(args) as http:
        checked(http.delete(f"/v1/{_device_name(args.device)}"), "removing the device")
    if args.json:
        emit({"name": _device_name(args.device), "deleted": True})
    else:
        print(f"removed {_device_name(args.device)} (its samples stay)")


def devices_health(args) -> None:
    with api.connect(args) as http:
        health = checked(http.get(f"/v1/{_device_name(args.device)}/health"), "reading the device's health")
    if args.json:
        emit(health)
        return
    print(table(["field", "value"], [[key, value if isinstance(value, str) else json.dumps(value)]
                                     for key, value in health.items()]))


def heart_rate_columns(start_us: int, first: int, n: int, step_us: int) -> tracking_internal_service_pb2.SampleColumns:
    """n synthetic heart-rate points from `first` on: a slow wave around 70/min."""
    return tracking_internal_service_pb2.SampleColumns(
        strings=["heart_rate", "count/min", ""], type=[0] * n, unit=[1] * n, source=[2] * n,
        start_time_micros=[start_us + (first + i) * step_us for i in range(n)], utc_offset_minutes=[0] * n,
        value=[round(70 + 15 * math.sin((first + i) / 300), 1) for i in range(n)])


def grpc_target(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.hostname}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"


async def _simulate(args, out):
    rate, batch = args.rate, max(1, args.batch)
    total = int(rate * args.seconds) if args.seconds else None
    start_us = int(time.time() * 1_000_000) - int((total or 0) / rate * 1_000_000)  # ends about now
    step_us = int(1_000_000 / rate)
    acked = 0

    def on_ack(ack, _latency) -> None:
        nonlocal acked
        acked += ack.accepted + ack.duplicate + ack.updated + ack.rejected

    client = TelemetryClient(grpc_target(api.server(args)), _device_name(args.device), api.token, on_ack=on_ack)
    await client.start()
    sent, started = 0, time.monotonic()
    try:
        while total is None or sent < total:
            n = batch if total is None else min(batch, total - sent)
            await client.send(columns=heart_rate_columns(start_us, sent, n, step_us))
            sent += n
            out.write(f"\rsent {sent:>9,}  acked {acked:>9,}  reconnects {client.totals.reconnects}")
            out.flush()
            await asyncio.sleep(max(0.0, started + sent / rate - time.monotonic()))  # keep to the rate
        await client.close()
    except (KeyboardInterrupt, asyncio.CancelledError):
        await client.abort()
    out.write(f"\rsent {sent:>9,}  acked {acked:>9,}  reconnects {client.totals.reconnects}\n")
    t = client.totals
    if args.json:
        emit({"sent": sent, "batches": t.batches, "accepted": t.accepted, "duplicate": t.duplicate,
              "updated": t.updated, "rejected": t.rejected, "reconnects": t.reconnects})
    else:
        print(f"{t.batches} batches acked: {t.accepted} accepted, {t.duplicate} duplicate, {t.updated} updated, "
              f"{t.rejected} rejected")


def _telemetry_exit_code(exc: TelemetryError) -> int:
    if exc.code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        return UNAUTHENTICATED
    if exc.code == grpc.StatusCode.NOT_FOUND:
        return NOT_FOUND
    return API_ERROR


def simulate(args) -> None:
    api.token()  # not logged in: said before any stream opens
    try:
        asyncio.run(_simulate(args, sys.stderr))
    except TelemetryError as exc:
        raise CliError(str(exc), _telemetry_exit_code(exc)) from None
    except KeyboardInterrupt:
        pass


def add_commands(commands) -> None:
    p_devices = commands.add_parser("devices", help="list, add and remove devices, and show their health")
    actions = p_devices.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="your devices").set_defaults(run=devices_list)
    p_add = actions.add_parser("add", help="register a device")
    p_add.add_argument("--name", required=True)
    p_add.add_argument("--type", help="WATCH, BAND, RING, SCALE, ... (the contract's DeviceType)")
    p_add.add_argument("--hardware-id")
    p_add.add_argument("--capability", action="append", help="a sample type it measures (repeatable)")
    p_add.set_defaults(run=devices_add)
    p_remove = actions.add_parser("remove", help="delete a device (its samples stay)")
    p_remove.add_argument("device", help="the device id or name")
    p_remove.set_defaults(run=devices_remove)
    p_health = actions.add_parser("health", help="a device's latest health report")
    p_health.add_argument("device", help="the device id or name")
    p_health.set_defaults(run=devices_health)
    p_sim = commands.add_parser("simulate", help="stream synthetic heart rate for a device, showing the acks")
    p_sim.add_argument("device", help="the device id or name")
    p_sim.add_argument("--rate", type=float, default=50.0, help="samples per second (default 50)")
    p_sim.add_argument("--seconds", type=float, default=0, help="how long; 0 streams until Ctrl-C")
    p_sim.add_argument("--batch", type=int, default=100, help="samples per batch (default 100)")
    p_sim.set_defaults(run=simulate)
