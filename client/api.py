"""How the commands reach the server: its URL, the saved login or HEALTHMESH_TOKEN, an httpx
client with the bearer token, and List calls paged through.

The server is --url (before or after the command), else HEALTHMESH_URL, else the URL of the saved
login, else http://127.0.0.1:8080. HEALTHMESH_TOKEN, when set, is the bearer token (an API key or
an access token) instead of the saved login's.

An access token lives 15 minutes; the saved login lasts as long as its refresh token (30 days):
when its access token is about to expire, the next command exchanges the refresh token for new
ones, against the server it logged in to. Commands that run at once take turns (a lock next to the
credentials), since a refresh token used twice ends the session.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from client.output import UNAUTHENTICATED, CliError, checked, emit_array, not_logged_in

DEFAULT_URL = "http://127.0.0.1:8080"
CREDENTIALS = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "healthmesh" / "credentials.json"
MAX_PAGE = 1000  # the most a List call returns at once
REFRESH_AHEAD_SECONDS = 60  # refreshed this long before it expires, so no call carries a token that lapses on the way


def saved() -> dict:
    try:
        return json.loads(CREDENTIALS.read_text())
    except (OSError, ValueError):
        return {}


def save(session: dict, url: str, now: float) -> dict:
    """Keeps a Login or RefreshToken answer with its server and when its access token expires; the
    file is private before a token is in it, and replaced whole (a reader never sees half)."""
    login = {**session, "url": url, "expiresAt": now + int(session.get("expiresInSeconds", 0))}
    CREDENTIALS.parent.mkdir(parents=True, exist_ok=True)
    fresh = CREDENTIALS.with_name(CREDENTIALS.name + ".new")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(login))
    os.chmod(fresh, 0o600)
    os.replace(fresh, CREDENTIALS)
    return login


def forget() -> None:
    CREDENTIALS.unlink(missing_ok=True)


@contextmanager
def _turn():
    CREDENTIALS.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(CREDENTIALS.with_name("credentials.lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and the lock with it


def expires_at(login: dict) -> float | None:
    """When the saved access token expires: as saved, or else its JWT's `exp` (no check of the
    signature is needed to read when it ends)."""
    if "expiresAt" in login:
        return float(login["expiresAt"])
    try:
        payload = login["accessToken"].split(".")[1]
        return float(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])
    except (KeyError, IndexError, ValueError, TypeError):
        return None


def _expiring(login: dict, now: float) -> bool:
    ends = expires_at(login)
    return ends is not None and ends - now < REFRESH_AHEAD_SECONDS


def _refresh(login: dict, now: float) -> dict:
    url = (login.get("url") or DEFAULT_URL).rstrip("/")
    reply = httpx.post(f"{url}/v1/auth:refresh", json={"refreshToken": login.get("refreshToken", "")}, timeout=30)
    if reply.status_code == 401:
        raise CliError("the saved login has expired or was ended: run `healthmesh login` again", UNAUTHENTICATED)
    return save(checked(reply, "renewing the saved login"), url, now)


def server(args) -> str:
    url = getattr(args, "url", None) or os.environ.get("HEALTHMESH_URL") or saved().get("url")
    return (url or DEFAULT_URL).rstrip("/")


def token(now: Callable[[], float] = time.time) -> str:
    """HEALTHMESH_TOKEN, or the saved login's access token, renewed first when it is about to expire."""
    if os.environ.get("HEALTHMESH_TOKEN"):
        return os.environ["HEALTHMESH_TOKEN"]
    login = saved()
    if not login.get("accessToken"):
        raise not_logged_in()
    if _expiring(login, now()):
        with _turn():
            login = saved()  # another command may have renewed it while this one waited
            if _expiring(login, now()):
                login = _refresh(login, now())
    return login["accessToken"]


def connect(args, **options) -> httpx.Client:
    """An httpx client for the server, with the bearer token (CliError when not logged in)."""
    return httpx.Client(base_url=server(args), headers={"authorization": f"Bearer {token()}"},
                        timeout=options.pop("timeout", 30), **options)


def pages(http: httpx.Client, path: str, key: str, doing: str, params: dict | None = None,
          limit: int = 0) -> Iterator[dict]:
    """The items of a List call, page after page, at most `limit` of them (0: all)."""
    params = dict(params or {})
    given, page_token = 0, ""
    while True:
        wanted = MAX_PAGE if not limit else min(MAX_PAGE, limit - given)
        found = checked(http.get(path, params={**params, "pageSize": wanted, "pageToken": page_token}), doing)
        for item in found.get(key, []):
            yield item
            given += 1
            if limit and given >= limit:
                return
        page_token = found.get("nextPageToken", "")
        if not page_token:
            return


def listed(args, path: str, key: str, doing: str, params: dict | None = None, limit: int = 0) -> list[dict] | None:
    """A List command's items for its table; None when --json has printed them already (streamed,
    page after page, as one array)."""
    with connect(args) as http:
        found = pages(http, path, key, doing, params, limit)
        if args.json:
            emit_array(found)
            return None
        return list(found)


def resource(collection: str, id_or_name: str) -> str:
    """`users/me/<collection>/<id>` for an id; a full name (`users/...`) as it is."""
    return id_or_name if id_or_name.startswith("users/") else f"users/me/{collection}/{id_or_name}"
