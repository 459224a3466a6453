"""Auth's entities and rules. No grpc, protobuf or SQL here."""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.common.errors import Violations

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a path
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
MAX_LIVE_API_KEYS = 100
UPDATABLE_USER_FIELDS = frozenset({"display_name", "birth_date", "sex", "time_zone"})
# A short list of the passwords most often tried; the length rule already rules out most others.
COMMON_PASSWORDS = frozenset({
    "password123", "password1234", "1234567890", "qwertyuiop", "iloveyou123", "letmein123",
    "passw0rd123", "administrator", "welcome123", "abcdefghij",
})


class Sex(enum.IntEnum):
    UNSPECIFIED = 0
    FEMALE = 1
    MALE = 2
    OTHER = 3


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    display_name: str
    birth_date: dt.date | None
    sex: Sex
    time_zone: str
    create_time: dt.datetime
    update_time: dt.datetime


@dataclass(frozen=True)
class NewUser:
    email: str
    password: str
    display_name: str
    birth_date: dt.date | None
    sex: Sex
    time_zone: str


@dataclass(frozen=True)
class ApiKey:
    id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    secret_prefix: str
    create_time: dt.datetime
    last_use_time: dt.datetime | None
    device: str = ""  # users/{user}/devices/{device} for a device-scoped key


@dataclass(frozen=True)
class RefreshToken:
    id: uuid.UUID
    user_id: uuid.UUID
    family_id: uuid.UUID
    expire_time: dt.datetime
    used_time: dt.datetime | None
    revoked_time: dt.datetime | None


@dataclass(frozen=True)
class Session:
    access_token: str
    refresh_token: str
    expires_in_seconds: int
    user: User


def normalize_email(email: str) -> str:
    return email.strip()


def email_key(email: str) -> str:
    """What makes two emails the same account."""
    return email.strip().lower()


def validate_email(email: str, v: Violations, field: str = "email") -> None:
    if not email:
        v.add(field, "is required")
    elif len(email) > MAX_EMAIL_LENGTH or not EMAIL_RE.match(email):
        v.add(field, "is not a valid email address")


def validate_password(password: str, email: str, v: Violations, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        v.add(field, f"must have at least {MIN_PASSWORD_LENGTH} characters")
    elif len(password) > MAX_PASSWORD_LENGTH:
        v.add(field, f"must have at most {MAX_PASSWORD_LENGTH} characters")
    elif password.isdigit():
        v.add(field, "must not be only digits")
    elif password.lower() == email_key(email) or password.lower() in COMMON_PASSWORDS:
        v.add(field, "is too easy to guess")


def validate_display_name(name: str, v: Violations, field: str = "display_name") -> None:
    if not name.strip():
        v.add(field, "is required")
    elif len(name) > 100:
        v.add(field, "must have at most 100 characters")
    elif any(unicodedata.category(c) == "Cc" for c in name):
        v.add(field, "must not contain control characters")


def parse_birth_date(value: str, v: Violations, today: dt.date, field: str = "birth_date") -> dt.date | None:
    if not value:
        return None
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        v.add(field, "must be a date as YYYY-MM-DD")
        return None
    if len(value) != 10 or parsed < dt.date(1900, 1, 1) or parsed > today:
        v.add(field, "must be a real past date between 1900-01-01 and today")
        return None
    return parsed


def validate_time_zone(value: str, v: Violations, field: str = "time_zone") -> None:
    if not value:
        return
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        v.add(field, "must be an IANA time zone such as Europe/Paris")


def validate_sex(value: int, v: Violations, field: str = "sex") -> Sex:
    try:
        return Sex(value)
    except ValueError:
        v.add(field, "is not a known value")
        return Sex.UNSPECIFIED


def build_new_user(email: str, password: str, display_name: str, birth_date: str, sex: int,
                   time_zone: str, today: dt.date) -> NewUser:
    """Checks a registration and raises InvalidArgument naming every problem at once."""
    v = Violations()
    email = normalize_email(email)
    validate_email(email, v)
    validate_password(password, email, v)
    validate_display_name(display_name, v)
    parsed_birth_date = parse_birth_date(birth_date, v, today)
    parsed_sex = validate_sex(sex, v)
    validate_time_zone(time_zone, v)
    v.raise_if_any()
    return NewUser(email, password, display_name.strip(), parsed_birth_date, parsed_sex, time_zone)
