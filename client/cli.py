"""`healthmesh`: log in, and import Health Auto Export or Apple Health files with a progress bar.

    healthmesh login --email ada@example.org          (asks for the password; keeps the tokens and the URL)
    healthmesh login --email ada@example.org --password-stdin < password.txt
    healthmesh whoami                                 (who the saved login or HEALTHMESH_TOKEN is)
    healthmesh logout                                 (ends the saved session and forgets it)
    healthmesh import export.zip                      (or export.xml, or a Health Auto Export .json)
    healthmesh devices list|add|remove|health         (see client/device_commands.py)
    healthmesh simulate <device id> --rate 50         (streams synthetic heart rate, counting acks)
    healthmesh recommendations [--days 30]            (the top 5, with the numbers behind each)
    healthmesh alerts tail [--since-last 5]           (alerts as they are raised; resumes after breaks)
    healthmesh trace <trace id>                       (a request's span tree, from .state/traces/)

The server is --url (before or after the command), else HEALTHMESH_URL, else the URL of the saved
login, else http://127.0.0.1:8080. HEALTHMESH_TOKEN, when set, is used as the bearer token (an API
key or an access token) instead of the saved login.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from client import alert_commands, device_commands, recommendation_commands, trace_commands

CHUNK = 256 * 1024
CREDENTIALS = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "healthmesh" / "credentials.json"


class CliError(Exception):
    pass


def _saved() -> dict:
    try:
        return json.loads(CREDENTIALS.read_text())
    except (OSError, ValueError):
        return {}


def _server(args) -> str:
    url = getattr(args, "url", None) or os.environ.get("HEALTHMESH_URL") or _saved().get("url")
    return (url or "http://127.0.0.1:8080").rstrip("/")


def _token() -> str:
    token = os.environ.get("HEALTHMESH_TOKEN")
    if token:
        return token
    try:
        return json.loads(CREDENTIALS.read_text())["accessToken"]
    except (OSError, KeyError, ValueError):
        raise CliError("not logged in: run `healthmesh login` or set HEALTHMESH_TOKEN") from None


def _error(reply: httpx.Response) -> str:
    try:
        body = reply.json()
        return f"{reply.status_code}: {body.get('message', reply.text)}"
    except ValueError:
        return f"{reply.status_code}: {reply.text[:300]}"


def login(args) -> None:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = args.password or getpass.getpass("password: ")
    server = _server(args)
    reply = httpx.post(f"{server}/v1/auth:login", json={"email": args.email, "password": password}, timeout=30)
    if reply.status_code != 200:
        raise CliError(f"login failed: {_error(reply)}")
    CREDENTIALS.parent.mkdir(parents=True, exist_ok=True)
    CREDENTIALS.touch(mode=0o600)  # private before a token is in it
    CREDENTIALS.chmod(0o600)
    CREDENTIALS.write_text(json.dumps({**reply.json(), "url": server}))
    print(f"logged in as {reply.json()['user']['email']} at {server}")


def whoami(args) -> None:
    reply = httpx.get(f"{_server(args)}/v1/users/me", headers={"authorization": f"Bearer {_token()}"}, timeout=30)
    if reply.status_code != 200:
        raise CliError(f"whoami failed: {_error(reply)}")
    user = reply.json()
    print(f"{user['email']}  {user.get('displayName', '')}  {user['name']}  at {_server(args)}")


def logout(args) -> None:
    saved = _saved()
    if not saved.get("refreshToken"):
        raise CliError("not logged in: nothing to log out of")
    reply = httpx.post(f"{_server(args)}/v1/auth:logout", json={"refreshToken": saved["refreshToken"]}, timeout=30)
    if reply.status_code not in (200, 401):  # 401: the session had ended already
        raise CliError(f"logout failed: {_error(reply)}")
    CREDENTIALS.unlink(missing_ok=True)
    print("logged out")


def _endpoint(path: Path) -> tuple[str, str]:
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(b"PK"):
        return "/v1/ingest/appleHealthExport", "application/zip"
    if path.suffix.lower() == ".xml":
        return "/v1/ingest/appleHealthExport", "application/xml"
    return "/v1/ingest/healthAutoExport", "application/json"


def _progress(path: Path, out) -> Iterator[bytes]:
    """The file in chunks, drawing a progress bar as they go."""
    total = max(path.stat().st_size, 1)
    sent, started = 0, time.monotonic()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            sent += len(chunk)
            done = int(30 * sent / total)
            rate = sent / max(time.monotonic() - started, 1e-6) / 1e6
            out.write(f"\r[{'#' * done}{'.' * (30 - done)}] {sent / 1e6:7.1f}/{total / 1e6:.1f} MB {rate:6.1f} MB/s")
            out.flush()
            yield chunk
    out.write("\nprocessing...\n")
    out.flush()


def summary(ingestion: dict) -> str:
    lines = [f"{ingestion['name']}: {ingestion['state']}",
             f"{'metric':<44}{'accepted':>9}{'duplicate':>10}{'updated':>8}{'rejected':>9}{'skipped':>8}"]
    for metric, c in sorted(ingestion.get("counts", {}).items()):
        lines.append(f"{metric:<44}{c['accepted']:>9}{c['duplicate']:>10}{c['updated']:>8}{c['rejected']:>9}"
                     f"{c['skipped']:>8}")
    for error in ingestion.get("errors", [])[:10]:
        lines.append(f"  {error['path']}: {error['reason']} {error.get('message', '')}")
    more = len(ingestion.get("errors", [])) - 10 + int(ingestion.get("errorsTruncated", 0))
    if more > 0:
        lines.append(f"  ... and {more} more errors (healthmesh shows them all: GET /v1/{ingestion['name']})")
    return "\n".join(lines)


def import_file(args) -> None:
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    endpoint, content_type = _endpoint(path)
    headers = {"authorization": f"Bearer {_token()}", "content-type": content_type}
    reply = httpx.post(f"{_server(args)}{endpoint}", content=_progress(path, sys.stderr), headers=headers,
                       timeout=httpx.Timeout(30, read=None))
    if reply.status_code != 200:
        raise CliError(f"import failed: {_error(reply)}")
    print(summary(_wait(_server(args), headers["authorization"], reply.json(), sys.stderr)))


def _wait(server: str, authorization: str, ingestion: dict, out) -> dict:
    """Large imports run in the background: poll until the Ingestion is finished, showing progress."""
    total = max(int(ingestion.get("payloadSizeBytes", 0)), 1)
    while ingestion["state"] in ("PENDING", "RUNNING"):
        time.sleep(0.5)
        reply = httpx.get(f"{server}/v1/{ingestion['name']}", headers={"authorization": authorization}, timeout=30)
        if reply.status_code != 200:
            raise CliError(f"cannot follow {ingestion['name']}: {_error(reply)}")
        ingestion = reply.json()
        done = int(ingestion.get("processedBytes", 0))
        out.write(f"\r{ingestion['state'].lower()}: {100 * done // total:3d}% of the upload processed")
        out.flush()
    out.write("\n")
    return ingestion


def _url_first(argv: list[str]) -> list[str]:
    """`--url X` may come after the command too: it is moved before it, where argparse takes it."""
    rest, url = [], []
    i = 0
    while i < len(argv):
        if argv[i] == "--url" and i + 1 < len(argv):
            url, i = ["--url", argv[i + 1]], i + 2
        elif argv[i].startswith("--url="):
            url, i = [argv[i]], i + 1
        else:
            rest.append(argv[i])
            i += 1
    return url + rest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="healthmesh", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="the healthmesh server (default $HEALTHMESH_URL or http://127.0.0.1:8080)")
    commands = parser.add_subparsers(dest="command")
    p_login = commands.add_parser("login", help="log in and keep the tokens and the server URL")
    p_login.add_argument("--email", required=True)
    secret = p_login.add_mutually_exclusive_group()
    secret.add_argument("--password", help="asked for when not given")
    secret.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p_login.set_defaults(run=login)
    commands.add_parser("whoami", help="the user of the saved login or HEALTHMESH_TOKEN").set_defaults(run=whoami)
    commands.add_parser("logout", help="end the saved session and forget it").set_defaults(run=logout)
    p_import = commands.add_parser("import", help="import an export.zip, export.xml or Health Auto Export JSON")
    p_import.add_argument("file")
    p_import.set_defaults(run=import_file)
    device_commands.add_commands(commands)
    recommendation_commands.add_commands(commands)
    alert_commands.add_commands(commands)
    trace_commands.add_commands(commands)
    args = parser.parse_args(_url_first(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        parser.print_help()
        return 0
    try:
        args.run(args)
    except CliError as exc:
        print(f"healthmesh: {exc}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(f"healthmesh: cannot reach {_server(args)}: {exc}", file=sys.stderr)
        return 1
    return 0
