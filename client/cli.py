"""`healthmesh`: the product from a terminal.

    healthmesh login --email ada@example.org          (asks for the password; keeps the tokens and the URL)
    healthmesh login --email ada@example.org --password-stdin < password.txt
    healthmesh whoami                                 (who the saved login or HEALTHMESH_TOKEN is)
    healthmesh logout                                 (ends the saved session and forgets it)
    healthmesh import export.zip                      (or export.xml, or a Health Auto Export .json)
    healthmesh ingestions [show <id>]                 (the uploads, and what became of one)
    healthmesh samples --type heart_rate --start 2026-03-01 --end 2026-03-07
    healthmesh aggregate --type step_count --interval day --start 2026-03-01 --end 2026-03-31
    healthmesh keys create|list|revoke                (API keys; the secret is shown once)
    healthmesh devices list|add|remove|health         (see client/device_commands.py)
    healthmesh simulate <device id> --rate 50         (streams synthetic heart rate, counting acks)
    healthmesh recommendations [--days 30]            (the top 5, with the numbers behind each)
    healthmesh alerts tail [--since-last 5]           (alerts as they are raised; resumes after breaks)
    healthmesh trace <trace id>                       (a request's span tree, from .state/traces/)

Every command takes --json: stdout then holds JSON only (lists as one array, `alerts tail` one
object per line). Dates are local midnight in this computer's time zone (see `healthmesh samples -h`).

The server is --url (before or after the command), else HEALTHMESH_URL, else the URL of the saved
login, else http://127.0.0.1:8080. HEALTHMESH_TOKEN, when set, is used as the bearer token (an API
key or an access token) instead of the saved login.

Exit codes: 0 success; 1 the server answered with an error (or an import FAILED); 2 usage; 3 not
logged in, or the credentials were refused or do not allow the call (401, 403); 4 not found
(404, or the file to import); 5 the server could not be reached; 130 interrupted (client/output.py).
"""

from __future__ import annotations

import argparse
import os
import sys

import httpx

from client import (alert_commands, api, auth_commands, device_commands, import_commands, ingestion_commands,
                    key_commands, recommendation_commands, sample_commands, trace_commands)
from client.output import API_ERROR, INTERRUPTED, OK, UNREACHABLE, CliError, describe, report

# The names the command modules used before the shared modules existed (client/api.py, output.py).
CREDENTIALS = api.CREDENTIALS
_server, _token, _saved = api.server, api.token, api.saved
summary = import_commands.summary


def _error(reply: httpx.Response) -> str:
    return describe(reply)[0]


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


def _json_everywhere(parser: argparse.ArgumentParser) -> None:
    """--json on every command and subcommand, also those a module adds later. SUPPRESS leaves the
    top level's value unless given there, since a subparser's defaults overwrite its parent's."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if not any("--json" in a.option_strings for a in sub._actions):
                    sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                                     help="print JSON only, for programs")
                _json_everywhere(sub)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="healthmesh", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--url", help="the healthmesh server (default $HEALTHMESH_URL or http://127.0.0.1:8080)")
    top.add_argument("--json", action="store_true", help="print JSON only, for programs")
    commands = top.add_subparsers(dest="command")
    auth_commands.add_commands(commands)
    import_commands.add_commands(commands)
    ingestion_commands.add_commands(commands)
    sample_commands.add_commands(commands)
    key_commands.add_commands(commands)
    device_commands.add_commands(commands)
    recommendation_commands.add_commands(commands)
    alert_commands.add_commands(commands)
    trace_commands.add_commands(commands)
    _json_everywhere(top)
    return top


def main(argv: list[str] | None = None) -> int:
    top = parser()
    args = top.parse_args(_url_first(sys.argv[1:] if argv is None else argv))  # exits with 2 on bad usage
    if args.command is None:
        top.print_help()
        return 0
    try:
        args.run(args)
    except CliError as exc:
        return report(exc, args.json)
    except httpx.TransportError as exc:
        return report(CliError(f"cannot reach {api.server(args)}: {type(exc).__name__} {exc}".rstrip(), UNREACHABLE),
                      args.json)
    except httpx.HTTPError as exc:
        return report(CliError(f"{api.server(args)}: {type(exc).__name__} {exc}".rstrip(), API_ERROR), args.json)
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:  # `healthmesh samples | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush cannot fail again
        return OK
    return OK
