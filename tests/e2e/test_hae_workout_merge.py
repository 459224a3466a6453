"""Health Auto Export workouts through Envoy (issue 17, items 1 and 4): a walk sent again with more
in it is counted `updated` and stored with all of it, in either order; the same walk in other
bytes is a duplicate and adds no rows; the documented v2 fields reach the stored Activity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import auth, new_user
from tests.e2e.test_hae_fidelity import ingest, resent_adds_nothing
from tests.e2e.test_ingest_hae import api_key

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hae"


def activities(http, session) -> list[dict]:
    reply = http.get("/v1/users/me/activities", params={"view": "FULL", "pageSize": 100}, headers=auth(session))
    assert reply.status_code == 200, reply.text
    return reply.json().get("activities", [])


@pytest.mark.parametrize("order", [("walk_first", "walk_again"), ("walk_again", "walk_first")])
def test_a_walk_sent_again_with_more_in_it_is_updated_and_stored_with_route_and_heart_rate(http, order):
    session = new_user(http)
    key = api_key(http, session)
    first, again = ((FIXTURES / f"{name}.json").read_bytes() for name in order)
    assert ingest(http, key, first)["counts"]["workouts"]["accepted"] == 1
    counts = ingest(http, key, again)["counts"]["workouts"]
    assert (counts["accepted"], counts["updated"], counts["duplicate"]) == (0, 1, 0), counts
    (walk,) = activities(http, session)
    assert walk["displayName"] == "Outdoor Walk" and walk["type"] == "walking"
    assert (walk["startTime"], walk["endTime"]) == ("2026-07-10T12:00:00Z", "2026-07-10T12:45:00Z")
    assert len(walk["route"]) == 5 and walk["route"][0]["latitude"] == pytest.approx(40.7128)
    assert walk["heartRate"]["avgBpm"] == 112
    assert walk["distanceMeters"] == pytest.approx(2.5 * 1609.344) and walk["durationSeconds"] == 2640

    # Either part again, in other bytes: a duplicate, no row added, nothing changed.
    for body in (first, again):
        resent_adds_nothing(http, key, body)
        counts = ingest(http, key, body)["counts"]["workouts"]
        assert (counts["duplicate"], counts["updated"], counts["accepted"]) == (1, 0, 0), counts
    (still,) = activities(http, session)
    assert still == walk


def test_the_documented_v2_fields_reach_the_activity_and_a_resend_adds_nothing(http):
    session = new_user(http)
    key = api_key(http, session)
    body = (FIXTURES / "workout_v2_all_fields.json").read_bytes()
    assert ingest(http, key, body)["counts"]["workouts"]["accepted"] == 2
    swim, run = activities(http, session)  # newest first
    assert run["indoor"] is True and run["durationSeconds"] == 2280
    assert run["totalEnergyKcal"] == 420 and run["activeEnergyKcal"] == pytest.approx(350.0)
    assert run["speedMetersPerSecond"] == pytest.approx(9.79 / 3.6) and run["steps"] == 5900
    assert run["heartRate"] == {"minBpm": 98, "avgBpm": 151, "maxBpm": 172} and len(run["heartRateSeries"]) == 4
    assert "indoor" not in swim and swim["totalEnergyKcal"] == 300
    assert swim["speedMetersPerSecond"] == pytest.approx(2.4 / 3.6)
    resent_adds_nothing(http, key, body)
    assert len(activities(http, session)) == 2
    # The same workouts in other bytes again: still the two, each a duplicate.
    again = ingest(http, key, json.dumps(json.loads(body), indent=3).encode())["counts"]["workouts"]
    assert (again["duplicate"], again["accepted"], again["updated"]) == (2, 0, 0)
