"""Ingest at scale, in one run on a private mesh.

HAE: the 525,600-point payload of `make_hae_payload.py --days 365 --hr-every 60` (~50 MB) posted
through Envoy with an API key, timed from the request's start until the Ingestion has SUCCEEDED
and every heart-rate row is visible; then the same data re-serialized (other bytes) again.
Apple: the 1-year `make_apple_health_export.py --days 365 --hr-every 120` export.zip, likewise.
Uploads this large come back PENDING and are polled (every 100 ms) until SUCCEEDED. Peak RSS is
the ingest service's own high-water mark (VmHWM) after each run.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import new_user, private_mesh

TOOLS = Path(__file__).resolve().parents[1] / "tests" / "tools"


def make(tool: str, args: list[str], out: Path) -> None:
    subprocess.run([sys.executable, str(TOOLS / tool), *args, "--out", str(out)], check=True,
                   stderr=subprocess.DEVNULL)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def heart_rate_rows(http: httpx.Client, start: str, end: str) -> int:
    reply = http.get(f"/v1/users/me/samples:aggregate?type=heart_rate&interval=MONTH&startTime={start}&endTime={end}")
    reply.raise_for_status()
    return sum(b["count"] for b in reply.json()["buckets"])


def post(http: httpx.Client, path: str, body: Path | bytes, content_type: str) -> tuple[dict, float]:
    """Posts, then polls while the Ingestion is PENDING or RUNNING (large uploads run in the background)."""
    data = body.read_bytes() if isinstance(body, Path) else body
    started = time.perf_counter()
    reply = http.post(path, content=data, headers={"content-type": content_type})
    reply.raise_for_status()
    ingestion = reply.json()
    while ingestion["state"] in ("PENDING", "RUNNING"):
        time.sleep(0.1)
        ingestion = http.get(f"/v1/{ingestion['name']}").json()
    assert ingestion["state"] == "SUCCEEDED", ingestion["errors"][:3]
    return ingestion, started


async def run() -> None:
    with tempfile.TemporaryDirectory(prefix="healthmesh-bench-ingest-") as folder, private_mesh() as mesh:
        work = Path(folder)
        # The year ends a few days ago: samples more than a day in the future are rejected.
        start = (dt.date.today() - dt.timedelta(days=370)).isoformat()
        make("make_hae_payload.py", ["--days", "365", "--hr-every", "60", "--start", start], work / "year.json")
        make("make_apple_health_export.py", ["--days", "365", "--hr-every", "120", "--start", start],
             work / "export.zip")
        replay = json.dumps(json.loads((work / "year.json").read_text()), separators=(",", ":"), sort_keys=True)
        ingest_pid = mesh.children["ingest"].pid
        base = mesh.endpoints()["http"]

        hae_user = new_user(base)
        key = httpx.post(f"{base}/v1/users/me/apiKeys", json={"displayName": "bench"},
                         headers={"authorization": f"Bearer {hae_user['accessToken']}"}).json()["secret"]
        with httpx.Client(base_url=base, timeout=600, headers={"authorization": f"Bearer {key}"}) as http:
            ingestion, started = post(http, "/v1/ingest/healthAutoExport", work / "year.json", "application/json")
            points = ingestion["counts"]["heart_rate"]["accepted"]
            visible = heart_rate_rows(http, "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z")
            hae_seconds = time.perf_counter() - started
            assert visible == points, (visible, points)
            hae_rss = peak_rss_mb(ingest_pid)
            print(f"HAE {(work / 'year.json').stat().st_size / 1e6:.1f} MB, {points:,} heart-rate points: "
                  f"{hae_seconds:.1f} s to SUCCEEDED and visible; ingest peak RSS {hae_rss:.0f} MB")
            again, started = post(http, "/v1/ingest/healthAutoExport", replay.encode(), "application/json")
            replay_seconds = time.perf_counter() - started
            new_rows = sum(c["accepted"] for c in again["counts"].values())
            print(f"HAE replay (re-serialized, {len(replay) / 1e6:.1f} MB): {replay_seconds:.1f} s, {new_rows} new rows")

        apple_user = new_user(base)
        with httpx.Client(base_url=base, timeout=600,
                          headers={"authorization": f"Bearer {apple_user['accessToken']}"}) as http:
            ingestion, started = post(http, "/v1/ingest/appleHealthExport", work / "export.zip", "application/zip")
            accepted = sum(c["accepted"] for c in ingestion["counts"].values())
            hr = ingestion["counts"]["HKQuantityTypeIdentifierHeartRate"]["accepted"]
            visible = heart_rate_rows(http, "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z")
            apple_seconds = time.perf_counter() - started
            assert visible == hr, (visible, hr)
            apple_rss = peak_rss_mb(ingest_pid)
            print(f"Apple export.zip ({(work / 'export.zip').stat().st_size / 1e6:.1f} MB zip): {accepted:,} items "
                  f"accepted in {apple_seconds:.1f} s; ingest peak RSS {apple_rss:.0f} MB")
    print(json.dumps({
        "hae_seconds": round(hae_seconds, 2), "hae_points": points, "hae_peak_rss_mb": round(hae_rss),
        "hae_replay_seconds": round(replay_seconds, 2), "hae_replay_new_rows": new_rows,
        "apple_seconds": round(apple_seconds, 2), "apple_items_accepted": accepted,
        "apple_peak_rss_mb": round(apple_rss),
    }))
