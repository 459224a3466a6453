"""Apple Health's "Export All Health Data" through Envoy: the export.zip streamed as the body."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.e2e.conftest import auth, new_user

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "apple_health"


def upload(http, session, body: bytes, content_type: str = "application/zip"):
    return http.post("/v1/ingest/appleHealthExport", content=body,
                     headers={**auth(session), "content-type": content_type})


def test_the_export_zip_is_counted_per_type_and_a_second_upload_adds_nothing(http):
    session = new_user(http)
    body = (FIXTURES / "export_3days.zip").read_bytes()
    reply = upload(http, session, body)
    assert reply.status_code == 200, reply.text
    ingestion = reply.json()
    assert ingestion["state"] == "SUCCEEDED" and ingestion["format"] == "APPLE_HEALTH_EXPORT"
    expected = json.loads((FIXTURES / "export_3days.counts.json").read_text())
    totals = {metric: sum(c.values()) for metric, c in ingestion["counts"].items() if metric != "Me"}
    assert totals == expected
    assert all(c["rejected"] == 0 for c in ingestion["counts"].values()), ingestion["errors"][:5]
    weight = http.get("/v1/users/me/samples:latest?types=weight&types=blood_pressure&types=spo2",
                      headers=auth(session)).json()["samples"]
    by_type = {s["type"]: s for s in weight}
    assert by_type["weight"]["originalUnit"] == "lb" and by_type["weight"]["unit"] == "kg"
    assert by_type["blood_pressure"]["value2"] > 0 and 90 <= by_type["spo2"]["value"] <= 100
    activities = http.get("/v1/users/me/activities", headers=auth(session)).json()["activities"]
    assert len(activities) == expected["Workout"]
    me = http.get("/v1/users/me", headers=auth(session)).json()  # Me filled the profile's gaps
    assert (me["birthDate"], me["sex"]) == ("1986-04-12", "FEMALE") and ingestion["counts"]["Me"]["accepted"] == 1
    again = upload(http, session, body).json()
    assert sum(c["accepted"] + c["updated"] for c in again["counts"].values()) == 0
    assert again["payloadDigest"] == ingestion["payloadDigest"] and again["counts"]["Me"]["duplicate"] == 1


def test_the_bare_export_xml_works_too(http):
    session = new_user(http)
    with zipfile.ZipFile(FIXTURES / "export_3days.zip") as z:
        name = next(n for n in z.namelist() if n.endswith("export.xml"))
        xml = z.read(name)
    reply = upload(http, session, xml, "application/xml")
    assert reply.status_code == 200 and reply.json()["state"] == "SUCCEEDED", reply.text


def test_a_zip_without_export_xml_is_400_saying_so(http):
    session = new_user(http)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("apple_health_export/export_cda.xml", "<ClinicalDocument/>")
    reply = upload(http, session, buffer.getvalue())
    assert reply.status_code == 400, reply.text
    assert "export.xml" in reply.json()["message"]
    assert upload(http, session, b"not an export at all").status_code == 400


def test_dates_at_the_ends_of_the_calendar_are_rejected_per_item(http):
    session = new_user(http)
    year_one = "0001-01-01 00:00:00 +0100"
    xml = f'''<?xml version="1.0"?><HealthData locale="en_US">
<Record type="HKQuantityTypeIdentifierStepCount" sourceName="W" unit="count" startDate="{year_one}"
 endDate="{year_one}" value="5"/>
<Record type="HKQuantityTypeIdentifierStepCount" sourceName="W" unit="count" startDate="2026-03-01 07:00:00 +0100"
 endDate="2026-03-01 07:01:00 +0100" value="9"/>
<Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="30" durationUnit="min" sourceName="W"
 startDate="{year_one}" endDate="0001-01-01 00:30:00 +0100"/>
<Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="W" startDate="{year_one}"
 endDate="0001-01-01 01:00:00 +0100" value="HKCategoryValueSleepAnalysisAsleepCore"/>
</HealthData>'''.encode()
    reply = upload(http, session, xml, "application/xml")
    assert reply.status_code == 200, reply.text
    ingestion = reply.json()
    assert ingestion["state"] == "SUCCEEDED", ingestion
    steps = ingestion["counts"]["HKQuantityTypeIdentifierStepCount"]
    assert (steps["accepted"], steps["rejected"]) == (1, 1)
    assert ingestion["counts"]["Workout"]["rejected"] == 1
    assert ingestion["counts"]["HKCategoryTypeIdentifierSleepAnalysis"]["rejected"] == 1
