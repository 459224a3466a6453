"""Insight's analyses through Envoy's REST listener, on a private mesh.

The user: 90 days of minute heart rate, hourly steps and active energy, nightly sleep, daily
weight and resting heart rate, three meals a day (nutrition entries) and water.
- recommendations at concurrency 1: uncached (the cache dropped before each call by Insight's
  internal NotifySamplesWritten, as Tracking's outbox relay calls it) and cached: p50/p99, from
  this program's httpx client; and cached again from wrk (one connection, 10 s), a client that
  is not itself the bottleneck: httpx spends about 0.5-2 ms of CPU a request, as much as the
  whole cached answer takes. `cached_p99_ms` is wrk's; `cached_httpx_p99_ms` the other;
- staleness: from a new water sample's write acked to the first recommendations that reflect it;
- trends, anomalies, correlations and the summary, uncached and cached;
- recommendations at concurrency 32 (cached): rps and p99;
- alerts: from an SpO2 sample under 90 % written to its alert on an open alerts:watch stream.
The last stdout line is one JSON object.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import grpc
import httpx
from healthmesh.insight.v1 import insight_internal_service_pb2 as internal_pb2
from healthmesh.insight.v1 import insight_internal_service_pb2_grpc as internal_grpc

from bench.harness import new_user, private_mesh, secrets, summary
from bench.unary import wrk
from services.common.credentials import ACTING_USER_HEADER, SERVICE_NAME_HEADER, SERVICE_TOKEN_HEADER

DAYS = 90
UNCACHED_CALLS = 200
CACHED_CALLS = 1000
OTHER_UNCACHED, OTHER_CACHED = 50, 300
STALENESS_ROUNDS = 30
CONCURRENT, CONCURRENT_CALLS = 32, 3200
ALERTS = 100
WRK_SECONDS = 10


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _s(type: str, t: dt.datetime, value: float, unit: str, minutes: int = 1, source: str = "Bench Watch") -> dict:
    return {"type": type, "startTime": _iso(t), "endTime": _iso(t + dt.timedelta(minutes=minutes)),
            "utcOffsetMinutes": 0, "value": value, "unit": unit, "source": source}


async def seed(http: httpx.AsyncClient, today: dt.date) -> int:
    rng = random.Random(90)
    first = dt.datetime.combine(today - dt.timedelta(days=DAYS - 1), dt.time(), dt.UTC)
    samples = []
    for d in range(DAYS):
        midnight = first + dt.timedelta(days=d)
        samples += [_s("heart_rate", midnight + dt.timedelta(minutes=m), 55 + rng.randint(0, 45), "/min")
                    for m in range(24 * 60)]
        samples += [_s("step_count", midnight + dt.timedelta(hours=h), rng.randint(0, 380) if 7 <= h <= 21 else 0,
                       "count", 60, "iPhone") for h in range(24)]
        samples += [_s("active_energy", midnight + dt.timedelta(hours=h), rng.randint(5, 40), "kcal", 60)
                    for h in range(24)]
        samples += [_s("weight", midnight + dt.timedelta(hours=7), round(84 - 0.02 * d + rng.gauss(0, 0.2), 2), "kg",
                       source="Scale"),
                    _s("resting_heart_rate", midnight + dt.timedelta(hours=6), 58 + rng.randint(-3, 3), "/min")]
        samples += [_s("water", midnight + dt.timedelta(hours=h), 400, "mL", source="App") for h in (9, 13, 17, 20)]
    samples.append(_s("height", first, 1.78, "m", source="App"))
    for i in range(0, len(samples), 10_000):
        (await http.post("/v1/users/me/samples:batchCreate", json={"samples": samples[i:i + 10_000]})
         ).raise_for_status()
    sem = asyncio.Semaphore(8)

    async def post(path: str, body: dict) -> None:
        async with sem:
            (await http.post(path, json=body)).raise_for_status()

    writes = []
    for d in range(DAYS):
        wake = first + dt.timedelta(days=d, hours=6, minutes=rng.randint(0, 40))
        writes.append(post("/v1/users/me/sleepSessions", {
            "startTime": _iso(wake - dt.timedelta(hours=6.4 + rng.gauss(0, 0.4))), "endTime": _iso(wake),
            "utcOffsetMinutes": 0}))
        for hour, meal, kcal in ((8, "BREAKFAST", 450), (13, "LUNCH", 750), (19, "DINNER", 800)):
            writes.append(post("/v1/users/me/nutritionEntries", {
                "mealType": meal, "consumeTime": _iso(first + dt.timedelta(days=d, hours=hour)), "utcOffsetMinutes": 0,
                "caloriesKcal": kcal + rng.randint(-80, 80), "proteinGrams": 25, "fiberGrams": 6, "sugarGrams": 22}))
    await asyncio.gather(*writes)
    return len(samples) + len(writes)


class Invalidator:
    """Drops the user's cached answers as Tracking's outbox relay does: NotifySamplesWritten."""

    def __init__(self, address: str, token: str, user: str) -> None:
        self._channel = grpc.aio.insecure_channel(address)
        self._stub = internal_grpc.InsightInternalServiceStub(self._channel)
        self._md = ((SERVICE_TOKEN_HEADER, token), (SERVICE_NAME_HEADER, "tracking"),
                    (ACTING_USER_HEADER, user.removeprefix("users/")))
        self._user = user

    async def drop(self, types: tuple[str, ...] = ("step_count",)) -> None:
        change = internal_pb2.SamplesWritten(event_id=str(uuid.uuid4()), user=self._user, sample_types=list(types))
        now = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)  # old enough to raise no alert
        change.start_time.FromDatetime(now)
        change.end_time.FromDatetime(now)
        change.commit_time.FromDatetime(dt.datetime.now(dt.UTC))
        await self._stub.NotifySamplesWritten(internal_pb2.NotifySamplesWrittenRequest(changes=[change]),
                                              metadata=self._md, timeout=10)

    async def close(self) -> None:
        await self._channel.close()


async def timed(http: httpx.AsyncClient, path: str) -> tuple[float, dict]:
    started = time.perf_counter()
    reply = await http.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    reply.raise_for_status()
    return elapsed, reply.json()


async def uncached_and_cached(http, invalidator: Invalidator, path: str, uncached: int, cached: int) -> dict:
    cold = []
    for _ in range(uncached):
        await invalidator.drop()
        cold.append((await timed(http, path))[0])
    warm = [(await timed(http, path))[0] for _ in range(cached)]
    return {"uncached": summary(cold), "cached": summary(warm)}


def cached_by_wrk(base_url: str, path: str, headers: dict) -> dict:
    """The cached answer at concurrency 1 from wrk (bench/unary.py's script): every call after the
    first is a hit, as no data changes meanwhile; any non-2xx answer counts as an error."""
    with tempfile.TemporaryDirectory(prefix="healthmesh-insight-wrk-") as work:
        figures = wrk(base_url, [path], headers, WRK_SECONDS, Path(work), connections=1)
    if figures["errors"]:
        raise RuntimeError(f"wrk saw {figures['errors']} errors on {path}")
    return figures


async def staleness(http: httpx.AsyncClient, today: dt.date) -> dict:
    """Each round adds 50 ml of water to today: the low_water evidence moves once it is seen."""
    delays = []
    path = "/v1/users/me/recommendations?days=30"

    def water_mean(body: dict) -> float | None:
        for r in body.get("recommendations", []):
            for e in r.get("evidence", []):
                if e["metric"] == "water":
                    return e["value"]
        return None

    before = water_mean((await timed(http, path))[1])
    for i in range(STALENESS_ROUNDS):
        t = dt.datetime.combine(today, dt.time(0, 1), dt.UTC) + dt.timedelta(seconds=i)
        (await http.post("/v1/users/me/samples", json=_s("water", t, 50, "mL", source="Bench"))).raise_for_status()
        written = time.perf_counter()
        while True:
            now = water_mean((await timed(http, path))[1])
            if now != before:
                break
            if time.perf_counter() - written > 10:
                raise RuntimeError("a new sample was not reflected within 10 s")
        delays.append((time.perf_counter() - written) * 1000)
        before = now
    return summary(delays)


async def concurrency(base_url: str, headers: dict) -> dict:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30,
                                 limits=httpx.Limits(max_connections=CONCURRENT)) as http:
        await http.get("/v1/users/me/recommendations")
        queue = iter(range(CONCURRENT_CALLS))

        async def worker() -> None:
            for _ in queue:
                latencies.append((await timed(http, "/v1/users/me/recommendations"))[0])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENT)))
        elapsed = time.perf_counter() - started
    return {"rps": round(CONCURRENT_CALLS / elapsed), **summary(latencies)}


async def alert_latency(base_url: str, headers: dict) -> dict | None:
    """An SpO2 of 85 % (the built-in rule: under 90 %) after a normal one, each time; the stream is
    read as Envoy sends it (a JSON array, one element per message)."""
    delays: list[float] = []
    arrived: asyncio.Queue = asyncio.Queue()
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=httpx.Timeout(30, read=None)) as http:
        async def watch() -> None:
            async with http.stream("GET", "/v1/users/me/alerts:watch?heartbeatIntervalSeconds=5") as reply:
                if reply.status_code != 200:
                    await arrived.put(None)
                    return
                decoder, text = json.JSONDecoder(), ""
                async for chunk in reply.aiter_text():
                    text += chunk
                    while True:
                        text = text.lstrip("[, \r\n")
                        try:
                            message, end = decoder.raw_decode(text)
                        except ValueError:
                            break
                        text = text[end:]
                        if "alert" in message.get("result", message):
                            await arrived.put(time.perf_counter())

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(1.0)  # the stream is open
        if watcher.done() or not arrived.empty():
            watcher.cancel()
            return None
        start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2 * ALERTS + 5)
        try:
            for i in range(ALERTS):
                t = start + dt.timedelta(minutes=2 * i)
                (await http.post("/v1/users/me/samples", json=_s("spo2", t, 97, "%"))).raise_for_status()
                (await http.post("/v1/users/me/samples", json=_s("spo2", t + dt.timedelta(minutes=1), 85, "%"))
                 ).raise_for_status()
                written = time.perf_counter()
                got = await asyncio.wait_for(arrived.get(), 10)
                if got is None:
                    return None
                delays.append((got - written) * 1000)
        except (asyncio.TimeoutError, httpx.HTTPError):
            return {"error": f"{len(delays)} alerts of {ALERTS} arrived", **(summary(delays) if delays else {})}
        finally:
            watcher.cancel()
    return summary(delays)


async def run() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    with private_mesh() as mesh:
        endpoints = mesh.endpoints()
        session = new_user(endpoints["http"])
        headers = {"authorization": f"Bearer {session['accessToken']}"}
        today = dt.datetime.now(dt.UTC).date()
        async with httpx.AsyncClient(base_url=endpoints["http"], headers=headers, timeout=120) as http:
            (await http.patch("/v1/users/me?updateMask=birthDate,sex",
                              json={"birthDate": "1985-06-15", "sex": "MALE"})).raise_for_status()
            started = time.perf_counter()
            written = await seed(http, today)
            print(f"seeded {written:,} records in {time.perf_counter() - started:.1f} s", flush=True)
            invalidator = Invalidator(endpoints["services"]["insight"], secrets(mesh)["HEALTHMESH_SERVICE_TOKEN"],
                                      session["user"]["name"])
            figures = {}
            recs = await uncached_and_cached(http, invalidator, "/v1/users/me/recommendations?days=30",
                                             UNCACHED_CALLS, CACHED_CALLS)
            recs["cached_wrk"] = cached_by_wrk(endpoints["http"], "/v1/users/me/recommendations?days=30", headers)
            figures["recommendations"] = recs
            print(f"recommendations: {recs}", flush=True)
            for name, path in [("trends", "/v1/users/me/trends?days=30"),
                               ("anomalies", "/v1/users/me/anomalies?days=30"),
                               ("correlations", "/v1/users/me/correlations?days=90"),
                               ("summary", "/v1/users/me/summary?period=WEEK")]:
                figures[name] = await uncached_and_cached(http, invalidator, path, OTHER_UNCACHED, OTHER_CACHED)
                print(f"{name}: {figures[name]}", flush=True)
            figures["staleness"] = await staleness(http, today)
            print(f"staleness: {figures['staleness']}", flush=True)
            await invalidator.close()
        figures["recommendations_concurrency_32"] = await concurrency(endpoints["http"], headers)
        print(f"recommendations at concurrency {CONCURRENT}: {figures['recommendations_concurrency_32']}", flush=True)
        alerts = await alert_latency(endpoints["http"], headers)
        figures["alerts"] = alerts
        print(f"alerts: {alerts}", flush=True)
        print(json.dumps({
            "uncached_p99_ms": recs["uncached"]["p99_ms"], "cached_p99_ms": recs["cached_wrk"]["p99_ms"],
            "cached_p50_ms": recs["cached_wrk"]["p50_ms"], "cached_httpx_p99_ms": recs["cached"]["p99_ms"],
            "staleness_ms": figures["staleness"]["p99_ms"],
            "alert_p99_ms": alerts.get("p99_ms") if alerts else None,
            "concurrency_32_rps": figures["recommendations_concurrency_32"]["rps"],
            "concurrency_32_p99_ms": figures["recommendations_concurrency_32"]["p99_ms"],
            **{f"{k}_uncached_p99_ms": figures[k]["uncached"]["p99_ms"]
               for k in ("trends", "anomalies", "correlations", "summary")},
            **{f"{k}_cached_p99_ms": figures[k]["cached"]["p99_ms"]
               for k in ("trends", "anomalies", "correlations", "summary")},
        }))
