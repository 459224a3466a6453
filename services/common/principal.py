"""Who is calling, and the rule that a user only ever reaches their own resources."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from services.common.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from services.common.ids import is_uuid


@dataclass(frozen=True)
class Principal:
    kind: str  # "user", "api_key", "service" or "anonymous"
    user_id: str = ""  # the end user acted for; empty for anonymous and bare service calls
    actor: str = "anonymous"  # users/{u}, users/{u}/apiKeys/{k}, services/{name}, anonymous
    session: str = ""  # an access token's session (its refresh-token family), for revocation
    api_key: str = ""  # an API key's id, for revocation
    device: str = ""  # users/{u}/devices/{d} for an API key bound to a device: only that device's own calls
    expire_time: float = 0.0  # an access token's exp (Unix seconds), so a long stream ends with it; 0: none

    @property
    def authenticated(self) -> bool:
        return self.kind != "anonymous"

    def require_user(self) -> str:
        if not self.user_id:
            raise Unauthenticated("this call needs a user's access token or API key")
        return self.user_id


ANONYMOUS = Principal("anonymous")

# Who is calling, for the duration of one call; the interceptor sets it.
current_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar("principal", default=ANONYMOUS)


def parse_name(name: str, pattern: str, principal: Principal, field: str = "name",
               id_ok: Callable[[str], bool] = is_uuid) -> dict[str, str]:
    """Matches `name` against a pattern like `users/{user}/apiKeys/{api_key}`.

    `users/me` resolves to the caller. Another user's name is PERMISSION_DENIED whether or not the
    resource exists; under the caller's own name an id that cannot exist is NOT_FOUND.
    """
    parts = name.split("/") if name else []
    keys = pattern.split("/")
    if len(parts) != len(keys) or any(
        not k.startswith("{") and k != p for k, p in zip(keys, parts)
    ) or any(not p for p in parts):
        raise InvalidArgument.field(field, f"must look like {pattern}, got {name!r}")
    values = {k[1:-1]: p for k, p in zip(keys, parts) if k.startswith("{")}
    user = values.get("user")
    if user is not None:
        values["user"] = owned_user(user, principal)
    for key, value in values.items():
        if key != "user" and not id_ok(value):
            raise NotFound(f"{name} does not exist")
    return values


def owned_user(user: str, principal: Principal) -> str:
    caller = principal.require_user()
    if user == "me" or user == caller:
        return caller
    raise PermissionDenied(f"users/{user} is not the caller's")



def caller_parent(parent: str, field: str = "parent") -> uuid.UUID:
    """The user of a `users/{user}` parent, which must be the caller (`users/me` or their id)."""
    return uuid.UUID(parse_name(parent, "users/{user}", current_principal.get(), field)["user"])
