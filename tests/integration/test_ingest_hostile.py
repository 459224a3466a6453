"""Uploads whatever their bytes, through the real IngestHealthAutoExport and
UploadAppleHealthExport client streams to the real Ingest, Tracking and Auth: every ingestion
ends SUCCEEDED or FAILED, never left RUNNING; a body that cannot be read is INVALID_ARGUMENT
naming the FAILED ingestion; text Tracking could not store (NUL, megabyte strings) is a per-item
rejection; and none of it logs a traceback.

Every exception class the parsers raise is driven here: PayloadError for each reason of both
formats, UnicodeDecodeError (not UTF-8), RecursionError (deep nesting), and the storing side
(Tracking refusing a workout that ends in year 9999, which overflowed there before)."""

from __future__ import annotations

import io
import json
import logging
import zipfile

import grpc
import pytest
from google.api import httpbody_pb2
from google.rpc import error_details_pb2, status_pb2
from healthmesh.ingest.v1 import ingest_service_pb2, ingestion_pb2

from tests.integration.mesh_harness import bad_request, mesh, traceback_free  # noqa: F401 (mesh: a fixture)

HAE = "IngestHealthAutoExport"
APPLE = "UploadAppleHealthExport"
DAY = "2026-03-01"
SUCCEEDED, FAILED = ingestion_pb2.Ingestion.SUCCEEDED, ingestion_pb2.Ingestion.FAILED


@pytest.fixture(autouse=True)
def no_tracebacks(caplog):
    caplog.set_level(logging.INFO)
    yield
    traceback_free(caplog)


async def upload(mesh, body: bytes, method: str = HAE, chunk: int = 65_536) -> tuple[ingestion_pb2.Ingestion, str]:
    """The ingestion an upload ended as, and the reason of the error it was answered with ('' when none)."""

    async def parts():
        for i in range(0, len(body), chunk):
            yield httpbody_pb2.HttpBody(content_type="application/octet-stream", data=body[i:i + chunk])

    try:
        return await getattr(mesh.ingest, method)(parts(), metadata=mesh.md), ""
    except grpc.aio.AioRpcError as err:
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
        info = error_info(err)
        name = info.metadata["ingestion"]
        return await mesh.ingest.GetIngestion(ingest_service_pb2.GetIngestionRequest(name=name), metadata=mesh.md), \
            info.reason


def error_info(err: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    return info
    raise AssertionError("no ErrorInfo")


def hae(metrics: list | None = None, workouts: list | None = None, **data) -> bytes:
    return json.dumps({"data": {"metrics": metrics or [], "workouts": workouts or [], **data}}).encode()


def heart_rate(points: int = 3, source=lambda i: "Apple Watch") -> dict:
    return {"name": "heart_rate", "units": "count/min", "data": [
        {"date": f"{DAY} {i // 60:02d}:{i % 60:02d}:00 +0100", "Min": 50.0, "Avg": 60.0, "Max": 70.0,
         "source": source(i)} for i in range(points)]}


def deep(depth: int = 100_000) -> bytes:
    return b"[" * depth + b"]" * depth


# (body, the reason the FAILED ingestion gives)
UNREADABLE_HAE = {
    "invalid JSON": (b'{"data": {"metrics": [}', "INVALID_JSON"),
    "truncated": (b'{"data": {"metrics": [', "TRUNCATED"),
    "blank": (b"   \n ", "EMPTY_BODY"),
    "not an object": (b"[1, 2]", "NOT_AN_OBJECT"),
    "no data": (b'{"other": 1}', "MISSING_DATA"),
    "data not an object": (b'{"data": 5}', "DATA_NOT_AN_OBJECT"),
    "metrics not an array": (b'{"data": {"metrics": 5}}', "NOT_AN_ARRAY"),
    "not UTF-8 (UnicodeDecodeError)": (b'{"data": {"metrics": [{"name": "h\xffart_rate"}]}}', "INVALID_JSON"),
    "UTF-16": ('{"data": {}}'.encode("utf-16"), "INVALID_JSON"),
    "NaN": (hae([{"name": "step_count", "units": "count", "data": [{"date": f"{DAY} 08:00:00 +0100"}]}])
            .replace(b'+0100"}', b'+0100", "qty": NaN}'), "INVALID_JSON"),
    "a raw NUL byte": (b'{"data": {"metrics": [{"name": "heart\x00rate"}]}}', "INVALID_JSON"),
    "deep nesting in an item (RecursionError)": (
        b'{"data": {"metrics": [{"name": "heart_rate", "units": "count/min", "data": [' + deep() + b"]}]}}",
        "INVALID_JSON"),
    "deep nesting at the top (RecursionError)": (b'{"x": ' + deep() + b', "data": {}}', "INVALID_JSON"),
    "deep nesting before a metric's name (RecursionError)": (
        b'{"data": {"metrics": [{"data": [{"x": ' + deep() + b'}], "name": "heart_rate", "units": "count/min"}]}}',
        "INVALID_JSON"),
}


@pytest.mark.parametrize("case", list(UNREADABLE_HAE))
async def test_an_unreadable_health_auto_export_body_ends_failed_with_its_reason(mesh, case):
    body, reason = UNREADABLE_HAE[case]
    ingestion, answered = await upload(mesh, body, chunk=7)
    assert (ingestion.state, answered) == (FAILED, reason)
    assert [e.reason for e in ingestion.errors] == [reason]


def export_zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


RECORD = (b'<Record type="HKQuantityTypeIdentifierHeartRate" sourceName="%s" unit="count/min" value="60" '
          b'startDate="2026-03-01 08:%02d:00 +0100" endDate="2026-03-01 08:%02d:00 +0100"/>')


def apple(*records: bytes) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">' + b"".join(records) + b"</HealthData>"


UNREADABLE_APPLE = {
    "invalid XML": (b"<HealthData><Record></HealthData>", "INVALID_XML"),
    "truncated": (b'<HealthData locale="en_US"><Record type="x"', "TRUNCATED"),
    "no element": (b"   ", "EMPTY"),
    "an entity": (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><HealthData/>', "FORBIDDEN_ENTITY"),
    "not an export": (b"<Other/>", "NOT_AN_EXPORT"),
    "NUL as a character reference": (apple(RECORD % (b"Apple&#0;Watch", 0, 0)), "INVALID_XML"),
    "not UTF-8": (b'<HealthData locale="\xff"/>', "INVALID_XML"),
    "a broken zip": (b"PK\x03\x04 not really a zip", "INVALID_ZIP"),
    "a zip without export.xml": (export_zip({"other.txt": b"x"}), "NO_EXPORT_XML"),
}


@pytest.mark.parametrize("case", list(UNREADABLE_APPLE))
async def test_an_unreadable_apple_health_export_ends_failed_with_its_reason(mesh, case):
    body, reason = UNREADABLE_APPLE[case]
    ingestion, answered = await upload(mesh, body, APPLE)
    assert (ingestion.state, answered) == (FAILED, reason)
    assert [e.reason for e in ingestion.errors] == [reason]


# -- text Tracking cannot store: per item ------------------------------------------------------------


async def test_a_nul_in_a_metric_name_rejects_its_items_and_the_rest_is_stored(mesh):
    """The red team's body: it answered 500 and left its ingestion RUNNING for ever."""
    body = hae([{**heart_rate(2), "name": "heart\u0000rate"}, heart_rate(3)])
    ingestion, _ = await upload(mesh, body)
    assert ingestion.state == SUCCEEDED
    assert ingestion.counts["heart\ufffdrate"].rejected == 2
    assert ingestion.counts["heart_rate"].accepted == 3
    assert [(e.path, e.reason) for e in ingestion.errors] == [
        ("$.data.metrics[0].data[0]", "INVALID_NAME"), ("$.data.metrics[0].data[1]", "INVALID_NAME")]
    assert "\x00" not in ingestion.errors[0].message
    again = await mesh.ingest.GetIngestion(ingest_service_pb2.GetIngestionRequest(name=ingestion.name),
                                           metadata=mesh.md)
    assert again.counts == ingestion.counts  # what the answer says is what is stored


@pytest.mark.parametrize("points", [3, 400])  # item by item, and a series read as one block
async def test_a_nul_or_a_megabyte_in_a_source_rejects_that_point_only(mesh, points):
    bad = {1: "Apple\u0000Watch", 2: "x" * (1 << 20)}
    ingestion, _ = await upload(mesh, hae([heart_rate(points, lambda i: bad.get(i, "Apple Watch"))]))
    assert ingestion.state == SUCCEEDED
    counts = ingestion.counts["heart_rate"]
    assert (counts.accepted, counts.rejected) == (points - 2, 2)
    assert [(e.path, e.reason) for e in ingestion.errors] == [
        ("$.data.metrics[0].data[1]", "INVALID_TEXT"), ("$.data.metrics[0].data[2]", "INVALID_TEXT")]
    assert all(len(e.message) < 200 for e in ingestion.errors)


async def test_nul_in_other_names_workouts_and_keys_is_rejected_per_item(mesh):
    workout = {"name": "Outdoor\u0000Run", "start": f"{DAY} 08:00:00 +0100", "end": f"{DAY} 08:30:00 +0100"}
    body = hae([{"name": "x" * 300 + "heart_rate", "units": "count/min", "data": [{"date": f"{DAY} 08:00:00 +0100"}]},
                {"name": "heart_rate" + " " * 1000, "units": "count/min", "data": [
                    {"date": f"{DAY} 08:00:00 +0100", "Avg": 60.0, "Min": 50.0, "Max": 70.0}]}],
               [workout], **{"odd\u0000key": [1, 2]})
    ingestion, _ = await upload(mesh, body)
    assert ingestion.state == SUCCEEDED
    reasons = sorted((e.path, e.reason) for e in ingestion.errors)
    assert reasons == [("$.data.metrics[0].data[0]", "INVALID_NAME"), ("$.data.metrics[1].data[0]", "INVALID_NAME"),
                       ("$.data.odd\ufffdkey[0]", "INVALID_NAME"), ("$.data.odd\ufffdkey[1]", "INVALID_NAME"),
                       ("$.data.workouts[0]", "INVALID_TEXT")]
    assert sum(c.rejected for c in ingestion.counts.values()) == 5
    assert all(len(key) <= 260 and "\x00" not in key for key in ingestion.counts)


async def test_a_workout_ending_in_year_9999_is_rejected_by_tracking_not_a_failed_import(mesh):
    """Its last minute: Tracking's check of the points against the end (plus a minute) overflowed."""
    workout = {"name": "Outdoor Run", "start": f"{DAY} 08:00:00 +0100", "end": "9999-12-31 23:59:30 +0000"}
    ingestion, _ = await upload(mesh, hae([heart_rate(2)], [workout]))
    assert ingestion.state == SUCCEEDED
    assert ingestion.counts["workouts"].rejected == 1 and ingestion.counts["heart_rate"].accepted == 2
    assert "7 days" in ingestion.errors[0].message


async def test_a_megabyte_source_in_an_apple_export_rejects_that_record_only(mesh):
    body = apple(RECORD % (b"Apple Watch", 0, 0), RECORD % (b"x" * (1 << 20), 1, 1), RECORD % (b"Apple Watch", 2, 2))
    ingestion, _ = await upload(mesh, body, APPLE)
    assert ingestion.state == SUCCEEDED
    counts = ingestion.counts["HKQuantityTypeIdentifierHeartRate"]
    assert (counts.accepted, counts.rejected) == (2, 1)
    assert [e.reason for e in ingestion.errors] == ["INVALID_TEXT"]


async def test_a_megabyte_unit_in_an_apple_export_is_quoted_short(mesh):
    record = (b'<Record type="HKQuantityTypeIdentifierHeartRate" sourceName="W" unit="' + b"u" * (1 << 20)
              + b'" value="60" startDate="2026-03-01 08:00:00 +0100" endDate="2026-03-01 08:00:00 +0100"/>')
    ingestion, _ = await upload(mesh, apple(record), APPLE)
    assert ingestion.state == SUCCEEDED
    [error] = ingestion.errors
    assert len(error.message) < 600 and "u" * 41 not in error.message


async def test_a_content_type_holding_nul_is_invalid_before_anything_is_stored(mesh):
    async def parts():
        yield httpbody_pb2.HttpBody(content_type="application/json\x00", data=hae([heart_rate(1)]))

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mesh.ingest.IngestHealthAutoExport(parts(), metadata=mesh.md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(bad_request(err.value)) == ["content_type"]
    listed = await mesh.ingest.ListIngestions(ingest_service_pb2.ListIngestionsRequest(parent="users/me"),
                                              metadata=mesh.md)
    assert list(listed.ingestions) == []
