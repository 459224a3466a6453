"""`healthmesh recommendations`: the top 5 recommendations from the user's recent data.

    healthmesh recommendations                        (the last 30 days)
    healthmesh recommendations --days 90
    healthmesh recommendations --json                 (the API's answer: the window and each recommendation)
"""

from __future__ import annotations

import textwrap

from client import api
from client.output import checked, emit

SEVERITY_MARK = {"CRITICAL": "!!", "WARNING": "! ", "INFO": "i "}


def render(reply: dict) -> str:
    """The recommendations as text: severity, title, the reason with its numbers, what to do."""
    found = reply.get("recommendations", [])
    window = f"{reply.get('startDate', '?')} to {reply.get('endDate', '?')}"
    if not found:
        return f"No recommendations for {window}: every rule with enough data is within its guideline.\n"
    lines = [f"Recommendations for {window}:", ""]
    for i, r in enumerate(found, 1):
        severity = r.get("severity", "INFO")
        lines.append(f"{i}. [{SEVERITY_MARK.get(severity, '  ')}{severity.lower()}] {r.get('title', r.get('id', ''))}")
        lines += textwrap.wrap(r.get("reason", ""), 96, initial_indent="   ", subsequent_indent="   ")
        lines += [f"   - {step}" for step in r.get("actionSteps", [])]
        lines.append("")
    return "\n".join(lines)


def recommendations(args) -> None:
    with api.connect(args) as http:
        found = checked(http.get("/v1/users/me/recommendations", params={"days": args.days}),
                        "reading recommendations")
    if args.json:
        emit(found)
    else:
        print(render(found), end="")


def add_commands(commands) -> None:
    p = commands.add_parser("recommendations", help="the top 5 recommendations from your recent data")
    p.add_argument("--days", type=int, default=30, help="the window, in days up to today (1 to 365; default 30)")
    p.set_defaults(run=recommendations)
