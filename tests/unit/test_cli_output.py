"""The CLI's shared pieces: tables align, sizes under 1 MB are KB, dates are local midnight of
the zone given (an end date includes its day, across a DST change), errors carry the server's
code, reason and field violations with the documented exit code, and the import summary says
why each kind was skipped."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

import httpx
import pytest

from client.import_commands import skip_reasons, summary
from client.output import API_ERROR, NOT_FOUND, UNAUTHENTICATED, CliError, api_error, emit_array, report, size, table
from client.sample_commands import when

BERLIN = ZoneInfo("Europe/Berlin")


def test_table_aligns_columns_and_numbers_right():
    text = table(["id", "count", "name"], [["a", "1", "heart_rate"], ["bbbb", "1,200", "x"]], right=[1])
    assert text.splitlines() == ["id    count  name",
                                 "a         1  heart_rate",
                                 "bbbb  1,200  x"]


def test_sizes_under_a_megabyte_are_kilobytes():
    assert (size(0), size(1715), size(999_999), size(1_000_000), size("52391364")) == \
        ("0.0 KB", "1.7 KB", "1000.0 KB", "1.0 MB", "52.4 MB")


@pytest.mark.parametrize("text, end, expected", [
    ("2026-03-01", False, "2026-02-28T23:00:00Z"),  # local midnight in Berlin (UTC+1)
    ("2026-03-01", True, "2026-03-01T23:00:00Z"),  # an end date includes its day: the next midnight
    ("2026-03-28", True, "2026-03-28T23:00:00Z"),  # the night of the change to summer time ...
    ("2026-03-29", True, "2026-03-29T22:00:00Z"),  # ... and after it, midnight is at UTC+2
    ("2026-03-01T08:00:00", False, "2026-03-01T07:00:00Z"),  # no offset: local time
    ("2026-03-01T08:00:00Z", True, "2026-03-01T08:00:00Z"),  # an instant is as given, end or not
    ("2026-03-01T08:00:00+05:30", False, "2026-03-01T02:30:00Z"),
])
def test_a_date_is_local_midnight_and_a_timestamp_an_instant(text, end, expected):
    assert when(text, end=end, tz=BERLIN) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "01/03/2026", ""])
def test_other_times_are_usage_errors(text):
    with pytest.raises(argparse.ArgumentTypeError, match="neither a date"):
        when(text, tz=BERLIN)


def status_reply(http_status: int, code: int, message: str, reason: str, violations=()) -> httpx.Response:
    details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "x.healthmesh"}]
    if violations:
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": f, "description": d, "reason": r} for f, d, r in violations]})
    return httpx.Response(http_status, json={"code": code, "message": message, "details": details})


def test_an_error_says_code_message_reason_and_each_field_violation():
    error = api_error(status_reply(400, 3, "bad window", "MALFORMED_REQUEST",
                                   [("endTime", "must be after startTime", "INVALID_RANGE"),
                                    ("type", "'x' is not a sample type", "INVALID_ARGUMENT")]), "aggregating samples")
    assert error.exit_code == API_ERROR
    out = io.StringIO()
    assert report(error, as_json=False, out=out) == API_ERROR
    assert out.getvalue().splitlines() == [
        "healthmesh: aggregating samples failed: 400 INVALID_ARGUMENT: bad window [MALFORMED_REQUEST]",
        "  endTime: must be after startTime [INVALID_RANGE]",
        "  type: 'x' is not a sample type"]


@pytest.mark.parametrize("http_status, code, exit_code", [(401, 16, UNAUTHENTICATED), (403, 7, UNAUTHENTICATED),
                                                          (404, 5, NOT_FOUND), (409, 6, API_ERROR),
                                                          (429, 8, API_ERROR), (503, 14, API_ERROR)])
def test_exit_codes_follow_the_status(http_status, code, exit_code):
    assert api_error(status_reply(http_status, code, "m", "R"), "x").exit_code == exit_code


def test_with_json_the_error_is_the_servers_status_and_the_exit_code():
    out = io.StringIO()
    report(api_error(status_reply(404, 5, "gone", "NOT_FOUND"), "x"), as_json=True, out=out)
    body = json.loads(out.getvalue())["error"]
    assert (body["code"], body["message"], body["exitCode"]) == (5, "gone", NOT_FOUND)
    out = io.StringIO()
    report(CliError("not logged in", UNAUTHENTICATED), as_json=True, out=out)
    assert json.loads(out.getvalue()) == {"error": {"message": "not logged in", "exitCode": UNAUTHENTICATED}}


def test_a_json_list_is_one_array_and_nothing_is_written_before_the_first_page():
    out = io.StringIO()
    assert emit_array(iter([{"a": 1}, {"b": 2}]), out) == 2 and json.loads(out.getvalue()) == [{"a": 1}, {"b": 2}]

    def failing():
        raise CliError("listing failed")
        yield

    out = io.StringIO()
    with pytest.raises(CliError):
        emit_array(failing(), out)
    assert out.getvalue() == ""


def counts(**kinds: int) -> dict:
    return {k: {"accepted": 0, "duplicate": 0, "updated": 0, "rejected": 0, "skipped": n} for k, n in kinds.items()}


INGESTION = {
    "name": "users/u/ingestions/i1", "state": "SUCCEEDED", "format": "APPLE_HEALTH_EXPORT",
    "payloadSizeBytes": "23350", "createTime": "2026-03-01T08:00:00Z",
    "counts": {**counts(stateOfMind=2, ActivitySummary=3, Me=0),
               "heart_rate": {"accepted": 10, "duplicate": 0, "updated": 0, "rejected": 1, "skipped": 0}},
    "errors": [
        {"path": "$.data.metrics[0].data[3].date", "reason": "INVALID_DATE", "message": "'yesterday' is not a date"},
        {"path": "$.data.stateOfMind[0]", "reason": "UNSUPPORTED_METRIC",
         "message": "'stateOfMind' has no mapping to a sample type (a reprocess after a mapping fix can store it): "
                    "its items are counted as skipped"},
        {"path": "/HealthData/ActivitySummary[1]", "reason": "DERIVED_SUMMARY",
         "message": "'ActivitySummary' is not stored: its items are counted as skipped"}],
}


def test_each_skipped_kind_has_its_reason_from_the_errors():
    assert skip_reasons(INGESTION) == {"ActivitySummary": "derived from records already imported",
                                       "stateOfMind": "not a supported type"}
    unexplained = {**INGESTION, "errors": []}
    assert skip_reasons(unexplained)["stateOfMind"] == "no reason given"


def test_the_summary_shows_kb_the_counts_the_skip_reasons_and_the_other_errors():
    text = summary(INGESTION, tz=dt.UTC)
    lines = text.splitlines()
    assert lines[1] == "APPLE_HEALTH_EXPORT, 23.4 KB, received 2026-03-01 08:00:00"
    assert "skipped: ActivitySummary: derived from records already imported; stateOfMind: not a supported type" in lines
    assert lines[-2:] == ["errors (1):", "  $.data.metrics[0].data[3].date: INVALID_DATE 'yesterday' is not a date"]
    heart = next(line for line in lines if line.startswith("heart_rate"))
    assert heart.split() == ["heart_rate", "10", "0", "0", "1", "0"]


@pytest.mark.parametrize("argv, as_json", [
    (["--json", "keys", "list"], True), (["keys", "--json", "list"], True), (["keys", "list", "--json"], True),
    (["keys", "list"], False), (["ingestions", "show", "x", "--json"], True), (["ingestions", "--json"], True),
    (["alerts", "tail", "--json"], True), (["whoami", "--json", "--url", "http://h:1"], True),
])
def test_json_is_taken_before_or_after_any_command(argv, as_json):
    from client.cli import _url_first, parser

    assert parser().parse_args(_url_first(argv)).json is as_json


def test_every_command_takes_json():
    from client.cli import parser

    def leaves(p, path=()):
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield path, p
        for action in subs:
            for name, sub in action.choices.items():
                yield from leaves(sub, (*path, name))

    found = dict(leaves(parser()))
    assert {" ".join(path) for path in found} >= {
        "login", "whoami", "logout", "import", "ingestions list", "ingestions show", "samples", "aggregate",
        "keys create", "keys list", "keys revoke", "devices list", "devices add", "devices remove", "devices health",
        "simulate", "recommendations", "alerts tail"}
    assert all(any("--json" in a.option_strings for a in p._actions) for p in found.values())


def test_the_readmes_exit_codes_are_the_clis():
    from pathlib import Path

    from client import output

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    documented = {int(line.split("|")[1]) for line in section.splitlines() if line.split("|")[1:2]
                  and line.split("|")[1].strip().isdigit()}
    assert documented == {output.OK, output.API_ERROR, output.USAGE, output.UNAUTHENTICATED, output.NOT_FOUND,
                          output.UNREACHABLE, output.INTERRUPTED}


def test_the_saved_login_expires_as_saved_or_by_its_jwts_exp():
    import base64

    from client.api import _expiring, expires_at

    payload = base64.urlsafe_b64encode(json.dumps({"sub": "u", "exp": 1_800_000_000}).encode()).decode().rstrip("=")
    assert expires_at({"accessToken": f"h.{payload}.s"}) == 1_800_000_000
    assert expires_at({"accessToken": "opaque"}) is None and not _expiring({"accessToken": "opaque"}, 2e9)
    assert expires_at({"accessToken": f"h.{payload}.s", "expiresAt": 5}) == 5
    assert not _expiring({"expiresAt": 1000}, now=900)  # 100 s left
    assert _expiring({"expiresAt": 1000}, now=950)  # under a minute left: renewed before the call
