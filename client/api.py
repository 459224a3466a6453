"""How the commands reach the server: its URL, the saved login or HEALTHMESH_TOKEN, an httpx
client with the bearer token, and List calls paged through.

The server is --url (before or after the command), else HEALTHMESH_URL, else the URL of the saved
login, else http://127.0.0.1:8080. HEALTHMESH_TOKEN, when set, is the bearer token (an API key or
an access token) instead of the saved login's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx

from client.output import checked, not_logged_in

DEFAULT_URL = "http://127.0.0.1:8080"
CREDENTIALS = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "healthmesh" / "credentials.json"
MAX_PAGE = 1000  # the most a List call returns at once


def saved() -> dict:
    try:
        return json.loads(CREDENTIALS.read_text())
    except (OSError, ValueError):
        return {}


def server(args) -> str:
    url = getattr(args, "url", None) or os.environ.get("HEALTHMESH_URL") or saved().get("url")
    return (url or DEFAULT_URL).rstrip("/")


def token() -> str:
    found = os.environ.get("HEALTHMESH_TOKEN") or saved().get("accessToken")
    if not found:
        raise not_logged_in()
    return found


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


def resource(collection: str, id_or_name: str) -> str:
    """`users/me/<collection>/<id>` for an id; a full name (`users/...`) as it is."""
    return id_or_name if id_or_name.startswith("users/") else f"users/me/{collection}/{id_or_name}"
