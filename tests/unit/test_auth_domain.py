"""Auth's rules: registration checks, password policy, update masks."""

from __future__ import annotations

import datetime as dt

import pytest

from services.auth import domain
from services.common.errors import InvalidArgument

TODAY = dt.date(2026, 11, 22)


def fields(err: InvalidArgument) -> set[str]:
    return {v.field for v in err.violations}


def test_a_good_registration_is_normalised():
    user = domain.build_new_user("  Ada@Example.org ", "correct horse battery", " Ada ", "1990-04-01", 1,
                                 "Europe/Paris", TODAY)
    assert user.email == "Ada@Example.org" and user.display_name == "Ada"
    assert user.birth_date == dt.date(1990, 4, 1) and user.sex is domain.Sex.FEMALE


@pytest.mark.parametrize("password, problem", [
    ("short", "at least 10"),
    ("12345678901234", "only digits"),
    ("password123", "too easy"),
    ("ada@example.org", "too easy"),
])
def test_weak_passwords_are_refused(password, problem):
    with pytest.raises(InvalidArgument) as err:
        domain.build_new_user("ada@example.org", password, "Ada", "", 0, "", TODAY)
    assert fields(err.value) == {"password"} and problem in err.value.violations[0].description


@pytest.mark.parametrize("birth_date", ["1990-13-01", "1899-12-31", "2026-11-23", "90-01-01", "yesterday"])
def test_impossible_birth_dates_are_refused(birth_date):
    with pytest.raises(InvalidArgument) as err:
        domain.build_new_user("ada@example.org", "correct horse battery", "Ada", birth_date, 0, "", TODAY)
    assert fields(err.value) == {"birth_date"}


def test_every_problem_is_reported_at_once():
    with pytest.raises(InvalidArgument) as err:
        domain.build_new_user("nope", "x", "", "bad", 9, "Mars/Olympus", TODAY)
    assert fields(err.value) == {"email", "password", "display_name", "birth_date", "sex", "time_zone"}


def test_email_identity_ignores_case_and_spaces():
    assert domain.email_key(" Ada@Example.ORG") == domain.email_key("ada@example.org")
