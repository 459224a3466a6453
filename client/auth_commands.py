"""`healthmesh login`, `whoami` and `logout`: the saved login, kept with its server URL.

    healthmesh login --email ada@example.org          (asks for the password)
    healthmesh login --email ada@example.org --password-stdin < password.txt
    healthmesh whoami
    healthmesh logout                                 (ends the saved session and forgets it)

The login is kept in $XDG_CONFIG_HOME/healthmesh/credentials.json (~/.config/...), readable by its
owner only, and renewed as its access token expires (client/api.py). --json prints the user
(login, whoami) without any token.
"""

from __future__ import annotations

import getpass
import sys
import time

import httpx

from client import api
from client.output import UNAUTHENTICATED, CliError, checked, emit, table


def login(args) -> None:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = args.password or getpass.getpass("password: ")
    server = api.server(args)
    reply = httpx.post(f"{server}/v1/auth:login", json={"email": args.email, "password": password}, timeout=30)
    session = checked(reply, "login")
    api.save(session, server, time.time())
    if args.json:
        emit({"user": session["user"], "url": server})
    else:
        print(f"logged in as {session['user']['email']} at {server}")


def whoami(args) -> None:
    with api.connect(args) as http:
        user = checked(http.get("/v1/users/me"), "whoami")
    if args.json:
        emit(user)
        return
    print(table(["email", "name", "user", "server"],
                [[user.get("email", ""), user.get("displayName", ""), user["name"], api.server(args)]]))


def logout(args) -> None:
    saved = api.saved()
    if not saved.get("refreshToken"):
        raise CliError("not logged in: nothing to log out of", UNAUTHENTICATED)
    server = api.server(args)
    reply = httpx.post(f"{server}/v1/auth:logout", json={"refreshToken": saved["refreshToken"]}, timeout=30)
    if reply.status_code != 401:  # 401: the session had ended already; forgetting it is all that is left
        checked(reply, "logout")
    api.forget()
    if args.json:
        emit({"loggedOut": True, "url": server})
    else:
        print("logged out")


def add_commands(commands) -> None:
    p_login = commands.add_parser("login", help="log in and keep the tokens and the server URL")
    p_login.add_argument("--email", required=True)
    secret = p_login.add_mutually_exclusive_group()
    secret.add_argument("--password", help="asked for when not given")
    secret.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p_login.set_defaults(run=login)
    commands.add_parser("whoami", help="the user of the saved login or HEALTHMESH_TOKEN").set_defaults(run=whoami)
    commands.add_parser("logout", help="end the saved session and forget it").set_defaults(run=logout)
