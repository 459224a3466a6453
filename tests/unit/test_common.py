"""Shared mechanisms: names and ownership, pages, ids, counters."""

from __future__ import annotations

import uuid

import pytest

from services.common import pagination
from services.common.cache import LocalCounters
from services.common.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from services.common.ids import uuid7
from services.common.principal import ANONYMOUS, Principal, parse_name

ME = str(uuid.uuid4())
CALLER = Principal("user", ME, f"users/{ME}")


def test_users_me_is_the_caller():
    assert parse_name("users/me", "users/{user}", CALLER) == {"user": ME}
    assert parse_name(f"users/{ME}", "users/{user}", CALLER) == {"user": ME}


def test_another_users_name_is_forbidden_whether_or_not_it_exists():
    with pytest.raises(PermissionDenied):
        parse_name(f"users/{uuid.uuid4()}/apiKeys/{uuid.uuid4()}", "users/{user}/apiKeys/{api_key}", CALLER)
    with pytest.raises(PermissionDenied):
        parse_name("users/someone/apiKeys/not-a-uuid", "users/{user}/apiKeys/{api_key}", CALLER)


def test_an_id_that_cannot_exist_under_your_own_name_is_not_found():
    with pytest.raises(NotFound):
        parse_name("users/me/apiKeys/abc", "users/{user}/apiKeys/{api_key}", CALLER)


@pytest.mark.parametrize("name", ["", "users", "users/", "people/me", "users/me/apiKeys", "users//x"])
def test_malformed_names_are_invalid(name):
    with pytest.raises(InvalidArgument):
        parse_name(name, "users/{user}/apiKeys/{api_key}" if "apiKeys" in name else "users/{user}", CALLER)


def test_anonymous_callers_have_no_users_me():
    with pytest.raises(Unauthenticated):
        parse_name("users/me", "users/{user}", ANONYMOUS)


def test_page_size_rules():
    assert pagination.page_size(0) == 50
    assert pagination.page_size(5000) == 1000
    assert pagination.page_size(7) == 7
    with pytest.raises(InvalidArgument):
        pagination.page_size(-1)


def test_uuid7_is_version_7_and_strictly_increasing():
    ids = [uuid7() for _ in range(5000)]
    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_local_counters_use_fixed_windows():
    counters = LocalCounters()
    assert [counters.hit("k", 60, now=t) for t in (0, 1, 2)] == [1, 2, 3]
    assert counters.peek("k", 60, now=30) == 3
    assert counters.hit("k", 60, now=61) == 1
    counters.reset("k")
    assert counters.peek("k", 60, now=62) == 0


def test_shared_checks_report_into_violations():
    from services.common import checks
    from services.common.errors import Violations

    v = Violations()
    checks.request_id("not-a-uuid", v)
    checks.request_id(str(uuid.uuid4()), v)
    assert checks.calendar_date("2026-02-30", "start_date", v) is None
    assert checks.calendar_date("1899-12-31", "end_date", v) is None
    assert checks.calendar_date("2026-03-01", "x", v).isoformat() == "2026-03-01"
    checks.update_mask(["name", "notes", "colour"], {"notes"}, {"name"}, "Activity", v)
    checks.update_mask([], {"notes"}, set(), "Activity", v)
    assert [i.field for i in v.items] == ["request_id", "start_date", "end_date", "update_mask", "update_mask",
                                          "update_mask"]
